//! The shared tier itself: a standalone Redis or a Redis Cluster, reached through the
//! `redis` crate's async connections on a small runtime of the tier's own, and offered as
//! a [`Backend`] whose every call is one bounded round trip.
//!
//! Callers are synchronous (everything above [`Backend`] is): a call spawns its request
//! on the tier's runtime and waits for the answer at most [`TierConfig::timeout`]. Keys
//! and values stay bytes end to end.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ConnectionInfo, IntoConnectionInfo, ProtocolVersion};

use super::config::TierConfig;
use crate::backend::{Backend, BackendStats, Expiry, SizeLimits};
use crate::error::{ConfigError, Error, Result};

/// A connection to the shared tier, cheap to clone.
#[derive(Clone)]
enum Connection {
    Standalone(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Connection {
    async fn query<T: redis::FromRedisValue>(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Connection::Standalone(c) => cmd.query_async(c).await,
            Connection::Cluster(c) => cmd.query_async(c).await,
        }
    }

    async fn pipe<T: redis::FromRedisValue>(
        &mut self,
        pipe: &redis::Pipeline,
    ) -> redis::RedisResult<T> {
        match self {
            Connection::Standalone(c) => pipe.query_async(c).await,
            Connection::Cluster(c) => pipe.query_async(c).await,
        }
    }
}

/// The shared tier: connections, the runtime they run on, and the bound on a round trip.
pub(super) struct Far {
    runtime: Option<tokio::runtime::Runtime>,
    connection: Connection,
    timeout: Duration,
    /// The nodes it was given, for discovering the masters to subscribe to.
    seeds: Vec<ConnectionInfo>,
    cluster: bool,
}

impl std::fmt::Debug for Far {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Far")
            .field("cluster", &self.cluster)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Drop for Far {
    fn drop(&mut self) {
        // Dropped from anywhere, an async context included: never wait for the runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The error a failed round trip is.
pub(super) fn upstream(what: impl std::fmt::Display) -> Error {
    Error::Upstream {
        reason: what.to_string(),
    }
}

/// `info` speaking `protocol`.
pub(super) fn with_protocol(info: &ConnectionInfo, protocol: ProtocolVersion) -> ConnectionInfo {
    let settings = info.redis_settings().clone().set_protocol(protocol);
    info.clone().set_redis_settings(settings)
}

impl Far {
    /// Connects to the tier `config` names (failing after its timeout).
    pub(super) fn connect(config: &TierConfig) -> Result<Far> {
        let seeds: Vec<ConnectionInfo> = config
            .upstream
            .iter()
            .map(|url| {
                url.as_str()
                    .into_connection_info()
                    .map_err(|e| upstream(format!("invalid upstream `{url}`: {e}")))
            })
            .collect::<Result<_>>()?;
        if seeds.is_empty() {
            return Err(upstream("no upstream given"));
        }
        if !config.cluster && seeds.len() > 1 {
            return Err(upstream(
                "several upstreams are only meaningful with a cluster",
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wasmcache-tier")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::Config(ConfigError::Thread {
                    name: "tier",
                    source: e,
                })
            })?;
        let timeout = config.timeout;
        let connect = {
            let seeds = seeds.clone();
            let cluster = config.cluster;
            async move {
                if cluster {
                    redis::cluster::ClusterClient::builder(seeds)
                        .connection_timeout(timeout)
                        .response_timeout(timeout)
                        .build()?
                        .get_async_connection()
                        .await
                        .map(Connection::Cluster)
                } else {
                    let client = redis::Client::open(seeds[0].clone())?;
                    let settings = ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(timeout))
                        .set_response_timeout(Some(timeout))
                        .set_number_of_retries(1);
                    ConnectionManager::new_with_config(client, settings)
                        .await
                        .map(Connection::Standalone)
                }
            }
        };
        let connection = wait(&runtime, connect, timeout.saturating_mul(4))?.map_err(|e| {
            upstream(format!(
                "cannot connect to {}: {e}",
                config.upstream.join(", ")
            ))
        })?;
        Ok(Far {
            runtime: Some(runtime),
            connection,
            timeout,
            seeds,
            cluster: config.cluster,
        })
    }

    pub(super) fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("present until dropped")
    }

    /// Runs one command.
    fn run<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T> {
        let mut connection = self.connection.clone();
        let answer = wait(
            self.runtime(),
            async move { connection.query(&cmd).await },
            self.timeout,
        )?;
        answer.map_err(upstream)
    }

    /// Runs one pipeline.
    fn run_pipe<T: redis::FromRedisValue>(&self, pipe: redis::Pipeline) -> Result<T> {
        let mut connection = self.connection.clone();
        let answer = wait(
            self.runtime(),
            async move { connection.pipe(&pipe).await },
            self.timeout,
        )?;
        answer.map_err(upstream)
    }

    /// A key's value and its time left, read together (`MULTI GET PTTL EXEC`), so the two
    /// belong to the same moment.
    pub(super) fn get_with_ttl(&self, key: &[u8]) -> Result<Option<(Vec<u8>, Expiry)>> {
        let mut pipe = redis::pipe();
        pipe.atomic().cmd("GET").arg(key).cmd("PTTL").arg(key);
        Ok(match self.run_pipe::<(Option<Vec<u8>>, i64)>(pipe)? {
            (Some(value), -1) => Some((value, Expiry::Persistent)),
            (Some(value), ms) if ms > 0 => Some((value, Expiry::InMs(ms as u64))),
            // Gone, or expiring this very millisecond.
            _ => None,
        })
    }

