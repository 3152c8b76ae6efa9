//! The commands the server answers, each mapped onto the backend contract.
//!
//! What the contract cannot express is refused with an `-ERR` that says why: there is no
//! way to ask a backend for an entry's remaining ttl, to list its keys, or to store
//! anything but bytes under a key.

use std::sync::atomic::{AtomicU64, Ordering};

use super::resp::Reply;
use super::shards::Shards;
use crate::backend::Backend;
use crate::error::Error;
use crate::reload::Source;

/// What the connection does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    Continue,
    Close,
}

/// Per-connection state.
#[derive(Debug, Default)]
pub(crate) struct Session {
    pub(crate) name: Option<Vec<u8>>,
}

/// Server-wide counters for `INFO`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicU64,
    pub(crate) commands: AtomicU64,
    pub(crate) backend_faults: AtomicU64,
    pub(crate) rejected_clients: AtomicU64,
}

/// What commands can reach.
pub(crate) struct Context<'a> {
    pub(crate) shards: &'a Shards,
    pub(crate) counters: &'a Counters,
    pub(crate) admin: bool,
    pub(crate) connected_clients: usize,
}

/// Commands whose refusal deserves an explanation rather than "unknown command".
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "TTL",
        "the backend contract cannot report an entry's remaining ttl",
    ),
    (
        "PTTL",
        "the backend contract cannot report an entry's remaining ttl",
    ),
    (
        "EXPIRETIME",
        "the backend contract cannot report an entry's expiry",
    ),
    (
        "EXPIRE",
        "the backend contract cannot change a ttl without the value; use SET with EX",
    ),
    (
        "PEXPIRE",
        "the backend contract cannot change a ttl without the value; use SET with PX",
    ),
    (
        "PERSIST",
        "the backend contract cannot change a ttl without the value; use SET",
    ),
    ("KEYS", "the backend contract has no way to list keys"),
    ("SCAN", "the backend contract has no way to list keys"),
    ("RANDOMKEY", "the backend contract has no way to list keys"),
    (
        "RENAME",
        "the backend contract cannot move an entry with its ttl",
    ),
    ("TYPE", "every value is a string"),
    (
        "INCR",
        "only plain string values are stored; read, change and SET instead",
    ),
    (
        "DECR",
        "only plain string values are stored; read, change and SET instead",
    ),
    (
        "INCRBY",
        "only plain string values are stored; read, change and SET instead",
    ),
    (
        "APPEND",
        "only plain string values are stored; read, change and SET instead",
    ),
    ("GETSET", "use SET with GET"),
    ("SETEX", "use SET with EX"),
    ("SETNX", "use SET with NX"),
    ("LPUSH", "only string values are stored"),
    ("RPUSH", "only string values are stored"),
    ("HSET", "only string values are stored"),
    ("HGET", "only string values are stored"),
    ("SADD", "only string values are stored"),
    ("ZADD", "only string values are stored"),
    ("MULTI", "transactions are not supported"),
    ("WATCH", "transactions are not supported"),
    ("SUBSCRIBE", "pub/sub is not supported"),
    ("PUBLISH", "pub/sub is not supported"),
];

fn upper(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_ascii_uppercase()
}

fn wrong_arity(out: &mut Vec<u8>, command: &str) {
    out.error(&format!(
        "ERR wrong number of arguments for '{}' command",
        command.to_ascii_lowercase()
    ));
}

/// Answers a backend error: faults of the guest are counted.
fn backend_error(ctx: &Context<'_>, out: &mut Vec<u8>, error: &Error) {
    if error.is_guest_fault() {
        ctx.counters.backend_faults.fetch_add(1, Ordering::Relaxed);
        out.error(&format!("ERR backend unavailable: {error}"));
    } else {
        out.error(&format!("ERR {error}"));
    }
}

/// A read that fails open: a guest fault is a miss (counted), other errors are errors.
fn read(ctx: &Context<'_>, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    match ctx.shards.backend(key).get(key) {
        Err(error) if error.is_guest_fault() => {
            ctx.counters.backend_faults.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(target: "wasmcache::server", "backend fault on read, answered as a miss: {error}");
            Ok(None)
        }
        other => other,
    }
}

