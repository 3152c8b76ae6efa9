//! Shards: several backends, keys routed by hash, so the server's throughput grows with
//! cores (one component instance runs one call at a time). Each shard is a handle of a
//! [`BackendGroup`] behind its own [`Guard`].

use std::hash::BuildHasher;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::backend::Backend;
use crate::clock::SystemClock;
use crate::guard::{BreakerConfig, Guard};
use crate::reload::{
    BackendGroup, HandleStatus, ReloadError, ReloadReport, Source, WatchConfig, Watcher,
};
use crate::snapshot::{self, RestoreReport, SaveReport, Snapshot, SnapshotError};
use crate::telemetry::BackendLabels;
use crate::tier::Tier;

/// Lock stripes per shard for read-modify-write commands (`SET NX|XX|GET`, `DEL`).
const STRIPES: usize = 64;

/// N hot-reloadable backends with keys routed by a hash of the key.
pub struct Shards {
    group: BackendGroup,
    guards: Vec<Guard>,
    /// A fast hash under a random seed, so clients cannot aim keys at one stripe.
    hasher: foldhash::fast::FixedState,
    stripes: Vec<Mutex<()>>,
    /// Per stripe, how many writes it has seen: `WATCH` notes it, `EXEC` compares.
    versions: Vec<AtomicU64>,
    /// The shared tier under the shards, if any (it holds the keyspace).
    tier: Option<Arc<Tier>>,
}

impl std::fmt::Debug for Shards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shards")
            .field("shards", &self.guards.len())
            .finish_non_exhaustive()
    }
}

impl Shards {
    /// Serves the handles of `group` as shards, each behind a [`Guard`] whose breaker never
    /// opens (see [`BreakerConfig::never_open`]).
    pub fn new(group: BackendGroup) -> Self {
        Self::build(group, None)
    }

    /// Serves the handles of `group` as near caches over the shared `tier` (each shard's
    /// backend is the near cache of its keys; the tier is the source of truth).
    pub fn over(group: BackendGroup, tier: Arc<Tier>) -> Self {
        Self::build(group, Some(tier))
    }

    fn build(group: BackendGroup, tier: Option<Arc<Tier>>) -> Self {
        let guards: Vec<Guard> = group
            .handles()
            .iter()
            .enumerate()
            .map(|(index, handle)| {
                let near: Arc<dyn Backend> = Arc::new(handle.clone());
                let backend: Arc<dyn Backend> = match &tier {
                    Some(tier) => Arc::new(tier.near_cache(near)),
                    None => near,
                };
                Guard::new(
                    format!("shard{index}"),
                    backend,
                    BreakerConfig::never_open(),
                    SystemClock::shared(),
                )
            })
            .collect();
        Shards {
            stripes: (0..guards.len() * STRIPES)
                .map(|_| Mutex::new(()))
                .collect(),
            versions: (0..guards.len() * STRIPES)
                .map(|_| AtomicU64::new(0))
                .collect(),
            guards,
            group,
            tier,
            hasher: foldhash::fast::FixedState::with_seed(
                std::hash::RandomState::new().hash_one("wasmcache shards"),
            ),
        }
    }

