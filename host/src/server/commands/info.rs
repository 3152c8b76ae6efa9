//! `INFO [section ...]` with the sections and field names Redis tools read (`redis-cli`,
//! `prometheus-redis-exporter`): server, clients, memory, persistence, stats, replication,
//! cpu, commandstats, keyspace, and wasmcache's own (backends, generations, shards).
//! Without an argument, or with `default`, every section but commandstats; `all` and
//! `everything` add it. Section names are case-insensitive; unknown ones are empty.

use std::fmt::Write as _;

use super::context::Context;
use super::names;
use crate::backend::Backend;

/// The Redis version whose commands and replies the server follows (what `redis_version`
/// says to tools that check it).
const REDIS_VERSION: &str = "7.0.0";

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "keyspace",
    "wasmcache",
];

/// The sections `args` ask for, in the order INFO prints them, each once.
fn wanted(args: &[Vec<u8>]) -> Vec<&'static str> {
    let mut all = DEFAULT.to_vec();
    all.insert(7, "commandstats");
    if args.is_empty() {
        return DEFAULT.to_vec();
    }
    let asked: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    all.into_iter()
        .filter(|section| {
            asked.iter().any(|a| match a.as_str() {
                "all" | "everything" => true,
                "default" => DEFAULT.contains(section),
                other => other == *section,
            })
        })
        .collect()
}

/// Text made safe for one INFO line: no line breaks or other control characters.
pub(super) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The INFO text for `args`.
pub(super) fn info(ctx: &Context<'_>, args: &[Vec<u8>]) -> String {
    let mut text = String::new();
    for (n, section) in wanted(args).into_iter().enumerate() {
        if n > 0 {
            text.push_str("\r\n");
        }
        // Writing to a String cannot fail.
        let _ = match section {
            "server" => server(ctx, &mut text),
            "clients" => write!(
                text,
                "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:0\r\n",
                ctx.connected_clients, ctx.facts.max_clients
            ),
            "memory" => memory(ctx, &mut text),
            "persistence" => persistence(ctx, &mut text),
            "stats" => stats(ctx, &mut text),
            "replication" => text.write_str(
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n",
            ),
            "cpu" => cpu(&mut text),
            "commandstats" => commandstats(ctx, &mut text),
            "keyspace" => keyspace(ctx, &mut text),
            _ => wasmcache(ctx, &mut text),
        };
    }
    text
}

fn server(ctx: &Context<'_>, text: &mut String) -> std::fmt::Result {
    let uptime = ctx.counters.started.elapsed().as_secs();
    write!(
        text,
        "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_mode:standalone\r\n\
         wasmcache_version:{}\r\nos:{} {}\r\narch_bits:{}\r\nprocess_id:{}\r\ntcp_port:{}\r\n\
         uptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
        usize::BITS,
        std::process::id(),
        ctx.facts.port,
        uptime / 86_400,
    )
}

/// Resident bytes of this process (Linux), or 0.
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.2}G", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.2}M", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.2}K", b as f64 / 1024.0),
        b => format!("{b}B"),
    }
}

fn memory(ctx: &Context<'_>, text: &mut String) -> std::fmt::Result {
    let used = resident_bytes();
    let (held, live) = ctx
        .shards
        .guards()
        .iter()
        .filter_map(|g| g.memory_use().ok().flatten())
        .fold((0, 0), |(h, l), m| (h + m.held_bytes, l + m.live_bytes));
    write!(
        text,
        "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{used}\r\n\
         maxmemory:0\r\nmaxmemory_policy:noeviction\r\nguest_memory:{held}\r\n\
         guest_memory_human:{}\r\nguest_live_bytes:{live}\r\n",
        human(used),
        human(held),
    )
}

fn persistence(ctx: &Context<'_>, text: &mut String) -> std::fmt::Result {
    let (saving, last_save, failed) = ctx.persistence.map_or((false, 0, false), |p| {
        (p.in_progress(), p.last_save(), p.last_failed())
    });
    write!(
        text,
        "# Persistence\r\nloading:0\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{last_save}\r\n\
         rdb_last_bgsave_status:{}\r\naof_enabled:0\r\n",
        u8::from(saving),
        if failed { "err" } else { "ok" },
    )
}

/// The shards' own expiry and eviction counters, summed: one `stats` call per shard.
fn expired_and_evicted(ctx: &Context<'_>) -> (u64, u64) {
    let mut totals = (0, 0);
    for stats in ctx.shards.guards().iter().filter_map(|g| g.stats().ok()) {
        for (name, n) in stats.counters {
            match name.as_str() {
                "expired" => totals.0 += n,
                "evictions" | "evicted" => totals.1 += n,
                _ => {}
            }
        }
    }
    totals
}

