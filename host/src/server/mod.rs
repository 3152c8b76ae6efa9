//! `wasmcache serve`: the Redis protocol (RESP2) in front of sharded, hot-reloadable
//! backends.
//!
//! Each connection is a Tokio task that reads requests, answers every complete request in
//! its buffer (so pipelined requests cost one read and one write), and writes the replies.
//! A connection quiet for a second gives its buffers back; `housekeeping` returns the
//! memory closed connections freed to the operating system and compacts shards whose
//! memory is sparse, so neither idle connections nor deleted entries keep memory.
//! Backend calls run inline on the connection's task: they are short, and a guest's are
//! bounded by the sandbox's per-call deadline. `WASMCACHE.RELOAD`, which compiles, runs
//! in `block_in_place` so the worker's other connections move to another worker. Keys are
//! routed to [`Shards`] by hash; each shard is a handle of a
//! [`BackendGroup`](crate::reload::BackendGroup) behind a [`Guard`](crate::Guard), so the
//! server has no fault policy of its own and serves native and wasm backends alike.

mod clients;
mod commands;
mod housekeeping;
mod resp;
mod shards;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

pub use resp::ProtocolLimits;
pub use shards::Shards;

use self::clients::Clients;
use self::commands::{Context, Counters, Gate, Next, ScanCursors, ServerFacts, Session};
use self::housekeeping::Housekeeping;
use self::resp::{Out, Reply};
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
        }
    }
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    shared: Arc<ServerState>,
}

struct ServerState {
    shards: Arc<Shards>,
    config: ServerConfig,
    counters: Counters,
    scans: ScanCursors,
    clients: AtomicUsize,
    /// Every open connection, for CLIENT LIST.
    registry: Arc<Clients>,
    /// What `CONFIG GET` reports.
    facts: ServerFacts,
    /// Every command holds it shared; EXEC holds it exclusively, so a transaction's
    /// commands run with no other client's in between.
    gate: std::sync::RwLock<()>,
    /// The last connection's id.
    last_client_id: std::sync::atomic::AtomicU64,
    housekeeping: Arc<Housekeeping>,
    permits: Arc<Semaphore>,
}

impl Server {
    /// Binds the listening socket.
    pub async fn bind(config: ServerConfig, shards: Arc<Shards>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let permits = Arc::new(Semaphore::new(config.max_clients));
        let bound = listener.local_addr()?;
        let facts = ServerFacts {
            bind: bound.ip().to_string(),
            port: bound.port(),
            max_clients: config.max_clients,
            idle_timeout_secs: config.idle_timeout.as_secs(),
            max_bulk_bytes: config.protocol.max_bulk_bytes,
        };
        let housekeeping = Arc::new(Housekeeping::new(shards.clone(), config.compact));
        Ok(Server {
            listener,
            shared: Arc::new(ServerState {
                shards,
                config,
                counters: Counters::default(),
                scans: ScanCursors::default(),
                clients: AtomicUsize::new(0),
                registry: Arc::default(),
                facts,
                gate: std::sync::RwLock::new(()),
                last_client_id: std::sync::atomic::AtomicU64::new(0),
                housekeeping,
                permits,
            }),
        })
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes; then stops accepting, lets every connection
    /// finish the requests it has read, and returns once they are closed (or after 5 s).
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut connections = tokio::task::JoinSet::new();
        let mut housekeeping = tokio::time::interval(housekeeping::TICK);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = housekeeping.tick() => self.shared.housekeeping.tick(),
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
                    connections.spawn(async move { connection(shared, stream, peer, stop).await });
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
        Ok(())
    }
}

