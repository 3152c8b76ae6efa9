//! [`BackendMetrics`]: the per-call metrics of one backend (or shard), with handles
//! registered once so a call costs a clock read and a few atomic adds.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use metrics::{Counter, Histogram, Label};

use super::names;
use crate::backend::Op;
use crate::error::Error;

/// What every series of one backend is labelled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendLabels {
    /// The backend's name: the cache's, or the component the server first loaded. It stays
    /// the same across reloads.
    pub backend: String,
    /// Which shard (`"0"` for a backend that is not sharded).
    pub shard: String,
}

impl BackendLabels {
    /// Labels for shard `shard` of `backend`.
    pub fn new(backend: impl Into<String>, shard: impl ToString) -> Self {
        BackendLabels {
            backend: backend.into(),
            shard: shard.to_string(),
        }
    }

    /// The labels, plus `extra`, as the facade takes them.
    pub(crate) fn with(&self, extra: &[(&'static str, String)]) -> Vec<Label> {
        let mut labels = vec![
            Label::new("backend", self.backend.clone()),
            Label::new("shard", self.shard.clone()),
        ];
        labels.extend(extra.iter().map(|(k, v)| Label::new(*k, v.clone())));
        labels
    }
}

/// The fault kinds [`Error::fault_kind`] names, in the order of
/// [`BackendMetrics::faults`].
const FAULT_KINDS: [&str; 7] = [
    "trap",
    "timeout",
    "out_of_fuel",
    "out_of_memory",
    "contract_violation",
    "restarting",
    "upstream",
];

/// One call in this many is timed for the latency histogram (per thread, over every
/// operation). Timing every call cost more than the 5 % of a guest call allowed
/// (BENCHMARKS.md); a sample of one in 16 keeps the quantiles and costs a fraction.
pub const LATENCY_SAMPLE: u32 = 16;

thread_local! {
    /// Calls made on this thread, to pick the ones timed.
    static CALLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// One operation's series, and the calls counted since they were last handed to the
/// recorder.
#[derive(Debug)]
struct OpSeries {
    calls: Counter,
    latency: Histogram,
    pending: AtomicU64,
}

/// Per-call metrics of one backend: calls and a sampled latency histogram per [`Op`],
/// hits, misses, faults by kind and bypassed calls, each a handle from the recorder
/// installed when it was made (no-ops if none was); an operation's series are registered
/// at its first call.
///
/// Calls, hits and misses are counted in plain atomics and handed to the recorder on the
/// timed calls (one in [`LATENCY_SAMPLE`] per thread) and by [`flush`](Self::flush):
/// through the recorder each count cost more than the 5 % of a guest call allowed.
#[derive(Debug)]
pub struct BackendMetrics {
    labels: BackendLabels,
    /// Per operation, registered at its first call (so operations a backend never sees
    /// add no series).
    ops: [OnceLock<OpSeries>; Op::ALL.len()],
    hits: Counter,
    misses: Counter,
    pending_hits: AtomicU64,
    pending_misses: AtomicU64,
    bypassed: Counter,
    faults: [Counter; FAULT_KINDS.len()],
}

impl BackendMetrics {
    /// Registers the series of the backend `labels` names with the installed recorder.
    pub fn new(labels: BackendLabels) -> Self {
        let faults = FAULT_KINDS
            .map(|kind| metrics::counter!(names::FAULTS, labels.with(&[("kind", kind.into())])));
        BackendMetrics {
            hits: metrics::counter!(names::HITS, labels.with(&[])),
            misses: metrics::counter!(names::MISSES, labels.with(&[])),
            pending_hits: AtomicU64::new(0),
            pending_misses: AtomicU64::new(0),
            bypassed: metrics::counter!(names::BYPASSED, labels.with(&[])),
            ops: Default::default(),
            faults,
            labels,
        }
    }

    /// The labels it was made with.
    pub fn labels(&self) -> &BackendLabels {
        &self.labels
    }

    /// Hands the calls, hits and misses counted since the last flush to the recorder.
    pub fn flush(&self) {
        for series in self.ops.iter().filter_map(OnceLock::get) {
            let calls = series.pending.swap(0, Ordering::Relaxed);
            if calls > 0 {
                series.calls.increment(calls);
            }
        }
        let hits = self.pending_hits.swap(0, Ordering::Relaxed);
        if hits > 0 {
            self.hits.increment(hits);
        }
        let misses = self.pending_misses.swap(0, Ordering::Relaxed);
        if misses > 0 {
            self.misses.increment(misses);
        }
    }

    /// Runs `f`, one call of `op`: counts it, and, if it is one of the sampled, times it
    /// and flushes the counts.
    #[inline]
    pub(crate) fn call<T>(&self, op: Op, f: impl FnOnce() -> T) -> T {
        let series = self.ops[op as usize].get_or_init(|| {
            let labels = self.labels.with(&[("op", op.as_str().into())]);
            OpSeries {
                calls: metrics::counter!(names::CALLS, labels.clone()),
                latency: metrics::histogram!(names::CALL_DURATION, labels),
                pending: AtomicU64::new(0),
            }
        });
        series.pending.fetch_add(1, Ordering::Relaxed);
        let sampled = CALLS.with(|n| {
            let count = n.get().wrapping_add(1);
            n.set(count);
            count % LATENCY_SAMPLE == 0
        });
        if !sampled {
            return f();
        }
        let started = Instant::now();
        let result = f();
        series.latency.record(started.elapsed().as_secs_f64());
        self.flush();
        result
    }

    /// Counts read results: `hits` keys found, `misses` not.
    #[inline]
    pub(crate) fn read(&self, hits: u64, misses: u64) {
        if hits > 0 {
            self.pending_hits.fetch_add(hits, Ordering::Relaxed);
        }
        if misses > 0 {
            self.pending_misses.fetch_add(misses, Ordering::Relaxed);
        }
    }

    /// Counts a call the open breaker bypassed.
    pub(crate) fn bypassed(&self) {
        self.bypassed.increment(1);
    }

    /// Counts `error` under its fault kind, if it is a fault.
    pub(crate) fn fault(&self, error: &Error) {
        if let Some(index) = error
            .fault_kind()
            .and_then(|kind| FAULT_KINDS.iter().position(|k| *k == kind))
        {
            self.faults[index].increment(1);
        }
    }
}
