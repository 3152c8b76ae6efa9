//! [`BackendHandle`]: a backend that can be replaced while it serves.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockWriteGuard};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;

use super::handover::{self, HandoverLimits, HandoverReport, Journal};
use super::prepare::{Prepared, prepare};
use super::report::{HandleStatus, ReloadError, ReloadReport, ReloadStep};
use super::source::Source;
use crate::backend::{
    Backend, BackendFactory, BackendStats, EntryPage, Expiry, FactoryInfo, InitOptions, KeyPage,
    Loader, MemoryUse, PutItem, SizeLimits,
};
use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};

/// One loaded version of the backend.
pub struct Generation {
    /// 1 for the first load, then one more per successful reload.
    pub number: u64,
    /// What it was made from.
    pub component: FactoryInfo,
    /// When it started serving.
    pub loaded_at: SystemTime,
    pub(crate) backend: Box<dyn Backend>,
    /// What made the backend: a compaction starts it again from here.
    pub(crate) factory: Arc<dyn BackendFactory>,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("number", &self.number)
            .field("component", &self.component)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Counts {
    reloads: u64,
    rejected: u64,
    compactions: u64,
    handover_entries: u64,
    last_error: Option<String>,
}

/// Configures a [`BackendHandle`] (or a [`BackendGroup`](super::BackendGroup)): the
/// loader for component bytes, `init` options, clock and handover bounds.
#[derive(Clone, Default)]
#[must_use = "a builder does nothing until `load` is called"]
pub struct HandleBuilder {
    pub(crate) loader: Option<Arc<dyn Loader>>,
    options: InitOptions,
    clock: Option<SharedClock>,
    handover: HandoverLimits,
}

impl HandleBuilder {
    /// Compiles component bytes and files with `loader` (without one, only
    /// [`Source::Factory`] can be loaded).
    pub fn loader(mut self, loader: impl Loader + 'static) -> Self {
        self.loader = Some(Arc::new(loader));
        self
    }

    /// Options for every version's `init`. Default: none.
    pub fn options(mut self, options: InitOptions) -> Self {
        self.options = options;
        self
    }

    /// The clock backends read. Default: the system's monotonic clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Bounds on each handover. Default: [`HandoverLimits::default`].
    pub fn handover(mut self, limits: HandoverLimits) -> Self {
        self.handover = limits;
        self
    }

    /// Loads the first generation from `source`.
    pub fn load(self, source: impl Into<Source>) -> Result<BackendHandle, ReloadError> {
        let source = source.into();
        let factory = source
            .resolve(self.loader.as_deref())
            .map_err(ReloadError::on_first_load)?;
        let clock = self.clock.clone().unwrap_or_else(SystemClock::shared);
        let prepared = prepare(&source, &factory, &self.options, &clock)
            .map_err(ReloadError::on_first_load)?;
        let generation = Generation {
            number: 1,
            component: prepared.info,
            loaded_at: SystemTime::now(),
            backend: prepared.backend,
            factory: prepared.factory,
        };
        Ok(BackendHandle {
            state: Arc::new(HandleState {
                loader: self.loader,
                options: self.options,
                clock,
                handover: self.handover,
                current: ArcSwap::from_pointee(generation),
                reloading: Mutex::new(()),
                gate: RwLock::new(()),
                journal: Journal::default(),
                counts: Mutex::default(),
            }),
        })
    }
}

/// A backend that can be replaced while it serves. Cheap to clone; every clone sees the
/// same current backend. It implements [`Backend`], so the cache layer and the server use
/// it like any other backend, native or wasm.
///
/// ```
/// use wasmcache::reload::{BackendHandle, Source};
/// use wasmcache::{Backend, ComponentLoader, Engine, EngineConfig, Limits, builtin};
///
/// let loader = ComponentLoader::new(&Engine::new(EngineConfig::default())?, Limits::default())?;
/// let handle = BackendHandle::builder().loader(loader).load(Source::bytes("memory", builtin::MEMORY))?;
/// handle.put(b"k", b"v", None)?;
/// let report = handle.reload_blocking(Source::bytes("lru", builtin::LRU))?;
/// assert_eq!(report.generation, 2);
/// assert_eq!(report.handover.entries, 1); // `memory` handed its entry to `lru`
/// assert_eq!(handle.get(b"k")?, Some(b"v".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BackendHandle {
    state: Arc<HandleState>,
}