    /// `key`'s stripe: what its shard, [`lock`](Self::lock) and [`wrote`](Self::wrote)
    /// are worked out from (callers that need several work it out once).
    pub(crate) fn stripe_of(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) % (self.guards.len() * STRIPES) as u64) as usize
    }

    /// The shard that owns the keys of `stripe`.
    pub(crate) fn shard_of_stripe(&self, stripe: usize) -> usize {
        stripe / STRIPES
    }

    /// Which shard (an index into [`guards`](Self::guards)) owns `key`.
    pub fn shard_of(&self, key: &[u8]) -> usize {
        self.shard_of_stripe(self.stripe_of(key))
    }

    /// The guarded backend that owns `key`.
    pub fn backend(&self, key: &[u8]) -> &Guard {
        &self.guards[self.shard_of(key)]
    }

    /// Holds `key`'s stripe, making a read-then-write on it atomic against other commands
    /// that take the same stripe.
    pub fn lock(&self, key: &[u8]) -> MutexGuard<'_, ()> {
        self.lock_stripe(self.stripe_of(key))
    }

    /// [`lock`](Self::lock) for a key whose stripe is known.
    pub(crate) fn lock_stripe(&self, stripe: usize) -> MutexGuard<'_, ()> {
        self.stripes[stripe]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds the stripes of all `keys` (each once, in order, so two callers never wait
    /// for each other crosswise), making a multi-key command atomic.
    pub fn lock_all(&self, keys: &[&[u8]]) -> Vec<MutexGuard<'_, ()>> {
        let stripes: Vec<usize> = keys.iter().map(|key| self.stripe_of(key)).collect();
        self.lock_stripes(stripes)
    }

    /// [`lock_all`](Self::lock_all) for keys whose stripes are known.
    pub(crate) fn lock_stripes(&self, mut stripes: Vec<usize>) -> Vec<MutexGuard<'_, ()>> {
        stripes.sort_unstable();
        stripes.dedup();
        stripes
            .into_iter()
            .map(|stripe| self.lock_stripe(stripe))
            .collect()
    }

    /// Notes a write to `key` (its stripe's version moves on).
    pub fn wrote(&self, key: &[u8]) {
        self.wrote_stripe(self.stripe_of(key));
    }

    /// [`wrote`](Self::wrote) for a key whose stripe is known.
    pub(crate) fn wrote_stripe(&self, stripe: usize) {
        self.versions[stripe].fetch_add(1, Ordering::AcqRel);
    }

    /// Notes a write to every key (a flush).
    pub fn wrote_all(&self) {
        for version in &self.versions {
            version.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Where `key`'s writes stand: its stripe and that stripe's version. Keys share
    /// stripes, so a write to another key of the stripe moves it too (a `WATCH` may fail
    /// for a key nobody wrote, never succeed for one somebody did).
    pub fn version(&self, key: &[u8]) -> (usize, u64) {
        let stripe = self.stripe_of(key);
        (stripe, self.versions[stripe].load(Ordering::Acquire))
    }

    /// The current version of `stripe`.
    pub fn stripe_version(&self, stripe: usize) -> u64 {
        self.versions[stripe].load(Ordering::Acquire)
    }

    /// Meters every shard's guard (see [`Guard::metered`]): its series are labelled
    /// `backend` (`backend`) and `shard` (its index). Install the recorder first.
    pub fn metered(mut self, backend: &str) -> Self {
        self.guards = std::mem::take(&mut self.guards)
            .into_iter()
            .enumerate()
            .map(|(index, guard)| guard.metered(BackendLabels::new(backend, index)))
            .collect();
        self
    }

    /// The shared tier under the shards, if any.
    pub fn tier(&self) -> Option<&Arc<Tier>> {
        self.tier.as_ref()
    }

    /// Every shard, guarded.
    pub fn guards(&self) -> &[Guard] {
        &self.guards
    }

    /// The shards' handles.
    pub fn group(&self) -> &BackendGroup {
        &self.group
    }

    /// The first shard's reload bookkeeping.
    pub fn status(&self) -> HandleStatus {
        self.group.status()
    }

    /// Reloads every shard with `source` (see [`BackendGroup::reload_blocking`]).
    pub fn reload(&self, source: Source) -> Result<Vec<ReloadReport>, ReloadError> {
        self.group.reload_blocking(source)
    }

    /// Reloads every shard whenever the file at `path` changes, until the returned
    /// watcher is dropped.
    pub fn watch(&self, path: &Path, config: WatchConfig) -> crate::Result<Watcher> {
        self.group.watch(path, config)
    }

    /// Total entries across shards (over a shared tier: the tier's, counted once).
    pub fn size(&self) -> crate::Result<u64> {
        match &self.tier {
            Some(tier) => tier.size(),
            None => self.guards.iter().map(Backend::size).sum(),
        }
    }

    /// Writes every shard's live entries to the snapshot at `path`, atomically (see
    /// [`snapshot::save`](crate::snapshot::save)).
    pub fn save_snapshot(&self, path: &Path) -> Result<SaveReport, SnapshotError> {
        let backends: Vec<&dyn Backend> = self.guards.iter().map(|g| g as &dyn Backend).collect();
        snapshot::save(path, &backends)
    }

    /// Reads the snapshot at `path`, checked whole, and puts its live entries back, each
    /// key into the shard that owns it now (see [`snapshot::restore`]).
    pub fn restore_snapshot(&self, path: &Path) -> Result<RestoreReport, SnapshotError> {
        let snapshot = Snapshot::read(path)?;
        let backends: Vec<&dyn Backend> = self.guards.iter().map(|g| g as &dyn Backend).collect();
        snapshot::restore(&snapshot, &backends, |key| self.shard_of(key))
    }

    /// Guest faults across shards.
    pub fn faults(&self) -> u64 {
        self.guards.iter().map(Guard::faults).sum()
    }
}
