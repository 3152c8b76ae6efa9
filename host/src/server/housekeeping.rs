//! Giving memory back while the server runs: compacting shards whose memory is sparse, and
//! returning the heap pages closed connections freed.
//!
//! Every few seconds the server's accept loop calls [`Housekeeping::tick`]; the work runs on
//! a blocking thread, one round at a time, so the async workers never wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::shards::Shards;
use crate::reload::CompactPolicy;

/// How often the server looks for memory to give back.
pub(super) const TICK: Duration = Duration::from_secs(5);
/// How many closed connections make it worth returning the heap's free pages.
const TRIM_AFTER_CLOSED: usize = 100;

pub(super) struct Housekeeping {
    shards: Arc<Shards>,
    compact: Option<CompactPolicy>,
    /// Connections closed since free heap pages were last returned.
    closed_since_trim: AtomicUsize,
    /// A round is running.
    busy: AtomicBool,
}

impl Housekeeping {
    pub(super) fn new(shards: Arc<Shards>, compact: Option<CompactPolicy>) -> Self {
        Housekeeping {
            shards,
            compact,
            closed_since_trim: AtomicUsize::new(0),
            busy: AtomicBool::new(false),
        }
    }

    /// Notes a closed connection.
    pub(super) fn connection_closed(&self) {
        self.closed_since_trim.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts a round on a blocking thread, unless one is running.
    pub(super) fn tick(self: &Arc<Self>) {
        if self.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            this.round();
            this.busy.store(false, Ordering::Release);
        });
    }

    /// Compacts every sparse shard, then returns free heap pages if a compaction ran or
    /// many connections closed.
    fn round(&self) {
        let mut compacted = false;
        if let Some(policy) = &self.compact {
            for (shard, handle) in self.shards.group().handles().iter().enumerate() {
                match handle.compact_if_sparse(policy) {
                    Ok(Some(report)) => {
                        compacted = true;
                        tracing::info!(
                            target: "wasmcache::server",
                            shard,
                            entries = report.handover.entries,
                            millis = report.total_ms,
                            "shard compacted"
                        );
                    }
                    Ok(None) => {}
                    Err(error) => tracing::warn!(
                        target: "wasmcache::server",
                        shard,
                        "compaction failed: {error}"
                    ),
                }
            }
        }
        let closed = self.closed_since_trim.load(Ordering::Relaxed);
        if compacted || closed >= TRIM_AFTER_CLOSED {
            self.closed_since_trim.store(0, Ordering::Relaxed);
            crate::heap::return_free_pages();
        }
    }
}
