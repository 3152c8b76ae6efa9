//! The cache layer's own counters, and the snapshot callers read.

use crate::backend::BackendStats;
use crate::counter::Counter;
use crate::guard::{BreakerState, Guard};

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) hits: Counter,
    pub(crate) misses: Counter,
    pub(crate) loads: Counter,
    pub(crate) load_errors: Counter,
    pub(crate) coalesced_waits: Counter,
    pub(crate) decode_errors: Counter,
    pub(crate) store_errors: Counter,
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
    /// violation, or unavailable while restarting), as the guard counted them.
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
        guard: &Guard,
        backend: Option<BackendStats>,
    ) -> CacheStats {
        CacheStats {
            name: name.to_string(),
            hits: self.hits.get(),
            misses: self.misses.get(),
            loads: self.loads.get(),
            load_errors: self.load_errors.get(),
            coalesced_waits: self.coalesced_waits.get(),
            backend_faults: guard.faults(),
            bypassed: guard.bypassed(),
            decode_errors: self.decode_errors.get(),
            store_errors: self.store_errors.get(),
            breaker: guard.breaker_state(),
            backend,
        }
    }
}
