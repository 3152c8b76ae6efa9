//! [`BackendMetrics`]: the per-call metrics of one backend (or shard), with handles
//! registered once so a call costs a clock read and a few atomic adds.

use std::sync::OnceLock;
use std::time::Duration;

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

/// Per-call metrics of one backend: a latency histogram per [`Op`], hits, misses, faults
/// by kind and bypassed calls, each a handle from the recorder installed when it was made
/// (no-ops if none was); an operation's histogram is registered at its first call.
#[derive(Debug)]
pub struct BackendMetrics {
    labels: BackendLabels,
    /// Per operation, registered at its first call (so operations a backend never sees
    /// add no series).
    durations: [OnceLock<Histogram>; Op::ALL.len()],
    hits: Counter,
    misses: Counter,
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
            bypassed: metrics::counter!(names::BYPASSED, labels.with(&[])),
            durations: Default::default(),
            faults,
            labels,
        }
    }

    /// The labels it was made with.
    pub fn labels(&self) -> &BackendLabels {
        &self.labels
    }

    /// Records one call of `op` that took `elapsed`.
    #[inline]
    pub(crate) fn call(&self, op: Op, elapsed: Duration) {
        self.durations[op as usize]
            .get_or_init(|| {
                let labels = self.labels.with(&[("op", op.as_str().into())]);
                metrics::histogram!(names::CALL_DURATION, labels)
            })
            .record(elapsed.as_secs_f64());
    }

    /// Counts read results: `hits` keys found, `misses` not.
    #[inline]
    pub(crate) fn read(&self, hits: u64, misses: u64) {
        if hits > 0 {
            self.hits.increment(hits);
        }
        if misses > 0 {
            self.misses.increment(misses);
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