struct HandleState {
    loader: Option<Arc<dyn Loader>>,
    options: InitOptions,
    clock: SharedClock,
    handover: HandoverLimits,
    current: ArcSwap<Generation>,
    /// One reload at a time.
    reloading: Mutex<()>,
    /// Writers hold it shared; a reload holds it exclusively to start the journal and to
    /// replay it and swap.
    gate: RwLock<()>,
    journal: Journal,
    counts: Mutex<Counts>,
}

/// A new version with the old one's entries copied in, waiting for the swap.
pub(crate) struct Staged {
    prepared: Prepared,
    old_number: u64,
    report: HandoverReport,
}

impl Staged {
    /// What the handover copied.
    pub(crate) fn handover(&self) -> &HandoverReport {
        &self.report
    }
}

/// What a swap is: a new version, or the same one restarted to give memory back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swap {
    Reload,
    Compaction,
}

/// Rounds of replaying raced writes before writers are held back for the last ones.
const CATCH_UP_ROUNDS: usize = 8;
/// A journal this short is replayed with writers held back.
const SHORT_JOURNAL: usize = 32;

impl BackendHandle {
    /// Starts configuring a handle.
    pub fn builder() -> HandleBuilder {
        HandleBuilder::default()
    }

    /// The generation serving now.
    pub fn current(&self) -> Arc<Generation> {
        self.state.current.load_full()
    }