impl ServerState {
    /// Runs `command` holding the transaction gate as it asks.
    fn gated<T>(&self, gate: Gate, command: impl FnOnce() -> T) -> T {
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

async fn connection(
    shared: Arc<ServerState>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    shared.counters.connections.bump();
    let Ok(_permit) = shared.permits.clone().try_acquire_owned() else {
        shared.counters.rejected_clients.bump();
        let _ = stream
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    };
    let _ = stream.set_nodelay(true);
    shared.clients.fetch_add(1, Ordering::Relaxed);
    let id = shared.last_client_id.fetch_add(1, Ordering::Relaxed) + 1;
    let local = stream.local_addr().unwrap_or(shared.config.listen);
    let registered = shared.registry.register(id, peer, local);
    let mut conn = Connection {
        admin: shared.config.admin && peer.ip().is_loopback(),
        peer,
        session: Session {
            client: registered.client.clone(),
            authenticated: shared.config.password.is_none(),
            multi: None,
            watched: Vec::new(),
        },
        input: Vec::new(),
        output: Out::default(),
    };
    let idle_timeout = shared.config.idle_timeout;
    let quiet = RELEASE_BUFFERS_AFTER.min(idle_timeout);
    loop {
        conn.make_room();
        let read = tokio::select! {
            read = tokio::time::timeout(quiet, stream.read_buf(&mut conn.input)) => read,
            _ = stop.changed() => break,
        };
        let n = match read {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => n,
            Err(_quiet) if quiet < idle_timeout => {
                // Quiet for a while: give the buffers back and wait without holding any.
                conn.release_buffers();
                let ready = tokio::select! {
                    ready = tokio::time::timeout(idle_timeout - quiet, stream.readable()) => ready,
                    _ = stop.changed() => break,
                };
                match ready {
                    Ok(Ok(())) => continue,
                    Ok(Err(_)) => break,
                    Err(_idle) => {
                        let _ = stream.write_all(b"-ERR idle timeout\r\n").await;
                        break;
                    }
                }
            }
            Err(_idle) => {
                let _ = stream.write_all(b"-ERR idle timeout\r\n").await;
                break;
            }
        };
        debug_assert!(n > 0);
        shared.registry.touch(&conn.session.client);
        let Some(next) = conn.answer(&shared) else {
            break;
        };
        if stream.write_all(&conn.output.buf).await.is_err() {
            break;
        }
        conn.after_write();
        if next == Next::Close {
            linger(&mut stream).await;
            break;
        }
        if *stop.borrow() {
            break;
        }
    }
    drop(conn);
    drop(registered);
    shared.housekeeping.connection_closed();
    shared.clients.fetch_sub(1, Ordering::Relaxed);
}

/// One connection's state between reads.
struct Connection {
    admin: bool,
    peer: SocketAddr,
    session: Session,
    input: Vec<u8>,
    output: Out,
}

/// What one read asks for: room for this much more input.
const READ_CHUNK: usize = 16 * 1024;
/// A connection's buffers above this size are given back once emptied.
const KEEP_BUFFER_BYTES: usize = 4 * READ_CHUNK;
/// A connection quiet this long gives its buffers back until its next request.
const RELEASE_BUFFERS_AFTER: Duration = Duration::from_secs(1);

impl Connection {
    /// Room for one more read: at least a quarter of [`READ_CHUNK`] free.
    fn make_room(&mut self) {
        if self.input.capacity() - self.input.len() < READ_CHUNK / 4 {
            self.input.reserve(READ_CHUNK);
        }
    }

    /// After the replies are written: the output is emptied, and given back when a large
    /// reply grew it.
    fn after_write(&mut self) {
        self.output.buf.clear();
        if self.output.buf.capacity() > KEEP_BUFFER_BYTES {
            self.output.buf = Vec::new();
        }
        if self.input.capacity() > KEEP_BUFFER_BYTES {
            self.input.shrink_to(READ_CHUNK.max(self.input.len()));
        }
    }

    /// Gives both buffers back while the connection waits (an unfinished request's bytes
    /// are kept).
    fn release_buffers(&mut self) {
        self.output.buf = Vec::new();
        if self.input.is_empty() {
            self.input = Vec::new();
        } else {
            self.input.shrink_to_fit();
        }
    }

    /// Answers every complete request in the input, appending replies to the output.
    /// `None`: close at once (the output is over its limit).
    fn answer(&mut self, shared: &ServerState) -> Option<Next> {
        let mut used = 0;
        let mut next = Next::Continue;
        while next == Next::Continue {
            match resp::parse(&self.input[used..], &shared.config.protocol) {
                Ok(Some((args, len))) => {
                    used += len;
                    if args.is_empty() {
                        continue;
                    }
                    let ctx = Context {
                        shards: &shared.shards,
                        scans: &shared.scans,
                        counters: &shared.counters,
                        admin: self.admin,
                        connected_clients: shared.clients.load(Ordering::Relaxed),
                        clients: &shared.registry,
                        password: shared.config.password.as_deref(),
                        facts: &shared.facts,
                    };
                    next = shared.gated(commands::gate(&self.session, &args), || {
                        commands::execute(&ctx, &mut self.session, &args, &mut self.output)
                    });
                    if self.output.buf.len() > shared.config.max_output_bytes {
                        tracing::warn!(target: "wasmcache::server", peer = %self.peer, "closing a connection over its output buffer limit");
                        return None;
                    }
                }
                Ok(None) if self.input.len() - used > shared.config.protocol.max_request_bytes => {
                    self.output.error("ERR Protocol error: request too large");
                    next = Next::Close;
                }
                Ok(None) => break,
                Err(error) => {
                    self.output.error(&format!("ERR Protocol error: {error}"));
                    next = Next::Close;
                }
            }
        }
        self.input.drain(..used);
        Some(next)
    }
}

/// Closes our side, then reads and drops what the client still sends (for a moment), so
/// the reply just written is not destroyed by a reset for unread input.
async fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 16 * 1024];
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        let mut drained = 0usize;
        while drained < (16 << 20) {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}
