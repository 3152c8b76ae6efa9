//! The key commands: GET, SET (with every option), MGET, MSET, DEL, UNLINK, EXISTS.

use super::context::{
    Context, NOT_AN_INTEGER, backend_error, exists, fits_an_expiry, parse_i64, upper, wrong_arity,
};
use crate::backend::Backend;
use crate::error::Error;
use crate::server::resp::{Out, Reply};

/// A read through the owning shard's guard: a fault reads as a miss (counted there).
fn read(ctx: &Context<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    ctx.shards.backend(key).get(key)
}

/// A GET or MGET read, counted as a keyspace hit or miss.
fn lookup(ctx: &Context<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let value = read(ctx, key)?;
    match value {
        Some(_) => ctx.counters.keyspace_hits.bump(),
        None => ctx.counters.keyspace_misses.bump(),
    }
    Ok(value)
}

/// Runs one key command (`command` is upper case).
pub(super) fn execute(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Out) {
    match (command, rest) {
        ("GET", [key]) => match lookup(ctx, key) {
            Ok(value) => out.bulk(value.as_deref()),
            Err(error) => backend_error(out, &error),
        },
        ("SET", _) => set(ctx, rest, out),
        ("MGET", keys) if !keys.is_empty() => {
            out.array(keys.len());
            for key in keys {
                match lookup(ctx, key) {
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
            let mut found = 0;
            for key in keys {
                match exists(ctx.shards.backend(key), key) {
                    Ok(true) => found += 1,
                    Ok(false) => {}
                    Err(error) => return backend_error(out, &error),
                }
            }
            out.integer(found);
        }
        _ => wrong_arity(out, command),
    }
}

fn mset(ctx: &Context<'_>, pairs: &[Vec<u8>], out: &mut Out) {
    let keys: Vec<&[u8]> = pairs.iter().step_by(2).map(Vec::as_slice).collect();
    let _stripes = ctx.shards.lock_all(&keys);
    for pair in pairs.chunks(2) {
        if let Err(error) = ctx.shards.backend(&pair[0]).put(&pair[0], &pair[1], None) {
            return backend_error(out, &error);
        }
    }
    out.simple("OK");
}

fn del(ctx: &Context<'_>, keys: &[Vec<u8>], out: &mut Out) {
    let held: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let _stripes = ctx.shards.lock_all(&held);
    let mut removed = 0;
    for key in keys {
        match ctx.shards.backend(key).remove(key) {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(error) => return backend_error(out, &error),
        }
    }
    out.integer(removed);
}

/// When `SET` (or `GETEX`) makes the entry expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExpireOption {
    /// `EX` / `PX`: this many milliseconds from now.
    In(u64),
    /// `EXAT` / `PXAT`: at this Unix time in milliseconds.
    At(i64),
    /// `KEEPTTL`: as the entry already does.
    Keep,
    /// `PERSIST` (`GETEX` only): never.
    Persist,
}

impl ExpireOption {
    /// Parses the amount after `EX`, `PX`, `EXAT` or `PXAT` (`unit` upper case) of
    /// `command`; `Err` is Redis's reply.
    pub(super) fn parse(
        unit: &str,
        amount: Option<&Vec<u8>>,
        command: &str,
    ) -> Result<Self, String> {
        let Some(amount) = amount else {
            return Err("ERR syntax error".into());
        };
        let n = parse_i64(amount).ok_or(NOT_AN_INTEGER)?;
        let invalid = || format!("ERR invalid expire time in '{command}' command");
        if n <= 0 {
            return Err(invalid());
        }
        let ms = match unit {
            "EX" | "EXAT" => n.checked_mul(1000).ok_or_else(invalid)?,
            _ => n,
        };
        match unit {
            "EX" | "PX" if fits_an_expiry(ms as u64) => Ok(ExpireOption::In(ms as u64)),
            "EX" | "PX" => Err(invalid()),
            _ => Ok(ExpireOption::At(ms)),
        }
    }

    /// The ttl a put should carry, given the entry's current remaining ttl (`KEEPTTL`).
    pub(super) fn ttl_ms(self, current: Option<u64>) -> Option<u64> {
        match self {
            ExpireOption::In(ms) => Some(ms),
            ExpireOption::At(at) => {
                Some(at.saturating_sub(super::context::unix_ms()).max(0) as u64)
            }
            ExpireOption::Keep => current,
            ExpireOption::Persist => None,
        }
    }
}

/// What `SET`'s options asked for.
#[derive(Default)]
struct SetOptions {
    expire: Option<ExpireOption>,
    nx: bool,
    xx: bool,
    get: bool,
}

/// Parses `[NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`; `Err` is the reply.
fn set_options(options: &[Vec<u8>]) -> Result<SetOptions, String> {
    let mut parsed = SetOptions::default();
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let option = upper(option);
        match option.as_str() {
            "NX" => parsed.nx = true,
            "XX" => parsed.xx = true,
            "GET" => parsed.get = true,
            "KEEPTTL" if parsed.expire.is_none() => parsed.expire = Some(ExpireOption::Keep),
            unit @ ("EX" | "PX" | "EXAT" | "PXAT") if parsed.expire.is_none() => {
                parsed.expire = Some(ExpireOption::parse(unit, options.next(), "set")?);
            }
            _ => return Err("ERR syntax error".into()),
        }
    }
    if parsed.nx && parsed.xx {
        return Err("ERR syntax error".into());
    }
    Ok(parsed)
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL]`
fn set(ctx: &Context<'_>, args: &[Vec<u8>], out: &mut Out) {
    let [key, value, options @ ..] = args else {
        return wrong_arity(out, "SET");
    };
    let options = match set_options(options) {
        Ok(options) => options,
        Err(reply) => return out.error(&reply),
    };
    let backend = ctx.shards.backend(key);
    let simple = !(options.nx || options.xx || options.get);
    if simple && options.expire != Some(ExpireOption::Keep) {
        let ttl = options.expire.and_then(|e| e.ttl_ms(None));
        // Held so a read-modify-write on the key never overwrites this write unseen.
        let _stripe = ctx.shards.lock(key);
        return match backend.put(key, value, ttl) {
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
    if write {
        let current = match options.expire {
            Some(ExpireOption::Keep) if old.is_some() => match backend.ttl(key) {
                Ok(expiry) => expiry.and_then(|e| e.remaining_ms()),
                Err(error) => return backend_error(out, &error),
            },
            _ => None,
        };
        let ttl = options.expire.and_then(|e| e.ttl_ms(current));
        if let Err(error) = backend.put(key, value, ttl) {
            return backend_error(out, &error);
        }
    }
    match (options.get, write) {
        (true, _) => out.bulk(old.as_deref()),
        (false, true) => out.simple("OK"),
        (false, false) => out.bulk(None),
    }
}
