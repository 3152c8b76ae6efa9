//! What every connection of one server shares: the shards, settings, counters, the
//! connection registry and the transaction gate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};

use tokio::sync::Semaphore;

use super::clients::Clients;
use super::commands::{Context, Counters, Gate, ScanCursors, ServerFacts};
use super::config::ServerConfig;
use super::housekeeping::Housekeeping;
use super::persistence::Persistence;
use super::shards::Shards;
use super::telemetry::ServerMetrics;

/// One server's shared state.
pub(super) struct ServerState {
    pub(super) shards: Arc<Shards>,
    pub(super) config: ServerConfig,
    pub(super) counters: Counters,
    pub(super) scans: ScanCursors,
    pub(super) clients: AtomicUsize,
    /// Every open connection, for CLIENT LIST.
    pub(super) registry: Arc<Clients>,
    /// What `CONFIG GET` reports.
    pub(super) facts: ServerFacts,
    /// Every command holds it shared; EXEC holds it exclusively, so a transaction's
    /// commands run with no other client's in between.
    pub(super) gate: std::sync::RwLock<()>,
    /// The last connection's id.
    pub(super) last_client_id: AtomicU64,
    pub(super) housekeeping: Arc<Housekeeping>,
    pub(super) permits: Arc<Semaphore>,
    /// Saving to the snapshot file, when there is one.
    pub(super) persistence: Option<Arc<Persistence>>,
    /// Publishing to the `metrics` facade.
    pub(super) metrics: ServerMetrics,
}

impl ServerState {
    /// The state of a server with `config` and `shards`, listening on `bound`.
    pub(super) fn new(config: ServerConfig, shards: Arc<Shards>, bound: SocketAddr) -> Self {
        let facts = ServerFacts {
            bind: bound.ip().to_string(),
            port: bound.port(),
            max_clients: config.max_clients,
            idle_timeout_secs: config.idle_timeout.as_secs(),
            max_bulk_bytes: config.protocol.max_bulk_bytes,
        };
        let persistence = config
            .snapshot
            .clone()
            .map(|path| Arc::new(Persistence::new(path, shards.clone())));
        ServerState {
            persistence,
            housekeeping: Arc::new(Housekeeping::new(shards.clone(), config.compact)),
            permits: Arc::new(Semaphore::new(config.max_clients)),
            shards,
            config,
            counters: Counters::default(),
            scans: ScanCursors::default(),
            clients: AtomicUsize::new(0),
            registry: Arc::default(),
            facts,
            gate: std::sync::RwLock::new(()),
            last_client_id: AtomicU64::new(0),
            metrics: ServerMetrics::default(),
        }
    }

    /// What a command run by a connection (an admin one or not) can reach.
    pub(super) fn context(&self, admin: bool) -> Context<'_> {
        Context {
            shards: &self.shards,
            scans: &self.scans,
            counters: &self.counters,
            admin,
            connected_clients: self.clients.load(std::sync::atomic::Ordering::Relaxed),
            clients: &self.registry,
            password: self.config.password.as_deref(),
            facts: &self.facts,
            persistence: self.persistence.as_ref(),
        }
    }

    /// Runs `command` holding the transaction gate as it asks.
    pub(super) fn gated<T>(&self, gate: Gate, command: impl FnOnce() -> T) -> T {
        use std::sync::PoisonError;
        match gate {
            Gate::Exclusive => {
                let _all = self.gate.write().unwrap_or_else(PoisonError::into_inner);
                command()
            }
            Gate::Shared => {
                let _one = self.gate.read().unwrap_or_else(PoisonError::into_inner);
                command()
            }
            Gate::Free => command(),
        }
    }
}
