//! [`Counter`]: the one event count every layer keeps (the guard, the cache layer, the wasm
//! backend, the server), so each counts the same way.

use std::sync::atomic::{AtomicU64, Ordering};

/// A count of events, shared between threads. Relaxed: each count is exact, but counts
/// read together are not a consistent snapshot of one moment.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Counts one event.
    pub(crate) fn bump(&self) {
        self.add(1);
    }

    /// Counts `n` events.
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Starts the count again from zero (`CONFIG RESETSTAT`).
    pub(crate) fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }

    /// The count so far.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
