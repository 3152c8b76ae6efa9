//! The cache layer's own counters, and the snapshot callers read.

use std::sync::atomic::{AtomicU64, Ordering};

use super::breaker::BreakerState;
use crate::backend::BackendStats;

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) loads: AtomicU64,
    pub(crate) load_errors: AtomicU64,
    pub(crate) coalesced_waits: AtomicU64,
    pub(crate) backend_faults: AtomicU64,
    pub(crate) bypassed: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    pub(crate) store_errors: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A snapshot of a cache's counters and its backend's own stats.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// The cache's name.
    pub name: String,
    /// Lookups answered from the backend.
    pub hits: u64,
    /// Lookups the backend did not answer (absent, expired, a fault, or bypassed).
    pub misses: u64,
    /// Loader runs (one per flight, however many callers waited on it).
    pub loads: u64,
    /// Loader runs that returned an error (not stored).
    pub load_errors: u64,
    /// Callers that waited for another caller's load instead of running their own.
    pub coalesced_waits: u64,
    /// Backend calls that failed with a guest fault (trap, timeout, memory, contract
    /// violation, or unavailable while restarting).
    pub backend_faults: u64,
    /// Calls that skipped the backend because the breaker was open.
    pub bypassed: u64,
    /// Stored values that did not decode as the cache's value type (treated as misses).
    pub decode_errors: u64,
    /// Values the backend refused or failed to store.
    pub store_errors: u64,
    /// Where the breaker stands.
    pub breaker: BreakerState,
    /// The backend's size and counters, when it could report them.
    pub backend: Option<BackendStats>,
}

impl Counters {
    pub(crate) fn snapshot(
        &self,
        name: &str,
        breaker: BreakerState,
        backend: Option<BackendStats>,
    ) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            name: name.to_string(),
            hits: get(&self.hits),
            misses: get(&self.misses),
            loads: get(&self.loads),
            load_errors: get(&self.load_errors),
            coalesced_waits: get(&self.coalesced_waits),
            backend_faults: get(&self.backend_faults),
            bypassed: get(&self.bypassed),
            decode_errors: get(&self.decode_errors),
            store_errors: get(&self.store_errors),
            breaker,
            backend,
        }
    }
}
