//! Hot reload: swap the component behind a [`BackendHandle`] while it serves.
//!
//! A reload compiles the new component off the caller's path, checks its world and
//! version, instantiates it and runs `init` with the handle's options, runs a short
//! self-check (put, get, invalidate on a reserved key), hands the old backend's entries
//! over when it exports the optional `handover` interface, and only then swaps it in
//! atomically. Calls already running finish on the old instance; the old instance is
//! dropped when the last of them returns. If any step fails the old backend keeps
//! serving, untouched, and the caller learns which step failed. There is never a moment
//! with no backend.
//!
//! # Writes during a handover
//!
//! While entries are copied, writes keep going to the old backend and are also recorded
//! in a journal. Just before the swap, writers are held back for the moment it takes to
//! replay the journal into the new backend (each `put` with its remaining ttl), then the
//! new backend takes over. So a write is never lost, and writers wait only for the replay,
//! not for the copy. Reads are never held back.

mod handover;
mod watch;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwap;

pub use handover::{HandoverLimits, HandoverReport};
pub(crate) use watch::watch_file;
pub use watch::{WatchConfig, Watcher};

use self::handover::Journal;
use crate::backend::{Backend, BackendStats, EntryPage, InitOptions, SizeLimits};
use crate::clock::SharedClock;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::sandbox::Limits;
use crate::wasm::{BackendComponent, ComponentInfo, WasmBackend};

/// Where a new component comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Bytes in memory, with a name for messages.
    Bytes {
        /// Shown in logs and stats.
        name: String,
        /// The component.
        bytes: Arc<[u8]>,
    },
    /// A file, read when the reload runs.
    Path(PathBuf),
    /// A component already compiled (and checked) on the handle's engine: a reload then
    /// only instantiates it, e.g. to reload many shards with one compile.
    Component(BackendComponent),
}

impl From<PathBuf> for Source {
    fn from(path: PathBuf) -> Self {
        Source::Path(path)
    }
}

impl From<&std::path::Path> for Source {
    fn from(path: &std::path::Path) -> Self {
        Source::Path(path.to_path_buf())
    }
}

impl Source {
    /// A source of `bytes` called `name`.
    pub fn bytes(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        Source::Bytes {
            name: name.into(),
            bytes: bytes.into(),
        }
    }
}

/// Which step of a reload failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReloadStep {
    /// Reading the file.
    Read,
    /// Compiling it and checking its world, version and imports.
    Compile,
    /// Instantiating it and running `init` with the handle's options.
    Init,
    /// The put / get / invalidate smoke test on a reserved key.
    SelfCheck,
}

impl std::fmt::Display for ReloadStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReloadStep::Read => "read",
            ReloadStep::Compile => "compile",
            ReloadStep::Init => "init",
            ReloadStep::SelfCheck => "self-check",
        })
    }
}

/// A rejected reload: the old backend is still serving.
#[derive(Debug, thiserror::Error)]
#[error("reload of {name} rejected at the {step} step: {source}")]
pub struct ReloadError {
    /// What was being loaded.
    pub name: String,
    /// The step that failed.
    pub step: ReloadStep,
    /// Why.
    #[source]
    pub source: Error,
}

/// What a successful reload did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadReport {
    /// The new generation number.
    pub generation: u64,
    /// The component now serving.
    pub component: ComponentInfo,
    /// Entries carried over from the previous backend.
    pub handover: HandoverReport,
    /// Wall time of the whole reload, in milliseconds.
    pub total_ms: f64,
}

/// One loaded version of the backend.
pub struct Generation {
    /// 1 for the first load, then one more per successful reload.
    pub number: u64,
    /// The component.
    pub component: ComponentInfo,
    /// When it started serving.
    pub loaded_at: SystemTime,
    backend: WasmBackend,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("number", &self.number)
            .field("component", &self.component.name)
            .field("sha256", &self.component.sha256)
            .finish_non_exhaustive()
    }
}

/// Reload bookkeeping, for stats and `INFO`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HandleStatus {
    /// The serving generation.
    pub generation: u64,
    /// Name of the serving component.
    pub component: String,
    /// SHA-256 of the serving component.
    pub sha256: String,
    /// Seconds since the Unix epoch when it started serving.
    pub loaded_at_unix: u64,
    /// Successful reloads so far.
    pub reloads: u64,
    /// Rejected reloads so far.
    pub rejected: u64,
    /// The last rejection's message, if any.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Counts {
    reloads: u64,
    rejected: u64,
    last_error: Option<String>,
}

/// A backend that can be replaced while it serves. Cheap to clone; every clone sees the
/// same current backend. It implements [`Backend`], so the cache layer and the server use
/// it like any other backend.
///
/// ```
/// use wasmcache::reload::{BackendHandle, Source};
/// use wasmcache::{Backend, Engine, EngineConfig, Limits, SystemClock, builtin};
///
/// let engine = Engine::new(EngineConfig::default())?;
/// let handle = BackendHandle::load(&engine, Source::bytes("memory", builtin::MEMORY), Vec::new(), SystemClock::shared(), Limits::default())?;
/// handle.put(b"k", b"v", None)?;
/// let report = handle.reload_blocking(Source::bytes("lru", builtin::LRU))?;
/// assert_eq!(report.generation, 2);
/// assert_eq!(report.handover.entries, 1); // `memory` handed its entry to `lru`
/// assert_eq!(handle.get(b"k")?, Some(b"v".to_vec()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct BackendHandle {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    limits: Limits,
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

