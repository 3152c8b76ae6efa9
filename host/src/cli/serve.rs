//! `wasmcache serve`: the Redis protocol in front of sharded, hot-reloadable backends.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use wasmcache::reload::{BackendGroup, BackendHandle, CompactPolicy, Source, WatchConfig, Watcher};
use wasmcache::server::{ProtocolLimits, Server, ServerConfig, Shards};
use wasmcache::tier::{Tier, TierConfig, WhenDown};
use wasmcache::{Limits, SizeLimits};

use super::backend_arg::{BackendArg, BackendSpec};
use super::outcome::Failure;

/// Serve a backend over the Redis protocol (RESP2), so any Redis client can use it.
///
/// The backend is a component file, an embedded example or `native` (the built-in native
/// reference backend, the baseline to compare a component against). Keys are spread over
/// `--shards` instances of the backend (one per core by default).
/// Strings, expiry, keyspace, connection, transaction and server commands are answered
/// with Redis's replies (the README lists them); other data types, pub/sub and scripting
/// are refused with an error that says why. A backend built for contract 0.1 (no ttl
/// queries, no listing) is refused what it cannot do, the same way. Ctrl-C or SIGTERM
/// stops accepting connections and lets open ones finish what they sent.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    #[command(flatten)]
    backend: BackendSpec,

    /// The same as the COMPONENT argument (kept for scripts written before it).
    #[arg(
        long = "backend",
        value_name = "COMPONENT",
        conflicts_with = "component"
    )]
    backend_flag: Option<String>,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6380")]
    listen: SocketAddr,

    /// Backend instances to spread keys over. Default: the number of cores.
    #[arg(long)]
    shards: Option<usize>,

    /// Threads that serve connections (one per core by default). Guest calls run on
    /// them, inline.
    #[arg(long)]
    threads: Option<usize>,

    /// Reload the backend file whenever it changes (needs a file for --backend).
    #[arg(long)]
    watch: bool,

    /// Accept `WASMCACHE.RELOAD <path>` from clients on the loopback interface.
    #[arg(long)]
    admin: bool,

    /// Compact a shard whose linear memory is at least this many MiB and over 4 times what
    /// its entries need (restart it with its entries handed over, giving memory back).
    /// 0: never.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    compact_min_mib: u64,

    /// Require clients to `AUTH` with this password first (visible to other local users
    /// in the process list: prefer --requirepass-file).
    #[arg(long, value_name = "PASSWORD", conflicts_with = "requirepass_file")]
    requirepass: Option<String>,

    /// Require clients to `AUTH` with the password in this file (its first line).
    #[arg(long, value_name = "PATH")]
    requirepass_file: Option<PathBuf>,

    /// Keep the cache across restarts: restore every entry from this file at start (if it
    /// exists), and save them to it on SAVE, BGSAVE and graceful shutdown (Ctrl-C, SIGTERM).
    /// A damaged or foreign file stops the start with an error; nothing of it is loaded.
    /// (Not with --upstream: the shared tier is the store then.)
    #[arg(long, value_name = "FILE", conflicts_with = "upstream")]
    snapshot: Option<PathBuf>,

    /// Put a shared tier under the backend: a Redis (`redis://host:port`) or, with
    /// --cluster, a node of a Redis Cluster. The backend becomes the near cache; the
    /// upstream is the source of truth (README, "Past one machine").
    #[arg(long, value_name = "URL")]
    upstream: Vec<String>,

    /// The --upstream is a Redis Cluster (other nodes are discovered).
    #[arg(long, requires = "upstream")]
    cluster: bool,

    /// Longest wait for one round trip to the upstream, in milliseconds.
    #[arg(long, default_value_t = 250, value_name = "MS")]
    upstream_timeout_ms: u64,

    /// Longest a near-cache entry lives, in seconds (the staleness bound should an
    /// invalidation be lost).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    near_max_ttl_secs: u64,

    /// What a read the near cache cannot answer gets while the upstream is down: `fail`
    /// (an error) or `serve-near` (a miss). Writes fail either way.
    #[arg(long, default_value = "fail", value_name = "POLICY", value_parser = ["fail", "serve-near"])]
    when_upstream_down: String,

    /// Serve Prometheus metrics over HTTP at this address (any path; e.g.
    /// `127.0.0.1:9121/metrics`): per-shard call latency, hits, misses, faults by kind,
    /// entries, guest memory, restarts, reloads, and the server's commands, connections and
    /// bytes. Off by default (a metered call costs about 12 ns more; see BENCHMARKS.md).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,

    /// How often entries, guest memory and the server's counters are published to the
    /// metrics, in milliseconds (each round calls every shard's `stats`).
    #[arg(long, default_value_t = 1000, value_name = "MS", requires = "metrics")]
    metrics_interval_ms: u64,

    /// Most client connections at once.
    #[arg(long, default_value_t = 10_000)]
    max_clients: usize,

    /// Close connections idle for this many seconds.
    #[arg(long, default_value_t = 300)]
    idle_timeout_secs: u64,

    /// Linear memory limit of each backend instance, in MiB.
    #[arg(long, default_value_t = 128)]
    max_memory_mb: usize,

    /// CPU-time budget of one backend call, in milliseconds (a runaway guest is stopped
    /// after it; a healthy backend growing a large table must fit in it).
    #[arg(long, default_value_t = 1000)]
    call_timeout_ms: u64,

    /// Longest key, in bytes.
    #[arg(long, default_value_t = 1024)]
    max_key_bytes: usize,

    /// Longest value, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_value_bytes: usize,
}

