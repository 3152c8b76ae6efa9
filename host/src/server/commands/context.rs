//! What every command gets: the server's shards and counters, the connection's session,
//! and the reply helpers they share.

use std::sync::Arc;

use super::cursors::ScanCursors;
use super::stats::Counters;
use crate::backend::{Backend, Expiry};
use crate::error::Error;
use crate::server::clients::{Client, Clients};
use crate::server::persistence::Persistence;
use crate::server::resp::{Out, Reply};
use crate::server::shards::Shards;

/// What the connection does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Continue,
    Close,
}

/// Per-connection state.
#[derive(Debug)]
pub(crate) struct Session {
    /// The connection as `CLIENT LIST` shows it: its id, addresses and name.
    pub(crate) client: Arc<Client>,
    /// Whether the connection may run commands: from the start without a password, after
    /// `AUTH` (or `HELLO ... AUTH`) with one.
    pub(crate) authenticated: bool,
    /// The transaction being queued, between MULTI and EXEC.
    pub(crate) multi: Option<Multi>,
    /// What WATCH noted: each key's stripe and its write version then.
    pub(crate) watched: Vec<(usize, u64)>,
}

/// What a transaction holds while it is being queued (see `transaction`).
#[derive(Debug, Default)]
pub(crate) struct Multi {
    pub(super) queued: Vec<Vec<Vec<u8>>>,
    /// A command could not be queued: EXEC refuses.
    pub(super) failed: bool,
}

/// What commands can reach.
pub(crate) struct Context<'a> {
    pub(crate) shards: &'a Shards,
    /// Where recent SCANs stand.
    pub(crate) scans: &'a ScanCursors,
    pub(crate) counters: &'a Counters,
    pub(crate) admin: bool,
    pub(crate) connected_clients: usize,
    /// Every open connection (CLIENT LIST).
    pub(crate) clients: &'a Clients,
    /// The password clients must give (`--requirepass`), if any.
    pub(crate) password: Option<&'a [u8]>,
    /// What `CONFIG GET` reports.
    pub(crate) facts: &'a ServerFacts,
    /// SAVE and BGSAVE's snapshot file, if the server has one.
    pub(crate) persistence: Option<&'a Arc<Persistence>>,
}

/// The server's settings as `CONFIG GET` reports them.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServerFacts {
    pub(crate) bind: String,
    pub(crate) port: u16,
    pub(crate) max_clients: usize,
    pub(crate) idle_timeout_secs: u64,
    pub(crate) max_bulk_bytes: usize,
}

pub(super) fn upper(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_ascii_uppercase()
}

pub(super) fn wrong_arity(out: &mut Out, command: &str) {
    out.error(&format!(
        "ERR wrong number of arguments for '{}' command",
        command.to_ascii_lowercase()
    ));
}

/// Answers a backend error (the guard has already counted a fault).
pub(super) fn backend_error(out: &mut Out, error: &Error) {
    if error.is_fault() || matches!(error, Error::BreakerOpen) {
        out.error(&format!("ERR backend unavailable: {error}"));
    } else {
        out.error(&format!("ERR {error}"));
    }
}

/// Answers Redis's reply for an argument that is not an integer.
pub(super) const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";

/// An argument as Redis reads an integer: optional `-`, digits, no spaces, no `+`, no
/// leading zeros (except `0` itself), within `i64`.
pub(super) fn parse_i64(arg: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(arg).ok()?;
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0";
    canonical.then(|| text.parse().ok()).flatten()
}

/// Milliseconds since the Unix epoch now (for the commands that take or give absolute
/// times; backends see only relative ttls).
pub(super) fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Whether an expiry `ms` from now is a time Redis can hold: a Unix time in milliseconds
/// that fits a signed 64-bit integer (Redis refuses the rest as an invalid expire time).
pub(super) fn fits_an_expiry(ms: u64) -> bool {
    ms <= (i64::MAX as u64).saturating_sub(unix_ms().max(0) as u64)
}

/// A live entry's value and remaining ttl in milliseconds (`None`: it never expires).
pub(super) type LiveEntry = (Vec<u8>, Option<u64>);

/// A live entry's value and remaining ttl (`None`: it never expires); `Ok(None)` when
/// there is no live entry. A 0.1 backend, which cannot report a ttl, answers
/// [`Error::Unsupported`] for a key that exists.
pub(super) fn read_with_ttl(backend: &dyn Backend, key: &[u8]) -> Result<Option<LiveEntry>, Error> {
    let Some(value) = backend.get(key)? else {
        return Ok(None);
    };
    Ok(backend
        .ttl(key)?
        .map(|expiry| (value, expiry.remaining_ms())))
}

/// Whether a live entry exists, without copying its value across the sandbox where the
/// backend can tell (0.2's `ttl`); a 0.1 backend is asked with `get`.
pub(super) fn exists(backend: &dyn Backend, key: &[u8]) -> Result<bool, Error> {
    match backend.ttl(key) {
        Err(Error::Unsupported { .. }) => Ok(backend.get(key)?.is_some()),
        other => other.map(|expiry: Option<Expiry>| expiry.is_some()),
    }
}

/// Reads the entry, lets `change` make the new value from the old one, and writes it
/// back with the entry's remaining ttl; `change`'s `Err` is the reply.
pub(super) fn read_modify_write(
    ctx: &Context<'_>,
    key: &[u8],
    out: &mut Out,
    change: impl FnOnce(Option<&[u8]>) -> Result<Vec<u8>, String>,
) -> Option<Vec<u8>> {
    let backend = ctx.shards.backend(key);
    let _stripe = ctx.shards.lock(key);
    let (old, ttl) = match read_with_ttl(backend, key) {
        Ok(Some((value, ttl))) => (Some(value), ttl),
        Ok(None) => (None, None),
        Err(error) => {
            backend_error(out, &error);
            return None;
        }
    };
    let new = match change(old.as_deref()) {
        Ok(new) => new,
        Err(reply) => {
            out.error(&reply);
            return None;
        }
    };
    match backend.put(key, &new, ttl) {
        Ok(()) => Some(new),
        Err(error) => {
            backend_error(out, &error);
            None
        }
    }
}