/// Rounds of replaying raced writes before writers are held back for the last ones.
const CATCH_UP_ROUNDS: usize = 8;
/// A journal this short is replayed with writers held back.
const SHORT_JOURNAL: usize = 32;

/// The reserved key of the self-check; no caller can store it through the cache layer,
/// whose keys are codec-encoded, and it is removed again at once.
const SELF_CHECK_KEY: &[u8] = b"\0wasmcache:reload-self-check";

impl BackendHandle {
    /// Loads the first generation from `source`, with `options` for `init`.
    pub fn load(
        engine: &Engine,
        source: impl Into<Source>,
        options: InitOptions,
        clock: SharedClock,
        limits: Limits,
    ) -> Result<Self, ReloadError> {
        Self::load_with(
            engine,
            source,
            options,
            clock,
            limits,
            HandoverLimits::default(),
        )
    }

    /// [`load`](Self::load) with explicit bounds on handovers.
    pub fn load_with(
        engine: &Engine,
        source: impl Into<Source>,
        options: InitOptions,
        clock: SharedClock,
        limits: Limits,
        handover: HandoverLimits,
    ) -> Result<Self, ReloadError> {
        let source = source.into();
        let (component, backend) = prepare(engine, &source, &options, &clock, &limits)?;
        let generation = Generation {
            number: 1,
            component: component.info().clone(),
            loaded_at: SystemTime::now(),
            backend,
        };
        Ok(BackendHandle {
            shared: Arc::new(Shared {
                engine: engine.clone(),
                limits,
                options,
                clock,
                handover,
                current: ArcSwap::from_pointee(generation),
                reloading: Mutex::new(()),
                gate: RwLock::new(()),
                journal: Journal::default(),
                counts: Mutex::default(),
            }),
        })
    }

    /// The generation serving now.
    pub fn current(&self) -> Arc<Generation> {
        self.shared.current.load_full()
    }

    /// Reload bookkeeping.
    pub fn status(&self) -> HandleStatus {
        let current = self.shared.current.load();
        let counts = self
            .shared
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
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
            last_error: counts.last_error.clone(),
        }
    }

    /// Replaces the backend with the component from `source`, on a blocking-pool thread.
    pub async fn reload(&self, source: impl Into<Source>) -> Result<ReloadReport, ReloadError> {
        let handle = self.clone();
        let source = source.into();
        let name = source_name(&source);
        tokio::task::spawn_blocking(move || handle.reload_blocking(source))
            .await
            .unwrap_or_else(|join| {
                Err(ReloadError {
                    name,
                    step: ReloadStep::Init,
                    source: Error::ContractViolation(format!("the reload task failed: {join}")),
                })
            })
    }

    /// Replaces the backend with the component from `source`, on this thread (compiling a
    /// large component takes seconds: call it off any latency-sensitive path).
    pub fn reload_blocking(&self, source: impl Into<Source>) -> Result<ReloadReport, ReloadError> {
        let source = source.into();
        let shared = &*self.shared;
        let _one_at_a_time = shared
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let started = Instant::now();
        let name = source_name(&source);
        tracing::info!(target: "wasmcache::reload", component = %name, "reload started");
        let prepared = prepare(
            &shared.engine,
            &source,
            &shared.options,
            &shared.clock,
            &shared.limits,
        );
        let (component, backend) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => {
                tracing::warn!(target: "wasmcache::reload", component = %name, step = %error.step, "reload rejected: {}", error.source);
                let mut counts = shared.counts.lock().unwrap_or_else(PoisonError::into_inner);
                counts.rejected += 1;
                counts.last_error = Some(error.to_string());
                return Err(error);
            }
        };

        let old = shared.current.load_full();
        {
            let _writers = shared.gate.write().unwrap_or_else(PoisonError::into_inner);
            shared.journal.start();
        }
        let mut report = handover::copy(&old.backend, &backend, &shared.handover);
        // Catch up on the writes that raced the copy while writers keep going, so the
        // final replay, with writers held back, is short.
        for _ in 0..CATCH_UP_ROUNDS {
            let writes = shared.journal.take();
            let count = writes.len();
            report.replayed += handover::replay(writes, &backend, shared.clock.now_ms());
            if count <= SHORT_JOURNAL {
                break;
            }
        }
        let generation = {
            let _writers = shared.gate.write().unwrap_or_else(PoisonError::into_inner);
            let rest = shared.journal.finish();
            report.replayed += handover::replay(rest, &backend, shared.clock.now_ms());
            let generation = Generation {
                number: old.number + 1,
                component: component.info().clone(),
                loaded_at: SystemTime::now(),
                backend,
            };
            let number = generation.number;
            shared.current.store(Arc::new(generation));
            number
        };
        drop(old);
        shared
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .reloads += 1;
        let total = started.elapsed();
        tracing::info!(
            target: "wasmcache::reload",
            component = %name,
            generation,
            sha256 = %component.info().sha256,
            handed_over = report.entries,
            replayed = report.replayed,
            millis = total.as_secs_f64() * 1e3,
            "reload swapped"
        );
        Ok(ReloadReport {
            generation,
            component: component.info().clone(),
            handover: report,
            total_ms: total.as_secs_f64() * 1e3,
        })
    }

    /// Runs a write on the current backend, journaling it while a handover copies.
    fn write(
        &self,
        apply: impl FnOnce(&dyn Backend) -> Result<()>,
        journal: impl FnOnce(&Journal, u64),
    ) -> Result<()> {
        let shared = &*self.shared;
        let _writer = shared.gate.read().unwrap_or_else(PoisonError::into_inner);
        apply(&shared.current.load().backend)?;
        if shared.journal.is_active() {
            journal(&shared.journal, shared.clock.now_ms());
        }
        Ok(())
    }
}

