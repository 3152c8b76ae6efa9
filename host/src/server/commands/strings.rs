//! The string commands built on get, put and the expiry functions: SETNX, SETEX, PSETEX,
//! GETSET, GETDEL, GETEX, INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT, APPEND, STRLEN,
//! GETRANGE, SETRANGE, MSETNX, plus TYPE, TOUCH and TIME. Every read-modify-write holds
//! the key's stripe, so it is atomic against other commands on the same key, and keeps the
//! entry's ttl as Redis does.

use super::context::{
    Context, NOT_AN_INTEGER, backend_error, exists, parse_i64, read_modify_write, upper,
    wrong_arity,
};
use super::keys::ExpireOption;
use super::lcs;
use crate::backend::Backend;
use crate::server::resp::{Out, Reply};

/// Largest string SETRANGE and APPEND may build, as Redis's `proto-max-bulk-len`.
const MAX_STRING: usize = 512 << 20;

/// Runs `command` (upper case) if it is one of these; `false` if it is not.
pub(super) fn execute(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Out) -> bool {
    match (command, rest) {
        ("SETNX", [key, value]) => setnx(ctx, key, value, out),
        ("SETEX" | "PSETEX", [key, amount, value]) => setex(ctx, command, key, amount, value, out),
        ("GETSET", [key, value]) => getset(ctx, key, value, out),
        ("GETDEL", [key]) => getdel(ctx, key, out),
        ("GETEX", [key, options @ ..]) => getex(ctx, key, options, out),
        ("INCR", [key]) => incr_by(ctx, key, 1, out),
        ("DECR", [key]) => incr_by(ctx, key, -1, out),
        ("INCRBY" | "DECRBY", [key, by]) => match parse_i64(by) {
            Some(by) if command == "INCRBY" => incr_by(ctx, key, by, out),
            Some(by) => match by.checked_neg() {
                Some(by) => incr_by(ctx, key, by, out),
                None => out.error("ERR decrement would overflow"),
            },
            None => out.error(NOT_AN_INTEGER),
        },
        ("LCS", [first, second, options @ ..]) => lcs::lcs(ctx, first, second, options, out),
        ("INCRBYFLOAT", [key, by]) => incr_by_float(ctx, key, by, out),
        ("APPEND", [key, tail]) => append(ctx, key, tail, out),
        ("STRLEN", [key]) => match ctx.shards.backend(key).get(key) {
            Ok(value) => out.integer(value.map_or(0, |v| v.len() as i64)),
            Err(error) => backend_error(out, &error),
        },
        ("GETRANGE" | "SUBSTR", [key, start, end]) => getrange(ctx, key, start, end, out),
        ("SETRANGE", [key, offset, value]) => setrange(ctx, key, offset, value, out),
        ("MSETNX", pairs) if !pairs.is_empty() && pairs.len().is_multiple_of(2) => {
            msetnx(ctx, pairs, out)
        }
        ("TYPE", [key]) => match exists(ctx.shards.backend(key), key) {
            Ok(true) => out.simple("string"),
            Ok(false) => out.simple("none"),
            Err(error) => backend_error(out, &error),
        },
        ("TOUCH", keys) if !keys.is_empty() => touch(ctx, keys, out),
        ("TIME", []) => {
            let micros = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_micros());
            out.array(2);
            out.bulk(Some((micros / 1_000_000).to_string().as_bytes()));
            out.bulk(Some((micros % 1_000_000).to_string().as_bytes()));
        }
        (
            "SETNX" | "SETEX" | "PSETEX" | "GETSET" | "GETDEL" | "GETEX" | "INCR" | "DECR"
            | "INCRBY" | "DECRBY" | "INCRBYFLOAT" | "APPEND" | "STRLEN" | "GETRANGE" | "SUBSTR"
            | "SETRANGE" | "MSETNX" | "TYPE" | "TOUCH" | "TIME",
            _,
        ) => wrong_arity(out, command),
        _ => return false,
    }
    true
}

/// `TOUCH key [key ...]`: a read is what marks a key used.
fn touch(ctx: &Context<'_>, keys: &[Vec<u8>], out: &mut Out) {
    let mut touched = 0;
    for key in keys {
        match ctx.shards.backend(key).get(key) {
            Ok(Some(_)) => touched += 1,
            Ok(None) => {}
            Err(error) => return backend_error(out, &error),
        }
    }
    out.integer(touched);
}

