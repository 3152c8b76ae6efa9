//! The key commands: GET, SET, MGET, MSET, DEL, UNLINK, EXISTS.

use super::context::{Context, backend_error, upper, wrong_arity};
use crate::backend::Backend;
use crate::error::Error;
use crate::server::resp::Reply;

/// A read through the owning shard's guard: a fault reads as a miss (counted there).
fn read(ctx: &Context<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    ctx.shards.backend(key).get(key)
}

/// Runs one key command (`command` is upper case).
pub(super) fn execute(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Vec<u8>) {
    match (command, rest) {
        ("GET", [key]) => match read(ctx, key) {
            Ok(value) => out.bulk(value.as_deref()),
            Err(error) => backend_error(out, &error),
        },
        ("SET", _) => set(ctx, rest, out),
        ("MGET", keys) if !keys.is_empty() => {
            out.array(keys.len());
            for key in keys {
                match read(ctx, key) {
                    Ok(value) => out.bulk(value.as_deref()),
                    Err(_) => out.bulk(None),
                }
            }
        }
        ("MSET", pairs) if !pairs.is_empty() && pairs.len().is_multiple_of(2) => {
            mset(ctx, pairs, out)
        }
        ("DEL" | "UNLINK", keys) if !keys.is_empty() => del(ctx, keys, out),
        ("EXISTS", keys) if !keys.is_empty() => {
            let found = keys
                .iter()
                .filter(|key| matches!(read(ctx, key), Ok(Some(_))))
                .count();
            out.integer(found as i64);
        }
        _ => wrong_arity(out, command),
    }
}

fn mset(ctx: &Context<'_>, pairs: &[Vec<u8>], out: &mut Vec<u8>) {
    for pair in pairs.chunks(2) {
        if let Err(error) = ctx.shards.backend(&pair[0]).put(&pair[0], &pair[1], None) {
            return backend_error(out, &error);
        }
    }
    out.simple("OK");
}

fn del(ctx: &Context<'_>, keys: &[Vec<u8>], out: &mut Vec<u8>) {
    let mut removed = 0;
    for key in keys {
        let _stripe = ctx.shards.lock(key);
        let outcome = read(ctx, key).and_then(|found| {
            ctx.shards.backend(key).invalidate(Some(key))?;
            Ok(found.is_some())
        });
        match outcome {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(error) => return backend_error(out, &error),
        }
    }
    out.integer(removed);
}

/// What `SET`'s options asked for.
#[derive(Default)]
struct SetOptions {
    ttl_ms: Option<u64>,
    nx: bool,
    xx: bool,
    get: bool,
}

/// Parses `[NX | XX] [GET] [EX seconds | PX milliseconds]`; `Err` is the reply.
fn set_options(options: &[Vec<u8>]) -> Result<SetOptions, &'static str> {
    let mut parsed = SetOptions::default();
    let mut options = options.iter();
    while let Some(option) = options.next() {
        match upper(option).as_str() {
            "NX" => parsed.nx = true,
            "XX" => parsed.xx = true,
            "GET" => parsed.get = true,
            unit @ ("EX" | "PX") => {
                let amount = options
                    .next()
                    .and_then(|n| std::str::from_utf8(n).ok())
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|n| *n > 0)
                    .and_then(|n| {
                        if unit == "EX" {
                            n.checked_mul(1000)
                        } else {
                            Some(n)
                        }
                    })
                    .filter(|ms| fits_an_expiry(*ms));
                let Some(ms) = amount.filter(|_| parsed.ttl_ms.is_none()) else {
                    return Err("ERR invalid expire time in 'set' command");
                };
                parsed.ttl_ms = Some(ms);
            }
            "KEEPTTL" => {
                return Err(
                    "ERR wasmcache does not support KEEPTTL: the backend contract cannot keep a ttl across a put",
                );
            }
            "EXAT" | "PXAT" => {
                return Err(
                    "ERR wasmcache does not support EXAT/PXAT: backends see only a monotonic clock; use EX or PX",
                );
            }
            _ => return Err("ERR syntax error"),
        }
    }
    if parsed.nx && parsed.xx {
        return Err("ERR syntax error");
    }
    Ok(parsed)
}

/// Whether an expiry `ms` from now is a time Redis can hold: a Unix time in milliseconds
/// that fits a signed 64-bit integer (Redis refuses the rest as an invalid expire time).
fn fits_an_expiry(ms: u64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    ms <= (i64::MAX as u64).saturating_sub(now)
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds]`
fn set(ctx: &Context<'_>, args: &[Vec<u8>], out: &mut Vec<u8>) {
    let [key, value, options @ ..] = args else {
        return wrong_arity(out, "SET");
    };
    let options = match set_options(options) {
        Ok(options) => options,
        Err(reply) => return out.error(reply),
    };
    let backend = ctx.shards.backend(key);
    if !(options.nx || options.xx || options.get) {
        return match backend.put(key, value, options.ttl_ms) {
            Ok(()) => out.simple("OK"),
            Err(error) => backend_error(out, &error),
        };
    }
    // Read, decide, write: atomic against other commands on the same key.
    let _stripe = ctx.shards.lock(key);
    let old = match read(ctx, key) {
        Ok(old) => old,
        Err(error) => return backend_error(out, &error),
    };
    let write = (!options.nx || old.is_none()) && (!options.xx || old.is_some());
    if write && let Err(error) = backend.put(key, value, options.ttl_ms) {
        return backend_error(out, &error);
    }
    match (options.get, write) {
        (true, _) => out.bulk(old.as_deref()),
        (false, true) => out.simple("OK"),
        (false, false) => out.bulk(None),
    }
}
