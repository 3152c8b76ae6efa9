//! [`StoreLimiter`]: the sandbox's memory, table and instance caps, enforced on each store.

use std::sync::Arc;

use wasmtime::ResourceLimiter;

use crate::sandbox::Limits;

/// Applies one backend's [`Limits`] to its store, and remembers whether the guest was
/// refused memory during the current call (so a trap that follows reads as out of memory).
pub(crate) struct StoreLimiter {
    limits: Arc<Limits>,
    pub(crate) memory_denied: bool,
}

impl StoreLimiter {
    pub(crate) fn new(limits: Arc<Limits>) -> Self {
        StoreLimiter {
            limits,
            memory_denied: false,
        }
    }
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.limits.max_memory_bytes;
        if !allowed {
            self.memory_denied = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.limits.max_table_elements)
    }

    fn instances(&self) -> usize {
        self.limits.max_instances
    }

    fn tables(&self) -> usize {
        self.limits.max_tables
    }

    fn memories(&self) -> usize {
        self.limits.max_memories
    }
}