fn setnx(ctx: &Context<'_>, key: &[u8], value: &[u8], out: &mut Out) {
    let backend = ctx.shards.backend(key);
    let _stripe = ctx.shards.lock(key);
    let stored = exists(backend, key).and_then(|found| {
        if found {
            return Ok(false);
        }
        backend.put(key, value, None).map(|()| true)
    });
    match stored {
        Ok(stored) => out.integer(i64::from(stored)),
        Err(error) => backend_error(out, &error),
    }
}

fn setex(ctx: &Context<'_>, command: &str, key: &[u8], amount: &[u8], value: &[u8], out: &mut Out) {
    let unit = if command == "SETEX" { "EX" } else { "PX" };
    let name = command.to_ascii_lowercase();
    match ExpireOption::parse(unit, Some(&amount.to_vec()), &name) {
        Ok(expire) => match ctx.shards.backend(key).put(key, value, expire.ttl_ms(None)) {
            Ok(()) => out.simple("OK"),
            Err(error) => backend_error(out, &error),
        },
        Err(reply) => out.error(&reply),
    }
}

fn getset(ctx: &Context<'_>, key: &[u8], value: &[u8], out: &mut Out) {
    let backend = ctx.shards.backend(key);
    let _stripe = ctx.shards.lock(key);
    let old = backend
        .get(key)
        .and_then(|old| backend.put(key, value, None).map(|()| old));
    match old {
        Ok(old) => out.bulk(old.as_deref()),
        Err(error) => backend_error(out, &error),
    }
}

fn getdel(ctx: &Context<'_>, key: &[u8], out: &mut Out) {
    let backend = ctx.shards.backend(key);
    let _stripe = ctx.shards.lock(key);
    let old = backend.get(key).and_then(|old| {
        if old.is_some() {
            backend.remove(key)?;
        }
        Ok(old)
    });
    match old {
        Ok(old) => out.bulk(old.as_deref()),
        Err(error) => backend_error(out, &error),
    }
}

/// `GETEX key [EX s | PX ms | EXAT s | PXAT ms | PERSIST]`
fn getex(ctx: &Context<'_>, key: &[u8], options: &[Vec<u8>], out: &mut Out) {
    let mut expire = None;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let option = upper(option);
        let parsed = match option.as_str() {
            "PERSIST" => Ok(ExpireOption::Persist),
            unit @ ("EX" | "PX" | "EXAT" | "PXAT") => {
                ExpireOption::parse(unit, options.next(), "getex")
            }
            _ => Err("ERR syntax error".to_string()),
        };
        match parsed {
            Ok(parsed) if expire.is_none() => expire = Some(parsed),
            Ok(_) => return out.error("ERR syntax error"),
            Err(reply) => return out.error(&reply),
        }
    }
    let backend = ctx.shards.backend(key);
    let _stripe = ctx.shards.lock(key);
    let value = backend.get(key).and_then(|value| {
        if let (Some(_), Some(expire)) = (&value, expire) {
            match expire.ttl_ms(None) {
                Some(0) => {
                    backend.remove(key)?;
                }
                ttl => {
                    backend.set_ttl(key, ttl)?;
                }
            }
        }
        Ok(value)
    });
    match value {
        Ok(value) => out.bulk(value.as_deref()),
        Err(error) => backend_error(out, &error),
    }
}

fn incr_by(ctx: &Context<'_>, key: &[u8], by: i64, out: &mut Out) {
    let mut result = 0;
    let written = read_modify_write(ctx, key, out, |old| {
        let current = match old {
            None => 0,
            Some(old) => parse_i64(old).ok_or(NOT_AN_INTEGER)?,
        };
        result = current
            .checked_add(by)
            .ok_or("ERR increment or decrement would overflow")?;
        Ok(result.to_string().into_bytes())
    });
    if written.is_some() {
        out.integer(result);
    }
}

fn incr_by_float(ctx: &Context<'_>, key: &[u8], by: &[u8], out: &mut Out) {
    let Some(by) = parse_float(by) else {
        return out.error("ERR value is not a valid float");
    };
    let written = read_modify_write(ctx, key, out, |old| {
        let current = match old {
            None => 0.0,
            Some(old) => parse_float(old).ok_or("ERR value is not a valid float")?,
        };
        let sum = current + by;
        if !sum.is_finite() {
            return Err("ERR increment would produce NaN or Infinity".into());
        }
        Ok(format_float(sum).into_bytes())
    });
    if let Some(written) = written {
        out.bulk(Some(&written));
    }
}

