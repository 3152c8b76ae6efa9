//! The guard: the one wrapper that owns fail-open reads, fault counting and the circuit
//! breaker, around any [`Backend`].
//!
//! The cache layer and the server both drive their backends through a [`Guard`], so the
//! policy lives in one place:
//!
//! - a guest fault (trap, timeout, memory, contract violation, restart back-off) on a read
//!   is answered as [`Lookup::Unavailable`] (a miss to a caller that only knows hits and
//!   misses), counted, and logged under the target `wasmcache::guard`;
//! - a fault on a write is counted and returned;
//! - after [`BreakerConfig::failure_threshold`] faults in a row the breaker bypasses the
//!   backend for [`BreakerConfig::cool_down`], then lets one call probe it: reads are then
//!   `Unavailable` and writes fail with [`Error::BreakerOpen`];
//! - anything else (a refusal, a key over the size limit) is the caller's doing: returned
//!   as it is, and never opens the breaker.
//!
//! ```
//! use std::sync::Arc;
//! use wasmcache::{Backend, BreakerConfig, Guard, Lookup, MemoryBackend, SystemClock};
//!
//! let clock = SystemClock::shared();
//! let guard = Guard::new("users", Arc::new(MemoryBackend::new(clock.clone())), BreakerConfig::default(), clock);
//! guard.put(b"k", b"v", None)?;
//! assert!(matches!(guard.lookup(b"k")?, Lookup::Hit(v) if v == b"v"));
//! assert!(matches!(guard.lookup(b"absent")?, Lookup::Miss));
//! assert_eq!(guard.faults(), 0);
//! # Ok::<(), wasmcache::Error>(())
//! ```

mod breaker;

use std::sync::Arc;

pub use breaker::{BreakerConfig, BreakerState};

use self::breaker::Breaker;
use crate::backend::{
    Backend, BackendStats, EntryPage, Expiry, KeyPage, MemoryUse, Op, PutItem, SizeLimits,
};
use crate::clock::SharedClock;
use crate::counter::Counter;
use crate::error::{Error, Result};
use crate::telemetry::{BackendLabels, BackendMetrics};

/// What a guarded read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The backend holds the key.
    Hit(Vec<u8>),
    /// The backend answered: not there.
    Miss,
    /// The backend did not answer: a fault, or bypassed by the open breaker.
    Unavailable,
}

/// Fail-open reads, fault counting and a breaker around one backend: the policy the cache
/// layer and the server share. A fault on a read is [`Lookup::Unavailable`]; on a write, an
/// error; after [`BreakerConfig::failure_threshold`] faults in a row the backend is bypassed
/// for [`BreakerConfig::cool_down`], then one call probes it.
pub struct Guard {
    name: Arc<str>,
    backend: Arc<dyn Backend>,
    breaker: Breaker,
    faults: Counter,
    bypassed: Counter,
    /// Per-call metrics, when [metered](Guard::metered).
    metrics: Option<BackendMetrics>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("name", &self.name)
            .field("breaker", &self.breaker.state())
            .field("faults", &self.faults.get())
            .finish_non_exhaustive()
    }
}

impl Guard {
    /// Guards `backend`, called `name` in logs; the breaker's cool-down runs on `clock`.
    pub fn new(
        name: impl Into<Arc<str>>,
        backend: Arc<dyn Backend>,
        breaker: BreakerConfig,
        clock: SharedClock,
    ) -> Self {
        Guard {
            name: name.into(),
            backend,
            breaker: Breaker::new(breaker, clock),
            faults: Counter::default(),
            bypassed: Counter::default(),
            metrics: None,
        }
    }

    /// Records every call's latency, hits, misses, faults by kind and bypassed calls
    /// through the [`metrics`] facade, labelled with `labels` (see
    /// [`telemetry`](crate::telemetry)). The handles are registered now, with the recorder
    /// installed now: install it first. A metered call costs a few atomic adds more (and
    /// one in [`LATENCY_SAMPLE`](crate::telemetry::LATENCY_SAMPLE) two clock reads).
    pub fn metered(mut self, labels: BackendLabels) -> Self {
        self.metrics = Some(BackendMetrics::new(labels));
        self
    }

    /// Hands the metrics' pending counts to the recorder (they otherwise reach it on
    /// every 16th call a thread makes; see [`BackendMetrics`]). A no-op when not metered.
    pub fn flush_metrics(&self) {
        if let Some(metrics) = &self.metrics {
            metrics.flush();
        }
    }

    /// The labels its metrics carry, when metered.
    pub fn metric_labels(&self) -> Option<&BackendLabels> {
        self.metrics.as_ref().map(BackendMetrics::labels)
    }

