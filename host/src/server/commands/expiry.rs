//! Reading and changing expiry: TTL, PTTL, EXPIRETIME, PEXPIRETIME, EXPIRE, PEXPIRE,
//! EXPIREAT, PEXPIREAT, PERSIST. Through contract 0.2's `ttl` and `set-ttl`: the value never
//! crosses the sandbox. A 0.1 backend cannot report a ttl: what needs one answers an error,
//! and a plain EXPIRE is served by rewriting the value.

use super::context::{
    Context, NOT_AN_INTEGER, backend_error, fits_an_expiry, parse_i64, unix_ms, upper, wrong_arity,
};
use crate::backend::{Backend, Expiry};
use crate::server::resp::{Out, Reply};

/// Runs `command` (upper case) if it is one of these; `false` if it is not.
pub(super) fn execute(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Out) -> bool {
    match command {
        "TTL" | "PTTL" | "EXPIRETIME" | "PEXPIRETIME" => match rest {
            [key] => read(ctx, command, key, out),
            _ => wrong_arity(out, command),
        },
        "EXPIRE" | "PEXPIRE" | "EXPIREAT" | "PEXPIREAT" => match rest {
            [key, amount, flags @ ..] => expire(ctx, command, key, amount, flags, out),
            _ => wrong_arity(out, command),
        },
        "PERSIST" => match rest {
            [key] => persist(ctx, key, out),
            _ => wrong_arity(out, command),
        },
        _ => return false,
    }
    true
}

/// `-2` absent, `-1` no expiry, else the time left (TTL, PTTL) or the time it expires at
/// (EXPIRETIME, PEXPIRETIME).
fn read(ctx: &Context<'_>, command: &str, key: &[u8], out: &mut Out) {
    let expiry = match ctx.shards.backend(key).ttl(key) {
        Ok(expiry) => expiry,
        Err(error) => return backend_error(out, &error),
    };
    let ms = match expiry {
        None => return out.integer(-2),
        Some(Expiry::Persistent) => return out.integer(-1),
        Some(Expiry::InMs(ms)) => i64::try_from(ms).unwrap_or(i64::MAX),
    };
    out.integer(match command {
        "TTL" => (ms + 500) / 1000,
        "PTTL" => ms,
        "EXPIRETIME" => unix_ms().saturating_add(ms) / 1000,
        _ => unix_ms().saturating_add(ms),
    });
}

/// `EXPIRE`'s conditions: XX may go with GT or LT; NX goes alone; GT and LT exclude each
/// other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Conditions {
    /// Only when the key has no expiry.
    nx: bool,
    /// Only when it has one.
    xx: bool,
    /// Only when the new expiry is later (no expiry counts as infinitely late).
    gt: bool,
    /// Only when the new expiry is earlier.
    lt: bool,
}

fn conditions(flags: &[Vec<u8>]) -> Result<Conditions, String> {
    let mut found = Conditions::default();
    for flag in flags {
        match upper(flag).as_str() {
            "NX" => found.nx = true,
            "XX" => found.xx = true,
            "GT" => found.gt = true,
            "LT" => found.lt = true,
            _ => {
                return Err(format!(
                    "ERR Unsupported option {}",
                    String::from_utf8_lossy(flag)
                ));
            }
        }
    }
    if found.nx && (found.xx || found.gt || found.lt) {
        return Err("ERR NX and XX, GT or LT options at the same time are not compatible".into());
    }
    if found.gt && found.lt {
        return Err("ERR GT and LT options at the same time are not compatible".into());
    }
    Ok(found)
}

impl Conditions {
    fn any(self) -> bool {
        self != Conditions::default()
    }

    /// Whether an entry expiring as `current` may be given a ttl of `relative` ms.
    fn allow(self, current: Expiry, relative: i64) -> bool {
        let left = current.remaining_ms();
        (!self.nx || left.is_none())
            && (!self.xx || left.is_some())
            && (!self.gt || left.is_some_and(|left| relative > 0 && relative as u64 > left))
            && (!self.lt || left.is_none_or(|left| (relative.max(0) as u64) < left))
    }
}

/// `EXPIRE key seconds [NX | XX | GT | LT]` and its millisecond and absolute forms.
fn expire(
    ctx: &Context<'_>,
    command: &str,
    key: &[u8],
    amount: &[u8],
    flags: &[Vec<u8>],
    out: &mut Out,
) {
    let Some(n) = parse_i64(amount) else {
        return out.error(NOT_AN_INTEGER);
    };
    let invalid = format!(
        "ERR invalid expire time in '{}' command",
        command.to_ascii_lowercase()
    );
    let ms = match command {
        "EXPIRE" | "EXPIREAT" => n.checked_mul(1000),
        _ => Some(n),
    };
    let relative = match (command, ms) {
        (_, None) => return out.error(&invalid),
        ("EXPIREAT" | "PEXPIREAT", Some(at)) => at.saturating_sub(unix_ms()),
        (_, Some(ms)) => ms,
    };
    if relative > 0 && !fits_an_expiry(relative as u64) {
        return out.error(&invalid);
    }
    let conditions = match conditions(flags) {
        Ok(conditions) => conditions,
        Err(reply) => return out.error(&reply),
    };
    let backend = ctx.shards.backend(key);
    let _stripe = ctx.shards.lock(key);
    if conditions.any() {
        let current = match backend.ttl(key) {
            Ok(Some(expiry)) => expiry,
            Ok(None) => return out.integer(0),
            Err(error) => return backend_error(out, &error),
        };
        if !conditions.allow(current, relative) {
            return out.integer(0);
        }
    }
    // A time in the past removes the key, as in Redis.
    let changed = if relative <= 0 {
        backend.remove(key)
    } else {
        backend.set_ttl(key, Some(relative as u64))
    };
    match changed {
        Ok(changed) => out.integer(i64::from(changed)),
        Err(error) => backend_error(out, &error),
    }
}

/// `PERSIST key`: `1` when an expiry was removed.
fn persist(ctx: &Context<'_>, key: &[u8], out: &mut Out) {
    let backend = ctx.shards.backend(key);
    let _stripe = ctx.shards.lock(key);
    match backend.ttl(key) {
        Ok(Some(Expiry::InMs(_))) => match backend.set_ttl(key, None) {
            Ok(changed) => out.integer(i64::from(changed)),
            Err(error) => backend_error(out, &error),
        },
        Ok(_) => out.integer(0),
        Err(error) => backend_error(out, &error),
    }
}
