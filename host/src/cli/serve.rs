//! `wasmcache serve`: the Redis protocol in front of sharded, hot-reloadable backends.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use wasmcache::reload::{Source as ReloadSource, WatchConfig};
use wasmcache::server::{Server, ServerConfig, Shards};
use wasmcache::{Limits, SizeLimits, SystemClock};

use super::Failure;
use super::check::parse_option;
use super::source::{self, Source};

/// Serve a backend over the Redis protocol (RESP2), so any Redis client can use it.
///
/// Keys are spread over `--shards` instances of the backend (one per core by default).
/// GET, SET (EX, PX, NX, XX, GET), DEL, EXISTS, MGET, MSET, FLUSHDB, FLUSHALL, DBSIZE,
/// INFO, PING, ECHO, SELECT 0, CLIENT SETNAME/GETNAME, COMMAND and QUIT are answered;
/// what the backend contract cannot express (TTL queries, KEYS, other data types) is
/// refused with an error that says why. Ctrl-C or SIGTERM stops accepting connections and
/// lets open ones finish what they sent.
#[derive(Debug, clap::Args)]
pub(super) struct Args {
    /// The backend: a component file, `builtin:memory` (the default) or `builtin:lru`.
    #[arg(long, value_name = "COMPONENT")]
    backend: Option<String>,

    /// Pass `KEY=VALUE` to the backend's `init` (repeat for several options).
    #[arg(short = 'o', long = "option", value_name = "KEY=VALUE", value_parser = parse_option)]
    options: Vec<(String, String)>,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6380")]
    listen: SocketAddr,

    /// Backend instances to spread keys over. Default: the number of cores.
    #[arg(long)]
    shards: Option<usize>,

    /// Reload the backend file whenever it changes (needs a file for --backend).
    #[arg(long)]
    watch: bool,

    /// Accept `WASMCACHE.RELOAD <path>` from clients on the loopback interface.
    #[arg(long)]
    admin: bool,

    /// Most client connections at once.
    #[arg(long, default_value_t = 10_000)]
    max_clients: usize,

    /// Close connections idle for this many seconds.
    #[arg(long, default_value_t = 300)]
    idle_timeout_secs: u64,

    /// Linear memory limit of each backend instance, in MiB.
    #[arg(long, default_value_t = 128)]
    max_memory_mb: usize,

    /// Deadline of one backend call, in milliseconds.
    #[arg(long, default_value_t = 100)]
    call_timeout_ms: u64,

    /// Longest key, in bytes.
    #[arg(long, default_value_t = 1024)]
    max_key_bytes: usize,

    /// Longest value, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_value_bytes: usize,

    #[command(flatten)]
    engine: source::EngineArgs,
}

pub(super) fn run(args: Args) -> Result<ExitCode, Failure> {
    let source = Source::parse(args.backend.as_deref())?;
    let (reload_source, watched) = match &source {
        Source::File(path) => (ReloadSource::Path(path.clone()), Some(path.clone())),
        Source::Builtin(name, bytes) => (ReloadSource::bytes(*name, *bytes), None),
        Source::Native => {
            return Err(Failure::Load(
                "`serve` needs a component; `native` is not one".into(),
            ));
        }
    };
    if args.watch && watched.is_none() {
        return Err(Failure::Other(anyhow::anyhow!(
            "--watch needs --backend to name a component file"
        )));
    }
    let limits = Limits {
        sizes: SizeLimits {
            max_key_bytes: args.max_key_bytes,
            max_value_bytes: args.max_value_bytes,
        },
        max_memory_bytes: args.max_memory_mb << 20,
        call_timeout: Duration::from_millis(args.call_timeout_ms),
        ..Limits::default()
    };
    let shard_count = args
        .shards
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let engine = args.engine.build()?;
    let shards = Shards::load(
        &engine,
        reload_source,
        args.options,
        SystemClock::shared(),
        limits,
        shard_count,
    )
    .map_err(|e| Failure::Load(e.to_string()))?;
    let shards = Arc::new(shards);
    let _watcher = match &watched {
        Some(path) if args.watch => Some(
            shards
                .watch(path, WatchConfig::default())
                .map_err(|e| Failure::Other(e.into()))?,
        ),
        _ => None,
    };
    let mut protocol = wasmcache::server::ProtocolLimits::default();
    protocol.max_bulk_bytes = protocol.max_bulk_bytes.max(args.max_value_bytes + 1);
    protocol.max_request_bytes = protocol
        .max_request_bytes
        .max(args.max_value_bytes.saturating_mul(2) + (1 << 20));
    let config = ServerConfig {
        listen: args.listen,
        max_clients: args.max_clients,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        protocol,
        admin: args.admin,
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(e.into()))?;
    runtime.block_on(async move {
        let server = Server::bind(config, shards.clone()).await.map_err(|e| {
            Failure::Other(anyhow::anyhow!("cannot listen on {}: {e}", args.listen))
        })?;
        let status = shards.handles()[0].status();
        eprintln!(
            "wasmcache {} serving {} ({} shards) on {}{}",
            env!("CARGO_PKG_VERSION"),
            status.component,
            shards.handles().len(),
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
    })?;
    Ok(ExitCode::SUCCESS)
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