    pub(crate) fn loader(&self) -> Option<&Arc<dyn Loader>> {
        self.state.loader.as_ref()
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.state
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reload bookkeeping.
    pub fn status(&self) -> HandleStatus {
        let current = self.state.current.load();
        let counts = self.counts();
        HandleStatus {
            generation: current.number,
            component: current.component.name.clone(),
            sha256: current.component.sha256.clone(),
            loaded_at_unix: current
                .loaded_at
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            reloads: counts.reloads,
            rejected: counts.rejected,
            compactions: counts.compactions,
            handover_entries: counts.handover_entries,
            last_error: counts.last_error.clone(),
        }
    }

    /// Replaces the backend with the one from `source`, on a blocking-pool thread.
    pub async fn reload(&self, source: impl Into<Source>) -> Result<ReloadReport, ReloadError> {
        let handle = self.clone();
        let source = source.into();
        let failed = ReloadError::at(source.name(), ReloadStep::Task);
        tokio::task::spawn_blocking(move || handle.reload_blocking(source))
            .await
            .unwrap_or_else(|join| {
                Err(failed(Error::Internal {
                    reason: format!("the reload task failed: {join}"),
                }))
            })
    }

    /// Replaces the backend with the one from `source`, on this thread (compiling a large
    /// component takes seconds: call it off any latency-sensitive path).
    pub fn reload_blocking(&self, source: impl Into<Source>) -> Result<ReloadReport, ReloadError> {
        let source = source.into();
        let _span =
            tracing::info_span!(target: "wasmcache::reload", "reload", component = %source.name())
                .entered();
        let _one_at_a_time = self.lock_reloads();
        let started = Instant::now();
        tracing::info!(target: "wasmcache::reload", component = %source.name(), "reload started");
        let prepared = self.prepare(&source).map_err(|e| self.rejected(e))?;
        let staged = self.stage(prepared);
        let gate = self.hold_writers();
        let report = self.commit(staged, &gate, started, Swap::Reload);
        drop(gate);
        Ok(report)
    }

    /// Holds off other reloads of this handle.
    pub(crate) fn lock_reloads(&self) -> MutexGuard<'_, ()> {
        self.state
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds writers back (reads go on) until the guard is dropped.
    pub(crate) fn hold_writers(&self) -> RwLockWriteGuard<'_, ()> {
        self.state
            .gate
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves `source` with this handle's loader, initialises and self-checks it.
    pub(crate) fn prepare(&self, source: &Source) -> Result<Prepared, ReloadError> {
        let state = &*self.state;
        let factory = source.resolve(state.loader.as_deref())?;
        prepare(source, &factory, &state.options, &state.clock)
    }

    /// Counts and logs a rejected reload.
    pub(crate) fn rejected(&self, error: ReloadError) -> ReloadError {
        self.record_rejection(&error);
        error
    }

    /// Counts a rejected reload and keeps its message for the status.
    pub(crate) fn record_rejection(&self, error: &ReloadError) {
        tracing::warn!(target: "wasmcache::reload", component = %error.name, step = %error.step, "reload rejected: {}", error.source);
        let mut counts = self.counts();
        counts.rejected += 1;
        counts.last_error = Some(error.to_string());
    }

    /// Hands the serving backend's entries to `prepared`, journaling the writes that race
    /// the copy and replaying them while writers keep going, until what is left is short.
    pub(crate) fn stage(&self, prepared: Prepared) -> Staged {
        let state = &*self.state;
        let old = state.current.load_full();
        {
            let _writers = self.hold_writers();
            state.journal.start();
        }
        let new = &*prepared.backend;
        let mut report = handover::copy(&*old.backend, new, &state.handover);
        for _ in 0..CATCH_UP_ROUNDS {
            let writes = state.journal.take();
            let count = writes.len();
            report.replayed += handover::replay(writes, new, state.clock.now_ms());
            if count <= SHORT_JOURNAL {
                break;
            }
        }
        Staged {
            prepared,
            old_number: old.number,
            report,
        }
    }

    /// Drops a staged backend instead of swapping it in; the journal stops.
    pub(crate) fn abandon(&self, staged: Staged) {
        let _writers = self.hold_writers();
        drop(self.state.journal.finish());
        drop(staged);
    }

    /// With writers held back (`_gate`), replays the rest of the journal and swaps the
    /// staged backend in: as the next generation for a reload, under the same number for a
    /// compaction.
    pub(crate) fn commit(
        &self,
        staged: Staged,
        _gate: &RwLockWriteGuard<'_, ()>,
        started: Instant,
        swap: Swap,
    ) -> ReloadReport {
        let state = &*self.state;
        let Staged {
            prepared,
            old_number,
            mut report,
        } = staged;
        let rest = state.journal.finish();
        report.replayed += handover::replay(rest, &*prepared.backend, state.clock.now_ms());
        let number = match swap {
            Swap::Reload => old_number + 1,
            Swap::Compaction => old_number,
        };
        let info = prepared.info.clone();
        state.current.store(Arc::new(Generation {
            number,
            component: prepared.info,
            loaded_at: SystemTime::now(),
            backend: prepared.backend,
            factory: prepared.factory,
        }));
        {
            let mut counts = self.counts();
            match swap {
                Swap::Reload => counts.reloads += 1,
                Swap::Compaction => counts.compactions += 1,
            }
            counts.handover_entries += report.entries;
        }
        let total_ms = started.elapsed().as_secs_f64() * 1e3;
        tracing::info!(
            target: "wasmcache::reload",
            component = %info.name,
            generation = number,
            sha256 = info.sha256.as_deref().unwrap_or("-"),
            handed_over = report.entries,
            replayed = report.replayed,
            millis = total_ms,
            swap = ?swap,
            "backend swapped"
        );
        ReloadReport {
            generation: number,
            component: info,
            handover: report,
            total_ms,
        }
    }

    /// Runs a write on the current backend, journaling it while a handover copies.
    fn write<T>(
        &self,
        apply: impl FnOnce(&dyn Backend) -> Result<T>,
        journal: impl FnOnce(&Journal, u64, &T),
    ) -> Result<T> {
        let state = &*self.state;
        let _writer = state.gate.read().unwrap_or_else(PoisonError::into_inner);
        let done = apply(&*state.current.load().backend)?;
        if state.journal.is_active() {
            journal(&state.journal, state.clock.now_ms(), &done);
        }
        Ok(done)
    }
}

impl Backend for BackendHandle {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.state.current.load().backend.get(key)
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        self.write(
            |backend| backend.put(key, value, ttl_ms),
            |journal, now, _| journal.put(key, value, ttl_ms, now),
        )
    }

    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        self.write(
            |backend| backend.invalidate(key),
            |journal, _, _| journal.invalidate(key),
        )
    }

    fn stats(&self) -> Result<BackendStats> {
        let current = self.state.current.load();
        let mut stats = current.backend.stats()?;
        let rejected = self.counts().rejected;
        stats
            .counters
            .insert("reload-generation".into(), current.number);
        stats.counters.insert("reload-rejected".into(), rejected);
        Ok(stats)
    }

    fn size(&self) -> Result<u64> {
        self.state.current.load().backend.size()
    }

    fn size_limits(&self) -> SizeLimits {
        self.state.current.load().backend.size_limits()
    }

    fn entries(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<EntryPage>> {
        self.state.current.load().backend.entries(cursor, limit)
    }

    fn keys(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<KeyPage>> {
        self.state.current.load().backend.keys(cursor, limit)
    }

    fn ttl(&self, key: &[u8]) -> Result<Option<Expiry>> {
        self.state.current.load().backend.ttl(key)
    }

    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        self.state.current.load().backend.get_many(keys)
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        self.write(
            |backend| backend.remove(key),
            |journal, _, _| journal.invalidate(Some(key)),
        )
    }

    fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
        self.write(
            |backend| backend.set_ttl(key, ttl_ms),
            |journal, now, _| journal.set_ttl(key, ttl_ms, now),
        )
    }

    fn put_many(&self, items: &[PutItem<'_>]) -> Result<Vec<Result<()>>> {
        self.write(
            |backend| backend.put_many(items),
            |journal, now, results| {
                for (item, result) in items.iter().zip(results) {
                    if result.is_ok() {
                        journal.put(item.key, item.value, item.ttl_ms, now);
                    }
                }
            },
        )
    }

    fn remove_many(&self, keys: &[&[u8]]) -> Result<Vec<bool>> {
        self.write(
            |backend| backend.remove_many(keys),
            |journal, _, _| {
                for key in keys {
                    journal.invalidate(Some(key));
                }
            },
        )
    }

    fn memory_use(&self) -> Result<Option<MemoryUse>> {
        self.state.current.load().backend.memory_use()
    }

    fn sandbox_counters(&self) -> Vec<(&'static str, u64)> {
        self.state.current.load().backend.sandbox_counters()
    }
}

impl std::fmt::Debug for BackendHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendHandle")
            .field("current", &*self.state.current.load())
            .finish_non_exhaustive()
    }
}

impl BackendHandle {
    /// Reloads this handle whenever the file at `path` changes, until the returned
    /// [`Watcher`](super::watch::Watcher) is dropped. Needs a [`Loader`]
    /// ([`HandleBuilder::loader`]).
    pub fn watch(
        &self,
        path: impl AsRef<std::path::Path>,
        config: super::watch::WatchConfig,
    ) -> Result<super::watch::Watcher> {
        super::watch::spawn(path.as_ref(), config, Arc::new(self.clone()))
    }
}

impl super::watch::Reloadable for BackendHandle {
    fn serving_sha256(&self) -> Option<String> {
        self.current().component.sha256.clone()
    }

    fn reload_source(&self, source: Source) -> bool {
        self.reload_blocking(source).is_ok()
    }
}
