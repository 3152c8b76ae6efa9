//! Shards: several backend instances, keys routed by hash, so the server's throughput
//! grows with cores (one component instance runs one call at a time).

use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::backend::{Backend, InitOptions};
use crate::clock::SharedClock;
use crate::engine::Engine;
use crate::reload::{BackendHandle, ReloadError, ReloadReport, Source, WatchConfig, Watcher};
use crate::sandbox::Limits;

/// Lock stripes per shard for read-modify-write commands (`SET NX|XX|GET`, `DEL`).
const STRIPES: usize = 64;

/// N hot-reloadable backends with keys routed by a hash of the key.
pub struct Shards {
    engine: Engine,
    handles: Vec<BackendHandle>,
    hasher: std::hash::RandomState,
    stripes: Vec<Mutex<()>>,
}

impl std::fmt::Debug for Shards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shards")
            .field("shards", &self.handles.len())
            .finish_non_exhaustive()
    }
}

impl Shards {
    /// Compiles `source` once and starts `count` instances of it (at least one).
    pub fn load(
        engine: &Engine,
        source: Source,
        options: InitOptions,
        clock: SharedClock,
        limits: Limits,
        count: usize,
    ) -> Result<Self, ReloadError> {
        let component = crate::reload::compile(engine, &source)?;
        let handles = (0..count.max(1))
            .map(|_| {
                BackendHandle::load(
                    engine,
                    Source::Component(component.clone()),
                    options.clone(),
                    clock.clone(),
                    limits.clone(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Shards {
            engine: engine.clone(),
            stripes: (0..handles.len() * STRIPES)
                .map(|_| Mutex::new(()))
                .collect(),
            handles,
            hasher: std::hash::RandomState::new(),
        })
    }

    fn index(&self, key: &[u8]) -> usize {
        (self.hasher.hash_one(key) % (self.handles.len() * STRIPES) as u64) as usize
    }

    /// The backend that owns `key`.
    pub fn backend(&self, key: &[u8]) -> &BackendHandle {
        &self.handles[self.index(key) / STRIPES]
    }

    /// Holds `key`'s stripe, making a read-then-write on it atomic against other commands
    /// that take the same stripe.
    pub fn lock(&self, key: &[u8]) -> MutexGuard<'_, ()> {
        self.stripes[self.index(key)]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Every shard.
    pub fn handles(&self) -> &[BackendHandle] {
        &self.handles
    }

    /// Reloads every shard with `source`, compiling it once. Shards are reloaded one after
    /// another; a failure on the first leaves every shard as it was, a failure on a later
    /// one (its `init` or self-check failing where the first passed) is reported and leaves
    /// that shard on its old version.
    pub fn reload(&self, source: Source) -> Result<Vec<ReloadReport>, ReloadError> {
        let component = crate::reload::compile(&self.engine, &source)?;
        self.handles
            .iter()
            .map(|handle| handle.reload_blocking(Source::Component(component.clone())))
            .collect()
    }

    /// Reloads every shard whenever the file at `path` changes (see
    /// [`BackendHandle::watch`]), until the returned watcher is dropped.
    pub fn watch(
        self: &std::sync::Arc<Self>,
        path: &std::path::Path,
        config: WatchConfig,
    ) -> crate::Result<Watcher> {
        let (serving, target) = (self.clone(), self.clone());
        crate::reload::watch_file(
            path,
            config,
            move || serving.handles[0].current().component.sha256.clone(),
            move |source| target.reload(source).is_ok(),
        )
    }

    /// Total entries across shards.
    pub fn size(&self) -> crate::Result<u64> {
        self.handles.iter().map(|h| h.stats().map(|s| s.size)).sum()
    }
}
