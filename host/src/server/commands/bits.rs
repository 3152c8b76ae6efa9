//! Bits of a string: SETBIT, GETBIT, BITCOUNT. Bit 0 is the most significant bit of the
//! first byte, as in Redis.

use super::context::{
    Context, NOT_AN_INTEGER, backend_error, parse_i64, read_modify_write, upper, wrong_arity,
};
use crate::backend::Backend;
use crate::server::resp::{Out, Reply};

/// Highest bit offset Redis accepts (a 512 MiB string).
const MAX_BIT_OFFSET: i64 = (1 << 32) - 1;

/// Runs `command` (upper case) if it is one of these; `false` if it is not.
pub(super) fn execute(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Out) -> bool {
    match (command, rest) {
        ("SETBIT", [key, offset, bit]) => setbit(ctx, key, offset, bit, out),
        ("GETBIT", [key, offset]) => getbit(ctx, key, offset, out),
        ("BITCOUNT", [key, range @ ..]) if range.len() <= 3 => bitcount(ctx, key, range, out),
        ("SETBIT" | "GETBIT" | "BITCOUNT", _) => wrong_arity(out, command),
        _ => return false,
    }
    true
}

fn bit_offset(arg: &[u8]) -> Option<u64> {
    parse_i64(arg)
        .filter(|n| (0..=MAX_BIT_OFFSET).contains(n))
        .map(|n| n as u64)
}

fn setbit(ctx: &Context<'_>, key: &[u8], offset: &[u8], bit: &[u8], out: &mut Out) {
    let Some(offset) = bit_offset(offset) else {
        return out.error("ERR bit offset is not an integer or out of range");
    };
    let bit = match bit {
        b"0" => false,
        b"1" => true,
        _ => return out.error("ERR bit is not an integer or out of range"),
    };
    let (byte, mask) = ((offset / 8) as usize, 0x80u8 >> (offset % 8));
    let mut old = false;
    let written = read_modify_write(ctx, key, out, |value| {
        let mut value = value.map(<[u8]>::to_vec).unwrap_or_default();
        if value.len() <= byte {
            value.resize(byte + 1, 0);
        }
        old = value[byte] & mask != 0;
        if bit {
            value[byte] |= mask;
        } else {
            value[byte] &= !mask;
        }
        Ok(value)
    });
    if written.is_some() {
        out.integer(i64::from(old));
    }
}

fn getbit(ctx: &Context<'_>, key: &[u8], offset: &[u8], out: &mut Out) {
    let Some(offset) = bit_offset(offset) else {
        return out.error("ERR bit offset is not an integer or out of range");
    };
    match ctx.shards.backend(key).get(key) {
        Ok(value) => {
            let byte = value.as_deref().and_then(|v| v.get((offset / 8) as usize));
            let set = byte.is_some_and(|b| b & (0x80 >> (offset % 8)) != 0);
            out.integer(i64::from(set));
        }
        Err(error) => backend_error(out, &error),
    }
}

/// `BITCOUNT key [start end [BYTE | BIT]]`
fn bitcount(ctx: &Context<'_>, key: &[u8], range: &[Vec<u8>], out: &mut Out) {
    let bounds = match range {
        [] => None,
        [start, end] | [start, end, _] => match (parse_i64(start), parse_i64(end)) {
            (Some(start), Some(end)) => Some((start, end)),
            _ => return out.error(NOT_AN_INTEGER),
        },
        _ => return out.error("ERR syntax error"),
    };
    let in_bits = match range.get(2).map(|unit| upper(unit)) {
        None => false,
        Some(unit) if unit == "BYTE" => false,
        Some(unit) if unit == "BIT" => true,
        Some(_) => return out.error("ERR syntax error"),
    };
    let value = match ctx.shards.backend(key).get(key) {
        Ok(value) => value.unwrap_or_default(),
        Err(error) => return backend_error(out, &error),
    };
    let Some((start, end)) = bounds else {
        return out.integer(value.iter().map(|b| i64::from(b.count_ones() as u8)).sum());
    };
    let len = if in_bits {
        value.len() as i64 * 8
    } else {
        value.len() as i64
    };
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    if start > end || len == 0 {
        return out.integer(0);
    }
    let count = if in_bits {
        (start..=end)
            .filter(|bit| value[(bit / 8) as usize] & (0x80 >> (bit % 8)) != 0)
            .count() as i64
    } else {
        value[start as usize..=end as usize]
            .iter()
            .map(|b| i64::from(b.count_ones() as u8))
            .sum()
    };
    out.integer(count);
}
