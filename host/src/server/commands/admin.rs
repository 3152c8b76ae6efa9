//! The server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, COMMAND, CONFIG, SLOWLOG, LATENCY,
//! SAVE, BGSAVE, LASTSAVE and WASMCACHE.RELOAD.

use super::command_info;
use super::context::{Context, backend_error, upper, wrong_arity};
use super::info;
use super::latency;
use crate::backend::Backend;
use crate::reload::Source;
use crate::server::persistence::SaveFailed;
use crate::server::resp::{Out, Reply};

/// Runs `command` (upper case) if it is one of these; `false` if it is not.
pub(super) fn execute(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Out) -> bool {
    match command {
        "FLUSHDB" | "FLUSHALL" => match rest {
            [] => flush(ctx, out),
            [mode] if matches!(upper(mode).as_str(), "ASYNC" | "SYNC") => flush(ctx, out),
            _ => out.error("ERR syntax error"),
        },
        "DBSIZE" => match ctx.shards.size() {
            Ok(size) => out.integer(size as i64),
            Err(error) => backend_error(out, &error),
        },
        "INFO" => out.bulk(Some(info::info(ctx, rest).as_bytes())),
        "COMMAND" => command_info::command(rest, out),
        "CONFIG" => config(ctx, rest, out),
        "SLOWLOG" => ctx.counters.slowlog.command(rest, out),
        "LATENCY" => latency::command(ctx, rest, out),
        "SAVE" | "BGSAVE" | "LASTSAVE" => persist(ctx, command, rest, out),
        "WASMCACHE.RELOAD" => reload(ctx, rest, out),
        _ => return false,
    }
    true
}

/// `CONFIG GET pattern [pattern ...]`: the parameters clients probe, read-only.
fn config(ctx: &Context<'_>, rest: &[Vec<u8>], out: &mut Out) {
    match (
        rest.first().map(|s| upper(s)).as_deref(),
        &rest[rest.len().min(1)..],
    ) {
        (Some("GET"), patterns) if !patterns.is_empty() => {
            let facts = &ctx.facts;
            let [slower_than, max_len] = ctx.counters.slowlog.settings();
            let parameters: [(&str, String); 12] = [
                slower_than,
                max_len,
                ("bind", facts.bind.clone()),
                ("port", facts.port.to_string()),
                ("maxclients", facts.max_clients.to_string()),
                ("timeout", facts.idle_timeout_secs.to_string()),
                ("proto-max-bulk-len", facts.max_bulk_bytes.to_string()),
                ("databases", "1".into()),
                ("save", String::new()),
                ("appendonly", "no".into()),
                // Memory is bounded per backend instance by the sandbox, not server-wide.
                ("maxmemory", "0".into()),
                ("maxmemory-policy", "noeviction".into()),
            ];
            let found: Vec<&(&str, String)> = parameters
                .iter()
                .filter(|(name, _)| {
                    patterns
                        .iter()
                        .any(|p| super::scan::glob_match(&p.to_ascii_lowercase(), name.as_bytes()))
                })
                .collect();
            out.map(found.len());
            for (name, value) in found {
                out.bulk(Some(name.as_bytes()));
                out.bulk(Some(value.as_bytes()));
            }
        }
        (Some("SET"), [name, value]) => {
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            match ctx.counters.slowlog.set(&name, value) {
                Some(Ok(())) => out.simple("OK"),
                Some(Err(reply)) => out.error(&reply),
                None => out.error(&format!(
                    "ERR wasmcache can change only slowlog-log-slower-than and slowlog-max-len with CONFIG SET; configure '{name}' with `wasmcache serve` flags"
                )),
            }
        }
        (Some("RESETSTAT"), []) => {
            ctx.counters.reset();
            out.simple("OK")
        }
        _ => out.error(
            "ERR unknown CONFIG subcommand or wrong number of arguments (GET, SET and RESETSTAT are supported)",
        ),
    }
}

/// `SAVE`, `BGSAVE [SCHEDULE]`, `LASTSAVE`: the snapshot file.
fn persist(ctx: &Context<'_>, command: &str, rest: &[Vec<u8>], out: &mut Out) {
    let Some(persistence) = ctx.persistence else {
        return out.error("ERR no snapshot file: start wasmcache serve with --snapshot FILE");
    };
    match (command, rest) {
        ("SAVE", []) => match blocking(|| persistence.save()) {
            Ok(_) => out.simple("OK"),
            Err(SaveFailed::Busy) => out.error("ERR Background save already in progress"),
            Err(SaveFailed::Failed(error)) => out.error(&format!("ERR {error}")),
        },
        ("BGSAVE", []) => match persistence.save_in_background() {
            Ok(()) => out.simple("Background saving started"),
            Err(SaveFailed::Busy) => out.error("ERR Background save already in progress"),
            Err(SaveFailed::Failed(error)) => out.error(&format!("ERR {error}")),
        },
        ("BGSAVE", [schedule]) if upper(schedule) == "SCHEDULE" => {
            match persistence.save_in_background() {
                Ok(()) => out.simple("Background saving started"),
                Err(SaveFailed::Busy) => out.simple("Background saving scheduled"),
                Err(SaveFailed::Failed(error)) => out.error(&format!("ERR {error}")),
            }
        }
        ("LASTSAVE", []) => out.integer(persistence.last_save() as i64),
        _ => out.error("ERR syntax error"),
    }
}

/// Runs `work`, which blocks for a while; on a multi-threaded runtime the worker hands its
/// other connections to the other workers meanwhile (`block_in_place`).
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    let multi_threaded = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_threaded {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Flushes every shard, whatever one of them does; the first failure is the reply.
fn flush(ctx: &Context<'_>, out: &mut Out) {
    let failures: Vec<_> = ctx
        .shards
        .guards()
        .iter()
        .filter_map(|guard| guard.invalidate(None).err())
        .collect();
    match failures.first() {
        None => out.simple("OK"),
        Some(error) => backend_error(out, error),
    }
}

/// `WASMCACHE.RELOAD path`: compiles the file and reloads every shard. Compiling takes
/// long, so on a multi-threaded runtime the worker hands its other connections to the
/// other workers while it runs (`block_in_place`).
fn reload(ctx: &Context<'_>, args: &[Vec<u8>], out: &mut Out) {
    if !ctx.admin {
        return out.error("ERR WASMCACHE.RELOAD is disabled; start the server with --admin to allow it from loopback clients");
    }
    let [path] = args else {
        return wrong_arity(out, "WASMCACHE.RELOAD");
    };
    let path = std::path::PathBuf::from(String::from_utf8_lossy(path).into_owned());
    let result = blocking(|| ctx.shards.reload(Source::Path(path)));
    match result {
        Ok(reports) => {
            let generation = reports.first().map_or(0, |r| r.generation);
            out.simple(&format!("OK generation {generation}"));
        }
        Err(error) => out.error(&format!("ERR {error}")),
    }
}