/// A float as Redis reads one: no spaces, finite.
fn parse_float(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    if text.is_empty() || text.trim() != text {
        return None;
    }
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A float as Redis writes one: the shortest decimal that reads back the same, no
/// exponent, no trailing zeros.
fn format_float(value: f64) -> String {
    if value == value.trunc() && value.abs() < 1e17 {
        return format!("{}", value as i64);
    }
    format!("{value}")
}

fn append(ctx: &Context<'_>, key: &[u8], tail: &[u8], out: &mut Out) {
    let written = read_modify_write(ctx, key, out, |old| {
        let mut value = old.map(<[u8]>::to_vec).unwrap_or_default();
        if value.len() + tail.len() > MAX_STRING {
            return Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)".into());
        }
        value.extend_from_slice(tail);
        Ok(value)
    });
    if let Some(written) = written {
        out.integer(written.len() as i64);
    }
}

fn getrange(ctx: &Context<'_>, key: &[u8], start: &[u8], end: &[u8], out: &mut Out) {
    let (Some(start), Some(end)) = (parse_i64(start), parse_i64(end)) else {
        return out.error(NOT_AN_INTEGER);
    };
    let value = match ctx.shards.backend(key).get(key) {
        Ok(value) => value.unwrap_or_default(),
        Err(error) => return backend_error(out, &error),
    };
    out.bulk(Some(range(&value, start, end)));
}

/// Redis's inclusive range with negative indices counted from the end.
fn range(value: &[u8], start: i64, end: i64) -> &[u8] {
    let len = value.len() as i64;
    if len == 0 || (start < 0 && end < 0 && start > end) {
        return &[];
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end.min(len - 1) };
    if start > end || start >= len || end < 0 {
        return &[];
    }
    &value[start as usize..=end as usize]
}

fn setrange(ctx: &Context<'_>, key: &[u8], offset: &[u8], patch: &[u8], out: &mut Out) {
    let offset = match parse_i64(offset) {
        Some(offset) if offset >= 0 => offset as usize,
        Some(_) => return out.error("ERR offset is out of range"),
        None => return out.error(NOT_AN_INTEGER),
    };
    if offset.saturating_add(patch.len()) > MAX_STRING {
        return out.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    if patch.is_empty() {
        // Nothing to write: the length as it is, and no key created.
        return match ctx.shards.backend(key).get(key) {
            Ok(value) => out.integer(value.map_or(0, |v| v.len() as i64)),
            Err(error) => backend_error(out, &error),
        };
    }
    let written = read_modify_write(ctx, key, out, |old| {
        let mut value = old.map(<[u8]>::to_vec).unwrap_or_default();
        if value.len() < offset + patch.len() {
            value.resize(offset + patch.len(), 0);
        }
        value[offset..offset + patch.len()].copy_from_slice(patch);
        Ok(value)
    });
    if let Some(written) = written {
        out.integer(written.len() as i64);
    }
}

/// `MSETNX key value [key value ...]`: all or nothing, atomic against other commands on
/// those keys.
fn msetnx(ctx: &Context<'_>, pairs: &[Vec<u8>], out: &mut Out) {
    let keys: Vec<&[u8]> = pairs.chunks(2).map(|pair| pair[0].as_slice()).collect();
    let _stripes = ctx.shards.lock_all(&keys);
    let mut any = false;
    for key in &keys {
        match exists(ctx.shards.backend(key), key) {
            Ok(found) => any |= found,
            Err(error) => return backend_error(out, &error),
        }
    }
    if any {
        return out.integer(0);
    }
    for pair in pairs.chunks(2) {
        if let Err(error) = ctx.shards.backend(&pair[0]).put(&pair[0], &pair[1], None) {
            return backend_error(out, &error);
        }
    }
    out.integer(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_redis() {
        let v = b"Hello World";
        assert_eq!(range(v, 0, 3), b"Hell");
        assert_eq!(range(v, -3, -1), b"rld");
        assert_eq!(range(v, 5, 3), b"");
        assert_eq!(range(v, 5, 5000), b" World");
        assert_eq!(range(v, -5000, 10000), b"Hello World");
        assert_eq!(range(b"", 0, -1), b"");
    }

    #[test]
    fn floats_print_like_redis() {
        assert_eq!(format_float(10.6), "10.6");
        assert_eq!(format_float(5200.0), "5200");
        assert_eq!(format_float(-1.5), "-1.5");
        assert_eq!(parse_float(b" 1"), None);
        assert_eq!(parse_float(b"5.0e3"), Some(5000.0));
    }
}