    /// The masters to subscribe to for invalidations: the one server, or every master of
    /// the cluster (from `CLUSTER NODES`).
    pub(super) async fn masters(
        seeds: Vec<ConnectionInfo>,
        cluster: bool,
    ) -> redis::RedisResult<Vec<ConnectionInfo>> {
        if !cluster {
            return Ok(seeds);
        }
        let mut last_error = None;
        for seed in &seeds {
            let nodes: redis::RedisResult<String> = async {
                let client = redis::Client::open(seed.clone())?;
                let mut con = client.get_multiplexed_async_connection().await?;
                redis::cmd("CLUSTER")
                    .arg("NODES")
                    .query_async(&mut con)
                    .await
            }
            .await;
            match nodes {
                Ok(nodes) => return Ok(masters_of(&nodes, seed)),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.expect("at least one seed"))
    }

    pub(super) fn seeds(&self) -> (Vec<ConnectionInfo>, bool) {
        (self.seeds.clone(), self.cluster)
    }

    /// `SET key value [PX ttl]`.
    pub(super) fn set(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(value);
        if let Some(ttl) = ttl_ms {
            cmd.arg("PX").arg(ttl);
        }
        self.run::<()>(cmd)
    }
}

/// The masters in `CLUSTER NODES` output, with `seed`'s credentials and protocol.
fn masters_of(nodes: &str, seed: &ConnectionInfo) -> Vec<ConnectionInfo> {
    nodes
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let flags = fields.get(2)?;
            let live_master = flags.split(',').any(|f| f == "master")
                && !flags.split(',').any(|f| f == "fail" || f == "noaddr");
            if !live_master {
                return None;
            }
            // `ip:port@cport[,hostname]`
            let address = fields.get(1)?.split(['@', ',']).next()?;
            let (host, port) = address.rsplit_once(':')?;
            let port: u16 = port.parse().ok()?;
            let info = seed
                .clone()
                .set_addr(redis::ConnectionAddr::Tcp(host.to_string(), port));
            Some(info)
        })
        .collect()
}

/// Runs `future` on the calling thread, in `runtime`'s context (its connections' tasks and
/// timers run there), for at most `timeout` (plus a little, so the connection's own
/// timeout is what usually answers). The caller's thread waits for the connection's
/// answer directly: one wake-up per round trip, not a hand-off to the runtime and back.
pub(super) fn wait<T>(
    runtime: &tokio::runtime::Runtime,
    future: impl Future<Output = T>,
    timeout: Duration,
) -> Result<T> {
    let _context = runtime.enter();
    // Unconstrained: called from a server worker's task, the request must not draw on that
    // task's co-operative budget (an exhausted budget defers wake-ups to after the task's
    // poll, which never comes while this thread waits here).
    let bounded = tokio::time::timeout(timeout + Duration::from_millis(50), future);
    block_on(tokio::task::unconstrained(bounded))
        .map_err(|_| upstream(format!("no answer within {} ms", timeout.as_millis())))
}

/// Polls `future` on this thread, parking it until the future's waker unparks it.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

impl Backend for Far {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        self.run(cmd)
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        match ttl_ms {
            // Expired the moment it is written: Redis refuses `PX 0`, so remove instead.
            Some(0) => self.remove(key).map(|_| ()),
            ttl => self.set(key, value, ttl),
        }
    }

    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        match key {
            Some(key) => self.remove(key).map(|_| ()),
            // Every master, on a cluster (the crate routes FLUSHALL to all of them).
            None => self.run::<()>(redis::cmd("FLUSHALL")),
        }
    }

    fn stats(&self) -> Result<BackendStats> {
        Ok(BackendStats {
            size: self.size()?,
            counters: Default::default(),
        })
    }

    fn size(&self) -> Result<u64> {
        self.run(redis::cmd("DBSIZE"))
    }

    fn size_limits(&self) -> SizeLimits {
        // Redis's own: 512 MiB keys and values.
        SizeLimits {
            max_key_bytes: 512 << 20,
            max_value_bytes: 512 << 20,
        }
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(key);
        self.run::<u64>(cmd).map(|n| n > 0)
    }

    fn ttl(&self, key: &[u8]) -> Result<Option<Expiry>> {
        let mut cmd = redis::cmd("PTTL");
        cmd.arg(key);
        Ok(match self.run::<i64>(cmd)? {
            -1 => Some(Expiry::Persistent),
            ms if ms > 0 => Some(Expiry::InMs(ms as u64)),
            _ => None,
        })
    }

    fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
        match ttl_ms {
            Some(0) => self.remove(key),
            Some(ms) => {
                let mut cmd = redis::cmd("PEXPIRE");
                cmd.arg(key).arg(ms);
                self.run::<u64>(cmd).map(|n| n > 0)
            }
            None => {
                // PERSIST answers 0 for a key without an expiry as for a missing one; the
                // contract asks whether the key exists.
                let mut pipe = redis::pipe();
                pipe.atomic().cmd("PERSIST").arg(key).cmd("EXISTS").arg(key);
                self.run_pipe::<(u64, u64)>(pipe)
                    .map(|(_, exists)| exists > 0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_output_yields_the_live_masters() {
        let nodes = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 master,fail - 1426238316232 1426238315226 5 connected
";
        let seed = "redis://127.0.0.1:30001"
            .into_connection_info()
            .expect("url");
        let masters: Vec<String> = masters_of(nodes, &seed)
            .iter()
            .map(|info| info.addr().to_string())
            .collect();
        assert_eq!(
            masters,
            ["127.0.0.1:30002", "127.0.0.1:30003", "127.0.0.1:30001"]
        );
    }
}
