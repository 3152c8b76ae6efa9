//! Coherence: the near caches hear about every write to the shared tier and drop what it
//! changed.
//!
//! One RESP3 connection per master has `CLIENT TRACKING ON BCAST` (every key written on
//! that master is announced to it, whoever wrote it); each `invalidate` push removes its
//! keys from every near cache, and a null one (the master was flushed) flushes them. A
//! connection that drops may have missed pushes, so every near cache is flushed and
//! nothing is stored in them until all masters are subscribed again; the master set is
//! re-read on every drop and every few seconds, so a failover or a new master is picked up.
//!
//! A fill (a read from the tier stored in a near cache) races with invalidations: a write
//! may land after the tier answered the read but be announced before the answer arrives.
//! So a fill takes a [`Ticket`] before asking, and stores only if no invalidation of its
//! key's stripe, and no flush, happened since; the check and the store hold the stripe's
//! lock, which every invalidation of the stripe takes too.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use redis::{ConnectionInfo, ProtocolVersion, PushInfo, PushKind, Value};

use super::far::{Far, with_protocol};
use crate::backend::Backend;

const STRIPES: usize = 4096;
/// Announcements (batches of keys) the invalidation thread may fall behind by.
const BACKLOG: usize = 4096;
/// How often the master set is read again while everything is healthy.
const RECHECK: Duration = Duration::from_secs(5);

/// What coherence needs: the near caches, and the stripes fills and invalidations meet on.
pub(super) struct Tracker {
    nears: RwLock<Vec<Arc<dyn Backend>>>,
    /// Per stripe: how many invalidations it has seen.
    stripes: Vec<Mutex<u64>>,
    hasher: std::hash::RandomState,
    /// How many flushes (each drop of a tracking connection flushes).
    flushes: AtomicU64,
    /// Every master is subscribed: fills may be stored.
    live: AtomicBool,
    /// Invalidation pushes received (keys dropped).
    pub(super) invalidations: AtomicU64,
}

/// What a fill saw before it asked the tier.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket {
    stripe: usize,
    seen: u64,
    flushes: u64,
    live: bool,
}

impl Tracker {
    pub(super) fn new() -> Self {
        Tracker {
            nears: RwLock::default(),
            stripes: (0..STRIPES).map(|_| Mutex::new(0)).collect(),
            hasher: std::hash::RandomState::new(),
            flushes: AtomicU64::new(0),
            live: AtomicBool::new(false),
            invalidations: AtomicU64::new(0),
        }
    }

    pub(super) fn add_near(&self, near: Arc<dyn Backend>) {
        self.nears
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(near);
    }

    fn stripe(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) % STRIPES as u64) as usize
    }

    /// Whether every master is subscribed (near caches may hold entries).
    pub(super) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub(super) fn ticket(&self, key: &[u8]) -> Ticket {
        let stripe = self.stripe(key);
        let seen = *self.stripes[stripe]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Ticket {
            stripe,
            seen,
            flushes: self.flushes.load(Ordering::Acquire),
            live: self.is_live(),
        }
    }

    /// Runs `store` if nothing invalidated the ticket's stripe or flushed since it was
    /// taken, and tracking was and is live; whether it ran.
    pub(super) fn store_if_current(&self, ticket: Ticket, store: impl FnOnce()) -> bool {
        let stripe = self.stripes[ticket.stripe]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current = ticket.live
            && self.is_live()
            && *stripe == ticket.seen
            && self.flushes.load(Ordering::Acquire) == ticket.flushes;
        if current {
            store();
        }
        current
    }

    /// `key` changed upstream: no near cache may keep it, and no fill under way may store it.
    pub(super) fn invalidate(&self, key: &[u8]) {
        let mut stripe = self.stripes[self.stripe(key)]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *stripe += 1;
        self.invalidations.fetch_add(1, Ordering::Relaxed);
        for near in self
            .nears
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = near.invalidate(Some(key));
        }
    }

    /// Everything may have changed: empty every near cache, void every fill under way.
    pub(super) fn flush(&self) {
        self.flushes.fetch_add(1, Ordering::AcqRel);
        for near in self
            .nears
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = near.invalidate(None);
        }
    }

    fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
    }

    /// One push from a tracking connection; `false` if the connection dropped.
    /// Keys go to the invalidation thread (`work`), so the near caches' calls never hold
    /// up the runtime that drives every Redis connection; if it falls [`BACKLOG`] batches
    /// behind, everything is flushed instead.
    fn on_push(&self, push: PushInfo, work: &SyncSender<Vec<Vec<u8>>>) -> bool {
        match push.kind {
            PushKind::Invalidate => {
                match push.data.into_iter().next() {
                    Some(Value::Array(keys)) => {
                        let keys: Vec<Vec<u8>> = keys
                            .into_iter()
                            .filter_map(|key| match key {
                                Value::BulkString(key) => Some(key),
                                _ => None,
                            })
                            .collect();
                        if let Err(TrySendError::Full(_)) = work.try_send(keys) {
                            self.flush();
                        }
                    }
                    // A null list: the master was flushed.
                    _ => self.flush(),
                }
                true
            }
            PushKind::Disconnection => false,
            _ => true,
        }
    }
}