pub(super) fn run(mut args: Args) -> Result<ExitCode, Failure> {
    if let Some(component) = args.backend_flag.take() {
        args.backend.component = Some(component);
    }
    let password = password(&args)?;
    if let Some(addr) = args.metrics {
        install_metrics(addr)?;
    }
    let resolved = args.backend.resolve(limits(&args), false)?;
    let watched = match &resolved.arg {
        BackendArg::File(path) if args.watch => Some(path.clone()),
        _ if args.watch => {
            return Err(Failure::Other(anyhow::anyhow!(
                "--watch needs the backend to be a component file"
            )));
        }
        _ => None,
    };
    let mut builder = BackendHandle::builder().options(args.backend.options.clone());
    if let Some(loader) = resolved.loader {
        builder = builder.loader(loader);
    }
    let shard_count = args
        .shards
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let group = BackendGroup::load(builder, Source::Factory(resolved.factory), shard_count)
        .map_err(|e| Failure::Load(e.to_string()))?;
    let backend_name = group.status().component;
    let shards = match tier(&args)? {
        Some(tier) => Shards::over(group, tier),
        None => Shards::new(group),
    };
    let shards = Arc::new(match args.metrics {
        Some(_) => shards.metered(&backend_name),
        None => shards,
    });
    if let Some(path) = &args.snapshot {
        restore(&shards, path)?;
    }
    let _watcher: Option<Watcher> = match &watched {
        Some(path) => Some(
            shards
                .watch(path, WatchConfig::default())
                .map_err(|e| Failure::Other(e.into()))?,
        ),
        None => None,
    };
    serve(&args, password, shards)?;
    Ok(ExitCode::SUCCESS)
}

/// Installs the Prometheus exporter as the `metrics` recorder, listening on `addr`, with
/// histogram buckets for the latency series and every metric's help text.
fn install_metrics(addr: SocketAddr) -> Result<(), Failure> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let cannot = |e: &dyn std::fmt::Display| {
        Failure::Other(anyhow::anyhow!("cannot serve metrics on {addr}: {e}"))
    };
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            wasmcache::telemetry::LATENCY_BUCKETS,
        )
        .map_err(|e| cannot(&e))?
        .install()
        .map_err(|e| cannot(&e))?;
    wasmcache::telemetry::describe();
    Ok(())
}

/// The shared tier --upstream names, connected.
fn tier(args: &Args) -> Result<Option<Arc<Tier>>, Failure> {
    if args.upstream.is_empty() {
        return Ok(None);
    }
    let config = TierConfig {
        upstream: args.upstream.clone(),
        cluster: args.cluster,
        timeout: Duration::from_millis(args.upstream_timeout_ms),
        near_max_ttl: Duration::from_secs(args.near_max_ttl_secs),
        when_down: if args.when_upstream_down == "serve-near" {
            WhenDown::ServeNear
        } else {
            WhenDown::Fail
        },
        ..TierConfig::new(String::new())
    };
    Tier::connect(config)
        .map(Some)
        .map_err(|e| Failure::Other(anyhow::anyhow!("{e}")))
}