/// Runs one command, appending its reply to `out`.
pub(crate) fn execute(
    ctx: &Context<'_>,
    session: &mut Session,
    args: &[Vec<u8>],
    out: &mut Vec<u8>,
) -> Next {
    ctx.counters.commands.fetch_add(1, Ordering::Relaxed);
    let command = upper(&args[0]);
    let rest = &args[1..];
    match command.as_str() {
        "PING" => match rest {
            [] => out.simple("PONG"),
            [message] => out.bulk(Some(message)),
            _ => wrong_arity(out, &command),
        },
        "ECHO" => match rest {
            [message] => out.bulk(Some(message)),
            _ => wrong_arity(out, &command),
        },
        "GET" => match rest {
            [key] => match read(ctx, key) {
                Ok(value) => out.bulk(value.as_deref()),
                Err(error) => backend_error(ctx, out, &error),
            },
            _ => wrong_arity(out, &command),
        },
        "SET" => set(ctx, rest, out),
        "MGET" if !rest.is_empty() => {
            out.array(rest.len());
            for key in rest {
                match read(ctx, key) {
                    Ok(value) => out.bulk(value.as_deref()),
                    Err(_) => out.bulk(None),
                }
            }
        }
        "MSET" if !rest.is_empty() && rest.len().is_multiple_of(2) => {
            for pair in rest.chunks(2) {
                if let Err(error) = ctx.shards.backend(&pair[0]).put(&pair[0], &pair[1], None) {
                    backend_error(ctx, out, &error);
                    return Next::Continue;
                }
            }
            out.simple("OK");
        }
        "DEL" | "UNLINK" if !rest.is_empty() => {
            let mut removed = 0;
            for key in rest {
                let _stripe = ctx.shards.lock(key);
                match read(ctx, key).and_then(|found| {
                    ctx.shards.backend(key).invalidate(Some(key))?;
                    Ok(found.is_some())
                }) {
                    Ok(true) => removed += 1,
                    Ok(false) => {}
                    Err(error) => {
                        backend_error(ctx, out, &error);
                        return Next::Continue;
                    }
                }
            }
            out.integer(removed);
        }
        "EXISTS" if !rest.is_empty() => {
            let found = rest
                .iter()
                .filter(|key| matches!(read(ctx, key), Ok(Some(_))))
                .count();
            out.integer(found as i64);
        }
        "FLUSHDB" | "FLUSHALL" => match rest {
            [] => flush(ctx, out),
            [mode] if matches!(upper(mode).as_str(), "ASYNC" | "SYNC") => flush(ctx, out),
            _ => out.error("ERR syntax error"),
        },
        "DBSIZE" => match ctx.shards.size() {
            Ok(size) => out.integer(size as i64),
            Err(error) => backend_error(ctx, out, &error),
        },
        "INFO" => out.bulk(Some(info(ctx).as_bytes())),
        "COMMAND" => match rest.first().map(|s| upper(s)).as_deref() {
            None | Some("DOCS") | Some("INFO") => out.array(0),
            Some("COUNT") => out.integer(0),
            Some(_) => out.error("ERR unknown COMMAND subcommand"),
        },
        "CLIENT" => match (
            rest.first().map(|s| upper(s)).as_deref(),
            &rest[rest.len().min(1)..],
        ) {
            (Some("SETNAME"), [name]) => {
                session.name = (!name.is_empty()).then(|| name.clone());
                out.simple("OK");
            }
            (Some("GETNAME"), []) => out.bulk(session.name.as_deref()),
            (Some("SETINFO"), [_, _]) => out.simple("OK"),
            _ => out.error("ERR unsupported CLIENT subcommand (SETNAME, GETNAME and SETINFO are)"),
        },
        "SELECT" => match rest {
            [db] if db.as_slice() == b"0" => out.simple("OK"),
            [_] => out.error("ERR DB index is out of range (wasmcache has one database, 0)"),
            _ => wrong_arity(out, &command),
        },
        "HELLO" => out.error("NOPROTO this server speaks RESP2 only"),
        "QUIT" => {
            out.simple("OK");
            return Next::Close;
        }
        "WASMCACHE.RELOAD" => reload(ctx, rest, out),
        _ => match UNSUPPORTED.iter().find(|(name, _)| *name == command) {
            Some((name, why)) => {
                out.error(&format!("ERR wasmcache does not support '{name}': {why}"))
            }
            None if matches!(
                command.as_str(),
                "MGET" | "MSET" | "DEL" | "UNLINK" | "EXISTS"
            ) =>
            {
                wrong_arity(out, &command)
            }
            None => out.error(&format!(
                "ERR unknown command '{}'",
                String::from_utf8_lossy(&args[0])
            )),
        },
    }
    Next::Continue
}