    /// The guarded backend.
    pub fn get_ref(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Guest faults seen so far (reads, writes and stats alike).
    pub fn faults(&self) -> u64 {
        self.faults.get()
    }

    /// Calls that bypassed the backend because the breaker was open.
    pub fn bypassed(&self) -> u64 {
        self.bypassed.get()
    }

    /// Where the breaker stands.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Looks `key` up, failing open: a fault or a bypass is [`Lookup::Unavailable`]. Errors
    /// are only what the caller caused (a key over the limit, a refusal).
    pub fn lookup(&self, key: &[u8]) -> Result<Lookup> {
        match self.call(Op::Get, |backend| backend.get(key)) {
            Ok(Some(value)) => {
                self.read(1, 0);
                Ok(Lookup::Hit(value))
            }
            Ok(None) => {
                self.read(0, 1);
                Ok(Lookup::Miss)
            }
            Err(Error::BreakerOpen) => Ok(Lookup::Unavailable),
            // A guest fault reads as a miss; a shared tier that did not answer is the
            // caller's to see (the tier's own policy already chose error or miss).
            Err(error) if error.is_guest_fault() => Ok(Lookup::Unavailable),
            Err(error) => Err(error),
        }
    }

    /// Counts read results in the metrics.
    #[inline]
    fn read(&self, hits: u64, misses: u64) {
        if let Some(metrics) = &self.metrics {
            metrics.read(hits, misses);
        }
    }

    /// Runs one call through the breaker, counting and logging a fault.
    fn call<T>(&self, op: Op, f: impl FnOnce(&dyn Backend) -> Result<T>) -> Result<T> {
        self.guarded(op, || f(&*self.backend))
    }

    /// Runs `f`, one call to this guard's backend made by a caller that holds it by its own
    /// type, through the breaker: bypassed while it is open, a fault counted and logged.
    pub fn guarded<T>(&self, op: Op, f: impl FnOnce() -> Result<T>) -> Result<T> {
        if !self.breaker.allow() {
            self.bypassed.bump();
            if let Some(metrics) = &self.metrics {
                metrics.bypassed();
            }
            return Err(Error::BreakerOpen);
        }
        let result = match &self.metrics {
            Some(metrics) => metrics.call(op, f),
            None => f(),
        };
        match &result {
            Ok(_) => self.breaker.record_success(),
            Err(error) if error.is_fault() => {
                self.faults.bump();
                if let Some(metrics) = &self.metrics {
                    metrics.fault(error);
                }
                let opened = self.breaker.record_fault();
                tracing::warn!(target: "wasmcache::guard", backend = &*self.name, op = op.as_str(), breaker_opened = opened, "backend fault: {error}");
            }
            // A refusal comes from a backend that answered; a limit is the caller's doing.
            Err(Error::Refused(_)) => self.breaker.record_success(),
            Err(_) => self.breaker.record_neutral(),
        }
        result
    }
}

/// The guard is a backend too: reads fail open (a fault reads as a miss), writes report
/// faults and the open breaker as errors.
impl Backend for Guard {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.lookup(key)? {
            Lookup::Hit(value) => Ok(Some(value)),
            Lookup::Miss | Lookup::Unavailable => Ok(None),
        }
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        self.call(Op::Put, |backend| backend.put(key, value, ttl_ms))
    }

    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        self.call(Op::Invalidate, |backend| backend.invalidate(key))
    }

    fn stats(&self) -> Result<BackendStats> {
        self.call(Op::Stats, |backend| backend.stats())
    }

    fn size(&self) -> Result<u64> {
        self.call(Op::Size, |backend| backend.size())
    }

    fn size_limits(&self) -> SizeLimits {
        self.backend.size_limits()
    }

    fn entries(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<EntryPage>> {
        self.call(Op::Entries, |backend| backend.entries(cursor, limit))
    }

    fn memory_use(&self) -> Result<Option<MemoryUse>> {
        self.call(Op::MemoryUse, |backend| backend.memory_use())
    }

    fn keys(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<KeyPage>> {
        self.call(Op::Keys, |backend| backend.keys(cursor, limit))
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        self.call(Op::Remove, |backend| backend.remove(key))
    }

    fn ttl(&self, key: &[u8]) -> Result<Option<Expiry>> {
        self.call(Op::Ttl, |backend| backend.ttl(key))
    }

    fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
        self.call(Op::SetTtl, |backend| backend.set_ttl(key, ttl_ms))
    }

    /// Fails open like `get`: a fault reads as misses for the whole batch.
    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        match self.call(Op::GetMany, |backend| backend.get_many(keys)) {
            Err(Error::BreakerOpen) => Ok(vec![None; keys.len()]),
            Err(error) if error.is_guest_fault() => Ok(vec![None; keys.len()]),
            Ok(values) => {
                if self.metrics.is_some() {
                    let hits = values.iter().filter(|v| v.is_some()).count() as u64;
                    self.read(hits, values.len() as u64 - hits);
                }
                Ok(values)
            }
            other => other,
        }
    }

    fn put_many(&self, items: &[PutItem<'_>]) -> Result<Vec<Result<()>>> {
        self.call(Op::PutMany, |backend| backend.put_many(items))
    }

    fn remove_many(&self, keys: &[&[u8]]) -> Result<Vec<bool>> {
        self.call(Op::RemoveMany, |backend| backend.remove_many(keys))
    }
}