fn stats(ctx: &Context<'_>, text: &mut String) -> std::fmt::Result {
    let c = ctx.counters;
    let (expired, evicted) = expired_and_evicted(ctx);
    write!(
        text,
        "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
         instantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\n\
         total_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\n\
         evicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\
         total_error_replies:{}\r\nprotocol_errors:{}\r\nbackend_faults:{}\r\n",
        c.connections.get(),
        c.commands.get(),
        c.ops_per_sec(),
        c.bytes_in.get(),
        c.bytes_out.get(),
        c.rejected_clients.get(),
        expired,
        evicted,
        c.keyspace_hits.get(),
        c.keyspace_misses.get(),
        c.per_command.iter().map(|s| s.failed.get()).sum::<u64>(),
        c.protocol_errors.get(),
        ctx.shards.faults(),
    )
}

fn cpu(text: &mut String) -> std::fmt::Result {
    let usage = |who| {
        // SAFETY: an all-zero rusage is a valid value to be overwritten; `who` is one of
        // the two values getrusage takes for a process.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let _ = unsafe { libc::getrusage(who, &mut usage) };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (secs(usage.ru_stime), secs(usage.ru_utime))
    };
    let (sys, user) = usage(libc::RUSAGE_SELF);
    let (sys_children, user_children) = usage(libc::RUSAGE_CHILDREN);
    write!(
        text,
        "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\n\
         used_cpu_sys_children:{sys_children:.6}\r\nused_cpu_user_children:{user_children:.6}\r\n"
    )
}

fn commandstats(ctx: &Context<'_>, text: &mut String) -> std::fmt::Result {
    text.write_str("# Commandstats\r\n")?;
    for (spec, stat) in names::all().iter().zip(ctx.counters.per_command.iter()) {
        let (calls, rejected) = (stat.calls.get(), stat.rejected.get());
        if calls == 0 && rejected == 0 {
            continue;
        }
        let usec = stat.usec.get();
        write!(
            text,
            "cmdstat_{}:calls={calls},usec={usec},usec_per_call={:.2},rejected_calls={rejected},failed_calls={}\r\n",
            spec.name.to_ascii_lowercase(),
            if calls == 0 {
                0.0
            } else {
                usec as f64 / calls as f64
            },
            stat.failed.get(),
        )?;
    }
    Ok(())
}

fn keyspace(ctx: &Context<'_>, text: &mut String) -> std::fmt::Result {
    text.write_str("# Keyspace\r\n")?;
    match ctx.shards.size() {
        // Backends do not count their entries with an expiry: `expires` is not known.
        Ok(keys) if keys > 0 => write!(text, "db0:keys={keys},expires=0,avg_ttl=0\r\n"),
        _ => Ok(()),
    }
}

fn wasmcache(ctx: &Context<'_>, text: &mut String) -> std::fmt::Result {
    let status = ctx.shards.status();
    let limits = ctx.shards.guards()[0].size_limits();
    write!(
        text,
        "# Wasmcache\r\nshards:{}\r\ncomponent:{}\r\nsha256:{}\r\ngeneration:{}\r\nreloads:{}\r\n\
         rejected_reloads:{}\r\nlast_reload_error:{}\r\ncompactions:{}\r\n\
         max_key_bytes:{}\r\nmax_value_bytes:{}\r\n",
        ctx.shards.guards().len(),
        status.component,
        status.sha256.as_deref().unwrap_or("none (native)"),
        status.generation,
        status.reloads,
        status.rejected,
        one_line(&status.last_error.unwrap_or_default()),
        status.compactions,
        limits.max_key_bytes,
        limits.max_value_bytes,
    )?;
    for (index, guard) in ctx.shards.guards().iter().enumerate() {
        match guard.stats() {
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
                )?;
            }
            Err(error) => write!(
                text,
                "shard{index}:error={}\r\n",
                one_line(&error.to_string())
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(args: &[&str]) -> Vec<&'static str> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        wanted(&args)
    }

    #[test]
    fn sections_are_chosen_as_redis_chooses_them() {
        assert_eq!(sections(&[]), DEFAULT);
        assert_eq!(sections(&["default"]), DEFAULT);
        assert!(sections(&["all"]).contains(&"commandstats"));
        assert_eq!(sections(&["everything"]), sections(&["all"]));
        assert_eq!(sections(&["CPU"]), ["cpu"]);
        assert_eq!(sections(&["cpu", "sentinel"]), ["cpu"]);
        assert_eq!(
            sections(&["cpu", "all"]),
            sections(&["all"]),
            "each section once"
        );
        assert_eq!(sections(&["commandSTATS"]), ["commandstats"]);
        assert!(sections(&["nosuch"]).is_empty());
    }
}
