//! Moving and copying entries with their ttl: RENAME, RENAMENX, COPY. Both keys' stripes
//! are held, so a move is atomic against other commands on either key.

use super::context::{
    Context, NOT_AN_INTEGER, backend_error, exists, parse_i64, read_with_ttl, upper, wrong_arity,
};
use crate::backend::Backend;
use crate::error::Error;
use crate::server::resp::{Out, Reply};

/// Runs `command` (upper case) if it is one of these; `false` if it is not.
pub(super) fn execute(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Out) -> bool {
    match (command, rest) {
        ("RENAME", [from, to]) => rename(ctx, from, to, false, out),
        ("RENAMENX", [from, to]) => rename(ctx, from, to, true, out),
        ("COPY", [from, to, options @ ..]) => copy(ctx, from, to, options, out),
        ("RENAME" | "RENAMENX" | "COPY", _) => wrong_arity(out, command),
        _ => return false,
    }
    true
}

/// Writes `from`'s entry (value and remaining ttl) under `to`; `Ok(false)` if `from` has
/// none. With `only_new`, nothing is written when `to` exists.
fn duplicate(
    ctx: &Context<'_>,
    from: &[u8],
    to: &[u8],
    only_new: bool,
) -> Result<Option<bool>, Error> {
    let Some((value, ttl)) = read_with_ttl(ctx.shards.backend(from), from)? else {
        return Ok(None);
    };
    if only_new && exists(ctx.shards.backend(to), to)? {
        return Ok(Some(false));
    }
    ctx.shards.backend(to).put(to, &value, ttl)?;
    Ok(Some(true))
}

fn rename(ctx: &Context<'_>, from: &[u8], to: &[u8], only_new: bool, out: &mut Out) {
    let _stripes = ctx.shards.lock_all(&[from, to]);
    let same = from == to;
    let moved = if same {
        // Renaming a key to itself changes nothing, if the key exists.
        exists(ctx.shards.backend(from), from).map(|found| found.then_some(!only_new))
    } else {
        duplicate(ctx, from, to, only_new).and_then(|moved| {
            if moved == Some(true) {
                ctx.shards.backend(from).remove(from)?;
            }
            Ok(moved)
        })
    };
    match (moved, only_new) {
        (Ok(None), _) => out.error("ERR no such key"),
        (Ok(Some(_)), false) => out.simple("OK"),
        (Ok(Some(moved)), true) => out.integer(i64::from(moved)),
        (Err(error), _) => backend_error(out, &error),
    }
}

/// `COPY source destination [DB 0] [REPLACE]`
fn copy(ctx: &Context<'_>, from: &[u8], to: &[u8], options: &[Vec<u8>], out: &mut Out) {
    let mut replace = false;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        match upper(option).as_str() {
            "REPLACE" => replace = true,
            "DB" => match options.next().map(|db| parse_i64(db)) {
                Some(Some(0)) => {}
                Some(Some(_)) => return out.error("ERR DB index is out of range"),
                Some(None) => return out.error(NOT_AN_INTEGER),
                None => return out.error("ERR syntax error"),
            },
            _ => return out.error("ERR syntax error"),
        }
    }
    if from == to {
        return out.error("ERR source and destination objects are the same");
    }
    let _stripes = ctx.shards.lock_all(&[from, to]);
    match duplicate(ctx, from, to, !replace) {
        Ok(Some(true)) => out.integer(1),
        Ok(_) => out.integer(0),
        Err(error) => backend_error(out, &error),
    }
}