/// Restores the snapshot at `path` if there is one; a damaged or foreign file is an error
/// (nothing of it is loaded).
fn restore(shards: &Shards, path: &std::path::Path) -> Result<(), Failure> {
    if !path.exists() {
        eprintln!(
            "wasmcache: no snapshot at {} yet: starting empty; it is written on SAVE, BGSAVE and shutdown",
            path.display()
        );
        return Ok(());
    }
    let report = shards.restore_snapshot(path).map_err(|e| {
        Failure::Other(anyhow::anyhow!(
            "{e}\n(move the file away to start with an empty cache)"
        ))
    })?;
    eprintln!(
        "wasmcache: restored {} entries from {} in {} ms ({} expired while down{})",
        report.restored,
        path.display(),
        report.elapsed.as_millis(),
        report.expired,
        match &report.first_refusal {
            Some(why) => format!(", {} refused by the backend: {why}", report.refused),
            None => String::new(),
        }
    );
    Ok(())
}

/// The password from --requirepass or the first line of --requirepass-file.
fn password(args: &Args) -> Result<Option<Vec<u8>>, Failure> {
    let password = match (&args.requirepass, &args.requirepass_file) {
        (Some(password), _) => password.clone(),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Other(anyhow::anyhow!(
                    "cannot read the password file {}: {e}",
                    path.display()
                ))
            })?;
            text.lines().next().unwrap_or_default().to_string()
        }
        (None, None) => return Ok(None),
    };
    if password.is_empty() {
        return Err(Failure::Other(anyhow::anyhow!(
            "the password is empty: give one, or leave out --requirepass"
        )));
    }
    Ok(Some(password.into_bytes()))
}

/// The sandbox limits the flags ask for.
fn limits(args: &Args) -> Limits {
    Limits {
        sizes: SizeLimits {
            max_key_bytes: args.max_key_bytes,
            max_value_bytes: args.max_value_bytes,
        },
        max_memory_bytes: args.max_memory_mb << 20,
        call_timeout: Duration::from_millis(args.call_timeout_ms),
        ..Limits::default()
    }
}

/// The server's configuration: request bounds wide enough for the largest value.
fn config(args: &Args) -> ServerConfig {
    let mut protocol = ProtocolLimits::default();
    protocol.max_bulk_bytes = protocol.max_bulk_bytes.max(args.max_value_bytes + 1);
    protocol.max_request_bytes = protocol
        .max_request_bytes
        .max(args.max_value_bytes.saturating_mul(2) + (1 << 20));
    ServerConfig {
        listen: args.listen,
        max_clients: args.max_clients,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        protocol,
        admin: args.admin,
        snapshot: args.snapshot.clone(),
        metrics: args
            .metrics
            .map(|_| Duration::from_millis(args.metrics_interval_ms.max(10))),
        compact: (args.compact_min_mib > 0).then(|| CompactPolicy {
            min_held_bytes: args.compact_min_mib.saturating_mul(1 << 20),
            ..CompactPolicy::default()
        }),
        ..ServerConfig::default()
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
fn serve(args: &Args, password: Option<Vec<u8>>, shards: Arc<Shards>) -> Result<(), Failure> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.threads {
        runtime.worker_threads(threads.max(1));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(e.into()))?;
    runtime.block_on(async move {
        let config = ServerConfig {
            password,
            ..config(args)
        };
        let server = Server::bind(config, shards.clone()).await.map_err(|e| {
            Failure::Other(anyhow::anyhow!("cannot listen on {}: {e}", args.listen))
        })?;
        eprintln!(
            "wasmcache {} serving {} ({} shards) on {}{}",
            env!("CARGO_PKG_VERSION"),
            shards.status().component,
            shards.guards().len(),
            server.local_addr().map_err(|e| Failure::Other(e.into()))?,
            if args.watch {
                ", reloading it when it changes"
            } else {
                ""
            }
        );
        server
            .run(shutdown_signal())
            .await
            .map_err(|e| Failure::Other(e.into()))
    })
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
