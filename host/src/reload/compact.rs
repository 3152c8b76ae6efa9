//! Compaction: the serving version started again on a fresh instance, its entries handed
//! over, so memory the old instance grew and can never shrink goes back.
//!
//! A wasm guest's linear memory only grows: a backend that once held 500 MB and now holds
//! 5 MB still holds 500 MB. A compaction is a reload of the same factory, with the same
//! handover and journal (no write is lost, writers wait only for the swap), that keeps the
//! generation number and is counted apart from reloads. It needs every entry copied: a
//! backend that cannot list its entries is never compacted, and a handover cut short by
//! its bounds abandons the compaction, leaving the old instance serving.

use std::time::Instant;

use super::handle::{BackendHandle, Swap};
use super::report::{ReloadError, ReloadReport, ReloadStep};
use super::source::Source;
use crate::backend::{Backend, MemoryUse};
use crate::error::Error;

/// When a backend holds enough more memory than its entries need to be worth compacting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactPolicy {
    /// Below this much held memory a compaction is not worth its copy. Default: 64 MiB.
    pub min_held_bytes: u64,
    /// Compact when held memory is more than this many times what the live entries need.
    /// Default: 4.
    pub max_held_per_live: u64,
}

impl Default for CompactPolicy {
    fn default() -> Self {
        CompactPolicy {
            min_held_bytes: 64 << 20,
            max_held_per_live: 4,
        }
    }
}

impl CompactPolicy {
    /// Whether a backend using memory this way should be compacted.
    pub fn wants(&self, memory: MemoryUse) -> bool {
        memory.held_bytes >= self.min_held_bytes
            && memory.held_bytes / self.max_held_per_live.max(1) > memory.live_bytes
    }
}

impl BackendHandle {
    /// Compacts the backend when `policy` says its memory is sparse; `Ok(None)` when it
    /// is not, or when the backend has nothing a compaction would give back (a native
    /// backend, a component without `handover`). Blocks for the length of the handover:
    /// call it off latency-sensitive threads.
    pub fn compact_if_sparse(
        &self,
        policy: &CompactPolicy,
    ) -> Result<Option<ReloadReport>, ReloadError> {
        let current = self.current();
        let memory = current.backend.memory_use().map_err(ReloadError::at(
            current.component.name.clone(),
            ReloadStep::Handover,
        ))?;
        match memory {
            Some(memory) if policy.wants(memory) => self.compact_blocking().map(Some),
            _ => Ok(None),
        }
    }

    /// Starts the serving version again on a fresh instance and hands every entry over,
    /// keeping the generation number. Fails, with the old instance still serving, when
    /// the backend cannot list its entries or the handover could not copy all of them.
    pub fn compact_blocking(&self) -> Result<ReloadReport, ReloadError> {
        let _one_at_a_time = self.lock_reloads();
        let _span = tracing::info_span!(target: "wasmcache::reload", "compaction").entered();
        let started = Instant::now();
        let current = self.current();
        let name = current.component.name.clone();
        let source = Source::Factory(current.factory.clone());
        drop(current);
        let prepared = self.prepare(&source)?;
        let staged = self.stage(prepared);
        let copied = staged.handover();
        if !copied.supported || copied.truncated || copied.refused > 0 {
            let reason = if copied.supported {
                format!(
                    "compaction abandoned: the handover copied {} entries, refused {}{}",
                    copied.entries,
                    copied.refused,
                    if copied.truncated {
                        ", and stopped at its bounds"
                    } else {
                        ""
                    }
                )
            } else {
                "compaction abandoned: the backend cannot list its entries".to_string()
            };
            self.abandon(staged);
            return Err(ReloadError::at(name, ReloadStep::Handover)(
                Error::Internal { reason },
            ));
        }
        let gate = self.hold_writers();
        let report = self.commit(staged, &gate, started, Swap::Compaction);
        drop(gate);
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_memory_above_the_floor_is_compacted() {
        let policy = CompactPolicy::default();
        let use_ = |held: u64, live: u64| MemoryUse {
            held_bytes: held << 20,
            live_bytes: live << 20,
        };
        assert!(policy.wants(use_(200, 10)), "20× its entries");
        assert!(policy.wants(use_(200, 0)), "empty");
        assert!(!policy.wants(use_(200, 60)), "about 3× its entries");
        assert!(!policy.wants(use_(32, 0)), "below the floor");
    }
}