fn flush(ctx: &Context<'_>, out: &mut Vec<u8>) {
    for handle in ctx.shards.handles() {
        if let Err(error) = handle.invalidate(None) {
            backend_error(ctx, out, &error);
            return;
        }
    }
    out.simple("OK");
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds]`
fn set(ctx: &Context<'_>, args: &[Vec<u8>], out: &mut Vec<u8>) {
    let [key, value, options @ ..] = args else {
        return wrong_arity(out, "SET");
    };
    let (mut ttl_ms, mut nx, mut xx, mut get) = (None, false, false, false);
    let mut options = options.iter();
    while let Some(option) = options.next() {
        match upper(option).as_str() {
            "NX" => nx = true,
            "XX" => xx = true,
            "GET" => get = true,
            unit @ ("EX" | "PX") => {
                let amount = options
                    .next()
                    .and_then(|n| std::str::from_utf8(n).ok())
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|n| *n > 0);
                let Some(amount) = amount.filter(|_| ttl_ms.is_none()) else {
                    return out.error("ERR invalid expire time in 'set' command");
                };
                ttl_ms = Some(if unit == "EX" { amount.saturating_mul(1000) } else { amount });
            }
            "KEEPTTL" => return out.error("ERR wasmcache does not support KEEPTTL: the backend contract cannot keep a ttl across a put"),
            "EXAT" | "PXAT" => return out.error("ERR wasmcache does not support EXAT/PXAT: backends see only a monotonic clock; use EX or PX"),
            _ => return out.error("ERR syntax error"),
        }
    }
    if nx && xx {
        return out.error("ERR syntax error");
    }
    let backend = ctx.shards.backend(key);
    if !(nx || xx || get) {
        return match backend.put(key, value, ttl_ms) {
            Ok(()) => out.simple("OK"),
            Err(error) => backend_error(ctx, out, &error),
        };
    }
    // Read, decide, write: atomic against other commands on the same key.
    let _stripe = ctx.shards.lock(key);
    let old = match read(ctx, key) {
        Ok(old) => old,
        Err(error) => return backend_error(ctx, out, &error),
    };
    let write = (!nx || old.is_none()) && (!xx || old.is_some());
    if write && let Err(error) = backend.put(key, value, ttl_ms) {
        return backend_error(ctx, out, &error);
    }
    match (get, write) {
        (true, _) => out.bulk(old.as_deref()),
        (false, true) => out.simple("OK"),
        (false, false) => out.bulk(None),
    }
}

fn reload(ctx: &Context<'_>, args: &[Vec<u8>], out: &mut Vec<u8>) {
    if !ctx.admin {
        return out.error("ERR WASMCACHE.RELOAD is disabled; start the server with --admin to allow it from loopback clients");
    }
    let [path] = args else {
        return wrong_arity(out, "WASMCACHE.RELOAD");
    };
    let path = std::path::PathBuf::from(String::from_utf8_lossy(path).into_owned());
    match ctx.shards.reload(Source::Path(path)) {
        Ok(reports) => {
            let generation = reports.first().map_or(0, |r| r.generation);
            out.simple(&format!("OK generation {generation}"));
        }
        Err(error) => out.error(&format!("ERR {error}")),
    }
}

fn info(ctx: &Context<'_>) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    let counters = ctx.counters;
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    // Writing to a String cannot fail.
    let _ = write!(
        text,
        "# Server\r\nwasmcache_version:{}\r\nshards:{}\r\n\
         # Clients\r\nconnected_clients:{}\r\n\
         # Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
         backend_faults:{}\r\nrejected_connections:{}\r\n",
        env!("CARGO_PKG_VERSION"),
        ctx.shards.handles().len(),
        ctx.connected_clients,
        load(&counters.connections),
        load(&counters.commands),
        load(&counters.backend_faults),
        load(&counters.rejected_clients),
    );
    if let Some(first) = ctx.shards.handles().first() {
        let status = first.status();
        let limits = first.size_limits();
        let _ = write!(
            text,
            "# Backend\r\ncomponent:{}\r\nsha256:{}\r\ngeneration:{}\r\nreloads:{}\r\n\
             rejected_reloads:{}\r\nlast_reload_error:{}\r\nmax_key_bytes:{}\r\nmax_value_bytes:{}\r\n",
            status.component,
            status.sha256,
            status.generation,
            status.reloads,
            status.rejected,
            status
                .last_error
                .unwrap_or_default()
                .replace(['\r', '\n'], " "),
            limits.max_key_bytes,
            limits.max_value_bytes,
        );
    }
    for (index, handle) in ctx.shards.handles().iter().enumerate() {
        let _ = match handle.stats() {
            Ok(stats) => {
                let counters: Vec<String> = stats
                    .counters
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                write!(
                    text,
                    "shard{index}:size={},{}\r\n",
                    stats.size,
                    counters.join(",")
                )
            }
            Err(error) => write!(text, "shard{index}:error={error}\r\n"),
        };
    }
    text
}