fn source_name(source: &Source) -> String {
    match source {
        Source::Bytes { name, .. } => name.clone(),
        Source::Path(path) => path.display().to_string(),
        Source::Component(component) => component.info().name.clone(),
    }
}

/// Reads, compiles, instantiates, initialises and self-checks a component.
fn prepare(
    engine: &Engine,
    source: &Source,
    options: &InitOptions,
    clock: &SharedClock,
    limits: &Limits,
) -> Result<(BackendComponent, WasmBackend), ReloadError> {
    let fail = |step| failed(source, step);
    let component = compile(engine, source)?
        .with_limits(limits.clone())
        .map_err(fail(ReloadStep::Compile))?;
    let backend = component
        .instantiate(options, clock.clone())
        .map_err(fail(ReloadStep::Init))?;
    self_check(&backend).map_err(fail(ReloadStep::SelfCheck))?;
    Ok((component, backend))
}

/// Turns an error at `step` of loading `source` into a [`ReloadError`].
fn failed(source: &Source, step: ReloadStep) -> impl FnOnce(Error) -> ReloadError + '_ {
    move |error| ReloadError {
        name: source_name(source),
        step,
        source: error,
    }
}

/// Reads (for a path) and compiles `source`, checking its world, version and imports.
pub(crate) fn compile(engine: &Engine, source: &Source) -> Result<BackendComponent, ReloadError> {
    let fail = |step| failed(source, step);
    match source {
        Source::Bytes { name, bytes } => BackendComponent::from_bytes(engine, name, bytes),
        Source::Path(path) => {
            let (file_name, bytes) = crate::wasm::read_component_file(path)
                .map_err(|e| fail(ReloadStep::Read)(e.into()))?;
            BackendComponent::from_bytes(engine, &file_name, &bytes)
        }
        Source::Component(component) => Ok(component.clone()),
    }
    .map_err(fail(ReloadStep::Compile))
}

/// Put, get, invalidate and get again on a reserved key; then stats.
fn self_check(backend: &WasmBackend) -> Result<()> {
    let limit = backend.size_limits().max_key_bytes;
    let key = &SELF_CHECK_KEY[..SELF_CHECK_KEY.len().min(limit)];
    let violation = |what: &str| Error::ContractViolation(format!("self-check: {what}"));
    backend.put(key, b"ok", None)?;
    if backend.get(key)?.as_deref() != Some(&b"ok"[..]) {
        return Err(violation("a value just put was not returned"));
    }
    backend.invalidate(Some(key))?;
    if backend.get(key)?.is_some() {
        return Err(violation("an invalidated key was still returned"));
    }
    if backend.stats()?.size != 0 {
        return Err(violation(
            "a fresh backend holding nothing reports a non-zero size",
        ));
    }
    Ok(())
}

impl Backend for BackendHandle {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.shared.current.load().backend.get(key)
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        self.write(
            |backend| backend.put(key, value, ttl_ms),
            |journal, now| journal.put(key, value, ttl_ms, now),
        )
    }

    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        self.write(
            |backend| backend.invalidate(key),
            |journal, _| journal.invalidate(key),
        )
    }

    fn stats(&self) -> Result<BackendStats> {
        let current = self.shared.current.load();
        let mut stats = current.backend.stats()?;
        let counts = self
            .shared
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        stats
            .counters
            .insert("reload-generation".into(), current.number);
        stats
            .counters
            .insert("reload-rejected".into(), counts.rejected);
        Ok(stats)
    }

    fn size_limits(&self) -> SizeLimits {
        self.shared.limits.sizes
    }

    fn entries(&self, cursor: Option<u64>, limit: u32) -> Result<Option<EntryPage>> {
        self.shared.current.load().backend.entries(cursor, limit)
    }
}

impl std::fmt::Debug for BackendHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendHandle")
            .field("current", &*self.shared.current.load())
            .finish_non_exhaustive()
    }
}
