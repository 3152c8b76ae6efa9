//! One client's connection: read what it sent, answer every complete request in the
//! buffer (so a pipeline costs one read and one write), write the replies, and give the
//! buffers back when it goes quiet.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::clients::Client;
use super::commands::{self, Context, Gate, Next, Pipeline, Session};
use super::resp::{Frame, Out, Reply, parse_frame};
use super::state::ServerState;

/// Serves one client until it leaves, idles out, breaks the protocol or the server stops.
pub(super) async fn connection(
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
        args: Vec::new(),
        pipeline: Pipeline::default(),
        wait_for: 0,
    };
    let idle_timeout = shared.config.idle_timeout;
    let quiet = RELEASE_BUFFERS_AFTER.min(idle_timeout);
    // Made once and polled in place: a read costs no timer or waiter registration of its
    // own. The quiet timer, armed `quiet` after some earlier request, counts only when no
    // request came since (`Registry::idle`); the stop signal is polled only while no
    // data is waiting, so a busy connection looks at the flag after each write instead.
    let quiet_timer = tokio::time::sleep(quiet);
    tokio::pin!(quiet_timer);
    let stop_flag = stop.clone();
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopped);
    loop {
        conn.make_room();
        let read = tokio::select! {
            biased;
            read = stream.read_buf(&mut conn.input) => Some(read),
            () = &mut quiet_timer => None,
            () = &mut stopped => break,
        };
        let n = match read {
            Some(Ok(0) | Err(_)) => break,
            Some(Ok(n)) => n,
            None => {
                let idle = shared.registry.idle(&conn.session.client);
                if idle < quiet {
                    quiet_timer
                        .as_mut()
                        .reset(tokio::time::Instant::now() + (quiet - idle));
                    continue;
                }
                if quiet >= idle_timeout {
                    let _ = stream.write_all(b"-ERR idle timeout\r\n").await;
                    break;
                }
                // Quiet for a while: give the buffers back and wait without holding any.
                conn.release_buffers();
                let ready = tokio::select! {
                    ready = tokio::time::timeout(idle_timeout.saturating_sub(idle), stream.readable()) => ready,
                    () = &mut stopped => break,
                };
                match ready {
                    Ok(Ok(())) => {
                        quiet_timer
                            .as_mut()
                            .reset(tokio::time::Instant::now() + quiet);
                        continue;
                    }
                    Ok(Err(_)) => break,
                    Err(_idle) => {
                        let _ = stream.write_all(b"-ERR idle timeout\r\n").await;
                        break;
                    }
                }
            }
        };
        debug_assert!(n > 0);
        shared.counters.bytes_in.add(n as u64);
        shared.registry.touch(&conn.session.client);
        let Some(next) = conn.answer(&shared) else {
            break;
        };
        if stream.write_all(&conn.output.buf).await.is_err() {
            break;
        }
        shared.counters.bytes_out.add(conn.output.buf.len() as u64);
        conn.after_write();
        if next == Next::Close {
            linger(&mut stream).await;
            break;
        }
        if stop_flag.has_changed().unwrap_or(true) {
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
    /// Where the current request's arguments lie in `input` (reused between requests).
    args: Vec<Range<usize>>,
    /// The hot key commands of the current read, waiting to run as batches.
    pipeline: Pipeline,
    /// The unfinished request at the front of `input` is not parsed again before `input`
    /// holds this many bytes.
    wait_for: usize,
}

/// What one read asks for: room for this much more input.
const READ_CHUNK: usize = 16 * 1024;
/// A connection's buffers above this size are given back once emptied.
const KEEP_BUFFER_BYTES: usize = 4 * READ_CHUNK;
/// Most keys queued in a pipeline before it runs (and the output limit is checked).
const PIPELINE_KEYS: usize = 1024;
/// A connection quiet this long gives its buffers back until its next request.
const RELEASE_BUFFERS_AFTER: Duration = Duration::from_secs(1);

impl Connection {
    /// Room for one more read: at least a quarter of [`READ_CHUNK`] free.
    fn make_room(&mut self) {
        if self.input.capacity() - self.input.len() < READ_CHUNK / 4 {
            self.input.reserve(READ_CHUNK);
        }
        // A request known to need more: room for all of it at once.
        if self.wait_for > self.input.capacity() {
            self.input.reserve(self.wait_for - self.input.len());
        }
    }

    /// After the replies are written: the output is emptied, and given back when a large
    /// reply grew it.
    fn after_write(&mut self) {
        self.output.buf.clear();
        if self.output.buf.capacity() > KEEP_BUFFER_BYTES {
            self.output.buf = Vec::new();
        }
        // Not while a large request is still arriving: it would be copied on every read.
        if self.input.capacity() > KEEP_BUFFER_BYTES && self.wait_for == 0 {
            self.input.shrink_to(READ_CHUNK.max(self.input.len()));
        }
    }

    /// Gives both buffers back while the connection waits (an unfinished request's bytes
    /// are kept).
    fn release_buffers(&mut self) {
        self.output.buf = Vec::new();
        self.args = Vec::new();
        self.pipeline = Pipeline::default();
        if self.input.is_empty() {
            self.input = Vec::new();
        } else {
            self.input.shrink_to_fit();
        }
    }

    /// Answers every complete request in the input, appending replies to the output: the
    /// hot key commands through a [`Pipeline`] (one backend call per shard for a run of
    /// them), the rest one by one. `None`: close at once (the output is over its limit).
    fn answer(&mut self, shared: &ServerState) -> Option<Next> {
        if self.input.len() < self.wait_for {
            return Some(Next::Continue);
        }
        self.wait_for = 0;
        let ctx = shared.context(self.admin);
        let limits = &shared.config.protocol;
        let Connection {
            input,
            output,
            session,
            args,
            pipeline,
            ..
        } = self;
        let input: &[u8] = input;
        let mut used = 0;
        let mut next = Next::Continue;
        let mut wait_for = 0;
        while next == Next::Continue {
            let frame = match parse_frame(&input[used..], limits, args) {
                Ok(frame) => frame,
                Err(error) => {
                    run_pipeline(shared, &ctx, pipeline, &session.client, input, output);
                    output.error(&format!("ERR Protocol error: {error}"));
                    shared.counters.protocol_errors.bump();
                    next = Next::Close;
                    break;
                }
            };
            let owned = match frame {
                Frame::Incomplete(_) if input.len() - used > limits.max_request_bytes => {
                    run_pipeline(shared, &ctx, pipeline, &session.client, input, output);
                    output.error("ERR Protocol error: request too large");
                    shared.counters.protocol_errors.bump();
                    next = Next::Close;
                    break;
                }
                Frame::Incomplete(needed) => {
                    wait_for = needed;
                    break;
                }
                Frame::Array { used: n } => {
                    let start = used;
                    used += n;
                    if args.is_empty() {
                        continue;
                    }
                    // Where the arguments lie in the whole input, not this request.
                    for arg in args.iter_mut() {
                        *arg = start + arg.start..start + arg.end;
                    }
                    if pipeline.offer(&ctx, session, input, args) {
                        // Bounded batches, so the output limit is checked as replies grow.
                        if pipeline.keys() >= PIPELINE_KEYS {
                            run_pipeline(shared, &ctx, pipeline, &session.client, input, output);
                            if over_limit(shared, &self.peer, output) {
                                return None;
                            }
                        }
                        continue;
                    }
                    args.iter().map(|arg| input[arg.clone()].to_vec()).collect()
                }
                Frame::Inline { used: n, words } => {
                    used += n;
                    if words.is_empty() {
                        continue;
                    }
                    words
                }
            };
            run_pipeline(shared, &ctx, pipeline, &session.client, input, output);
            next = shared.gated(commands::gate(session, &owned), || {
                commands::execute(&ctx, session, &owned, output)
            });
            if over_limit(shared, &self.peer, output) {
                return None;
            }
        }
        run_pipeline(shared, &ctx, pipeline, &session.client, input, output);
        if over_limit(shared, &self.peer, output) {
            return None;
        }
        self.input.drain(..used);
        self.wait_for = wait_for;
        Some(next)
    }
}

/// Whether the replies waiting in `output` exceed the server's limit (a client that
/// pipelines without reading); logged, since the connection is then closed.
fn over_limit(shared: &ServerState, peer: &SocketAddr, output: &Out) -> bool {
    let over = output.buf.len() > shared.config.max_output_bytes;
    if over {
        tracing::warn!(target: "wasmcache::server", peer = %peer, "closing a connection over its output buffer limit");
    }
    over
}

/// Runs what `pipeline` holds, under the transaction gate (shared).
fn run_pipeline(
    shared: &ServerState,
    ctx: &Context<'_>,
    pipeline: &mut Pipeline,
    client: &Client,
    input: &[u8],
    out: &mut Out,
) {
    if !pipeline.is_empty() {
        shared.gated(Gate::Shared, || pipeline.run(ctx, client, input, out));
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