/// Subscribes to every master and keeps the subscriptions, until the runtime stops; a
/// thread of its own drops the keys the masters announce from the near caches.
pub(super) fn spawn(far: &Far, tracker: Arc<Tracker>, timeout: Duration) {
    let (seeds, cluster) = far.seeds();
    let (work, keys) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(BACKLOG);
    let invalidator = tracker.clone();
    let started = std::thread::Builder::new()
        .name("wasmcache-tier-invalidate".into())
        .spawn(move || {
            // Ends when the tracking task (holding the sender) ends with the tier.
            while let Ok(keys) = keys.recv() {
                keys.iter().for_each(|key| invalidator.invalidate(key));
            }
        });
    if let Err(error) = started {
        // Without the thread nothing may be stored near: tracking never goes live.
        tracing::error!(target: "wasmcache::tier", "cannot start the invalidation thread: {error}");
        return;
    }
    far.runtime().spawn(async move {
        // Where to ask for the master set: the nodes given, then every master seen, so
        // losing the node that was given does not lose the cluster.
        let mut known = seeds.clone();
        loop {
            tracker.set_live(false);
            tracker.flush();
            match subscribe(&known, cluster, &tracker, &work, timeout).await {
                Ok(masters) => {
                    known = seeds.clone();
                    known.extend(masters.into_iter().filter(|m| !seeds.iter().any(|s| s.addr() == m.addr())));
                }
                Err(error) => {
                    tracing::warn!(target: "wasmcache::tier", "invalidation tracking down, near caches bypassed: {error}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    });
}

/// Subscribes to the current masters and serves their pushes; returns (the masters it
/// served) when one drops or the master set changes.
async fn subscribe(
    seeds: &[ConnectionInfo],
    cluster: bool,
    tracker: &Arc<Tracker>,
    work: &SyncSender<Vec<Vec<u8>>>,
    timeout: Duration,
) -> redis::RedisResult<Vec<ConnectionInfo>> {
    let masters = Far::masters(seeds.to_vec(), cluster).await?;
    let (tx, mut pushes) = tokio::sync::mpsc::unbounded_channel::<PushInfo>();
    let mut connections = Vec::new();
    for master in &masters {
        let client = redis::Client::open(with_protocol(master, ProtocolVersion::RESP3))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_push_sender(tx.clone());
        let mut connection = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        redis::cmd("CLIENT")
            .arg("TRACKING")
            .arg("ON")
            .arg("BCAST")
            .query_async::<()>(&mut connection)
            .await?;
        connections.push(connection);
    }
    // Anything stored before every master was subscribed could be stale.
    tracker.flush();
    tracker.set_live(true);
    tracing::info!(target: "wasmcache::tier", masters = masters.len(), "invalidation tracking live");
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            push = pushes.recv() => {
                if !push.is_some_and(|push| tracker.on_push(push, work)) {
                    tracing::warn!(target: "wasmcache::tier", "a tracking connection dropped: near caches flushed until it is back");
                    return Ok(masters);
                }
            }
            _ = recheck.tick() => {
                let now = Far::masters(seeds.to_vec(), cluster).await;
                let same = now.as_ref().is_ok_and(|now| {
                    let mut a: Vec<String> = now.iter().map(|m| m.addr().to_string()).collect();
                    let mut b: Vec<String> = masters.iter().map(|m| m.addr().to_string()).collect();
                    a.sort();
                    b.sort();
                    a == b
                });
                if !same {
                    tracing::info!(target: "wasmcache::tier", "the master set changed: subscribing again");
                    return Ok(masters);
                }
            }
        }
    }
}
