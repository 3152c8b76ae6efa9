//! How the server listens and what it allows.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::resp::ProtocolLimits;
use crate::reload::CompactPolicy;

/// How the server listens and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Where to listen. Default: `127.0.0.1:6380`.
    pub listen: SocketAddr,
    /// Most connections at once; more are answered with an error and closed. Default:
    /// 10 000.
    pub max_clients: usize,
    /// A connection idle this long is closed. Default: 5 minutes.
    pub idle_timeout: Duration,
    /// A connection whose pending replies exceed this is closed (a client that pipelines
    /// without reading). Default: 64 MiB.
    pub max_output_bytes: usize,
    /// Bounds on one request.
    pub protocol: ProtocolLimits,
    /// Accept `WASMCACHE.RELOAD <path>` from loopback clients. Default: off.
    pub admin: bool,
    /// The password clients must give with `AUTH` (or `HELLO ... AUTH`) before any other
    /// command; `None`: none needed. Default: `None`. Compared in constant time.
    pub password: Option<Vec<u8>>,
    /// When to compact a shard whose memory is sparse (a wasm guest's linear memory never
    /// shrinks; a compaction restarts it with its entries handed over). `None`: never.
    /// Default: [`CompactPolicy::default`].
    pub compact: Option<CompactPolicy>,
    /// The snapshot file `SAVE` and `BGSAVE` write, and the server writes when it shuts
    /// down gracefully. `None`: those commands answer an error. Default: `None`.
    /// (Restoring at start is the caller's: [`Shards::restore_snapshot`](super::Shards::restore_snapshot).)
    pub snapshot: Option<PathBuf>,
    /// How often the server publishes its counters and every shard's gauges through the
    /// `metrics` facade ([`telemetry`](crate::telemetry)); `None`: never. The per-call
    /// series come from [metered](super::Shards::metered) shards. Default: `None`.
    pub metrics: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 6380)),
            max_clients: 10_000,
            idle_timeout: Duration::from_secs(300),
            max_output_bytes: 64 << 20,
            protocol: ProtocolLimits::default(),
            admin: false,
            password: None,
            compact: Some(CompactPolicy::default()),
            snapshot: None,
            metrics: None,
        }
    }
}
