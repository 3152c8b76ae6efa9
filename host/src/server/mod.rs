//! `wasmcache serve`: the Redis protocol (RESP2, RESP3 after `HELLO 3`) in front of
//! sharded, hot-reloadable backends.
//!
//! Each connection is a Tokio task that reads requests, answers every complete request in
//! its buffer (so pipelined requests cost one read and one write), and writes the replies.
//! Requests are parsed in place; the hot key commands of one read run as one batched call
//! per shard (`commands::Pipeline`).
//! A connection quiet for a second gives its buffers back; `housekeeping` returns the
//! memory closed connections freed to the operating system and compacts shards whose
//! memory is sparse, so neither idle connections nor deleted entries keep memory.
//! Backend calls run inline on the connection's task: they are short (a hop to a shard
//! thread costs more than the call, `benches/hop.rs`), and a guest's are bounded by the
//! sandbox's per-call deadline. With a snapshot file the server saves on `SAVE`, `BGSAVE`
//! and shutdown (`persistence`). `WASMCACHE.RELOAD`, which compiles, runs
//! in `block_in_place` so the worker's other connections move to another worker. Keys are
//! routed to [`Shards`] by hash; each shard is a handle of a
//! [`BackendGroup`](crate::reload::BackendGroup) behind a [`Guard`](crate::Guard), so the
//! server has no fault policy of its own and serves native and wasm backends alike. With
//! [`ServerConfig::metrics`] set, `telemetry` publishes the server's and the shards'
//! counters through the `metrics` facade.

mod clients;
mod commands;
mod config;
mod connection;
mod housekeeping;
mod persistence;
mod resp;
mod shards;
mod state;
mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::ServerConfig;
pub use resp::ProtocolLimits;
pub use shards::Shards;

use self::state::ServerState;

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    shared: Arc<ServerState>,
}

impl Server {
    /// Binds the listening socket.
    pub async fn bind(config: ServerConfig, shards: Arc<Shards>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let bound = listener.local_addr()?;
        Ok(Server {
            listener,
            shared: Arc::new(ServerState::new(config, shards, bound)),
        })
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes; then stops accepting, lets every connection
    /// finish the requests it has read, waits until they are closed (or 5 s), and, with a
    /// [snapshot file](ServerConfig::snapshot), saves every shard to it (an error if that
    /// fails).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        let mut housekeeping = tokio::time::interval(housekeeping::TICK);
        let publishing = self.shared.config.metrics;
        let mut publish = tokio::time::interval(publishing.unwrap_or(Duration::from_secs(3600)));
        publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = housekeeping.tick() => {
                    self.shared.housekeeping.tick();
                    self.shared.counters.sample();
                }
                _ = publish.tick(), if publishing.is_some() => {
                    let state = self.shared.clone();
                    tokio::task::spawn_blocking(move || {
                        let connected = state.clients.load(std::sync::atomic::Ordering::Relaxed);
                        state.metrics.round(&state.shards, &state.counters, connected);
                    });
                }
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            tracing::warn!(target: "wasmcache::server", "accept failed: {error}");
                            continue;
                        }
                    };
                    let shared = self.shared.clone();
                    let stop = stop_rx.clone();
                    connections.spawn(async move { connection::connection(shared, stream, peer, stop).await });
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        tracing::info!(target: "wasmcache::server", open = connections.len(), "shutting down");
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(Duration::from_secs(5), async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            connections.abort_all();
        }
        match self.shared.persistence.clone() {
            Some(persistence) => {
                tokio::task::spawn_blocking(move || persistence.save_at_shutdown())
                    .await
                    .map_err(std::io::Error::other)?
                    .map(|_| ())
                    .map_err(std::io::Error::other)
            }
            None => Ok(()),
        }
    }
}
