//! [`StoreLimiter`]: the sandbox's memory, table and instance caps, enforced on each store.

use std::sync::Arc;

use wasmtime::ResourceLimiter;

use crate::sandbox::Limits;

/// Applies one backend's [`Limits`] to its store, and remembers whether the guest was
/// refused memory during the current call (so a trap that follows reads as out of memory).
pub(crate) struct StoreLimiter {
    limits: Arc<Limits>,
    pub(crate) memory_denied: bool,
    /// Bytes of linear memory the instance holds, over all its memories.
    pub(crate) memory_bytes: usize,
}

impl StoreLimiter {
    pub(crate) fn new(limits: Arc<Limits>) -> Self {
        StoreLimiter {
            limits,
            memory_denied: false,
            memory_bytes: 0,
        }
    }
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.limits.max_memory_bytes;
        if allowed {
            // Called for each memory's initial size too (from zero), so this is the sum.
            self.memory_bytes = self
                .memory_bytes
                .saturating_add(desired.saturating_sub(current));
        } else {
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
