//! Carrying entries from the old backend to the new one, and the journal of writes that
//! race the copy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::cpu_time::thread_cpu_time;

/// Bounds on one handover. When a bound is hit the copy stops and the remaining entries
/// are not carried over (the new backend misses them and the cache reloads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoverLimits {
    /// Most entries copied. Default: 1 000 000.
    pub max_entries: u64,
    /// Most bytes of keys plus values copied. Default: 256 MiB.
    pub max_bytes: u64,
    /// Longest time spent copying, counted in the reloading thread's CPU time (time it
    /// spends descheduled on a busy machine does not count). Default: 2 s.
    pub max_time: Duration,
    /// Entries asked for per `entries` call (the old backend is busy for the length of one
    /// page, so smaller pages mean shorter waits for its callers). Default: 64.
    pub page_size: u32,
}

impl Default for HandoverLimits {
    fn default() -> Self {
        HandoverLimits {
            max_entries: 1_000_000,
            max_bytes: 256 << 20,
            max_time: Duration::from_secs(2),
            page_size: 64,
        }
    }
}

impl HandoverLimits {
    /// No handover: every reload starts cold.
    pub fn none() -> Self {
        HandoverLimits {
            max_entries: 0,
            ..Self::default()
        }
    }
}

/// What a handover carried.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct HandoverReport {
    /// Whether the old backend could list its entries at all.
    pub supported: bool,
    /// Entries copied.
    pub entries: u64,
    /// Bytes of keys and values copied.
    pub bytes: u64,
    /// Entries the new backend refused (too large, full) or failed to store.
    pub refused: u64,
    /// Whether a bound (or a fault of the old backend) stopped the copy early.
    pub truncated: bool,
    /// Writes that raced the copy and were replayed into the new backend.
    pub replayed: u64,
    /// Entries per second over the copy.
    pub entries_per_second: f64,
}

/// Copies the old backend's live entries into the new one through its `put`.
pub(super) fn copy(
    old: &dyn Backend,
    new: &dyn Backend,
    limits: &HandoverLimits,
) -> HandoverReport {
    let span = tracing::info_span!(target: "wasmcache::reload", "handover", entries = tracing::field::Empty, bytes = tracing::field::Empty);
    let _entered = span.enter();
    let report = copy_pages(old, new, limits);
    span.record("entries", report.entries);
    span.record("bytes", report.bytes);
    report
}

/// [`copy`]'s work: page by page, within `limits`.
fn copy_pages(old: &dyn Backend, new: &dyn Backend, limits: &HandoverLimits) -> HandoverReport {
    let started = Instant::now();
    let started_cpu = thread_cpu_time();
    let mut report = HandoverReport::default();
    let mut cursor: Option<Vec<u8>> = None;
    if limits.max_entries == 0 {
        return report;
    }
    'pages: loop {
        let page = match old.entries(cursor.as_deref(), limits.page_size) {
            Ok(Some(page)) => page,
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(target: "wasmcache::reload", "handover stopped: the old backend failed to list entries: {error}");
                report.truncated = true;
                break;
            }
        };
        report.supported = true;
        // The time bound is read once a page (reading CPU time is a system call).
        if thread_cpu_time().saturating_sub(started_cpu) > limits.max_time {
            report.truncated = true;
            break;
        }
        for entry in page.entries {
            let size = (entry.key.len() + entry.value.len()) as u64;
            let out_of_bounds =
                report.entries >= limits.max_entries || report.bytes + size > limits.max_bytes;
            if out_of_bounds {
                report.truncated = true;
                break 'pages;
            }
            match new.put(&entry.key, &entry.value, entry.ttl_remaining_ms) {
                Ok(()) => {
                    report.entries += 1;
                    report.bytes += size;
                }
                Err(_) => report.refused += 1,
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    report.entries_per_second = if seconds > 0.0 {
        report.entries as f64 / seconds
    } else {
        0.0
    };
    report
}

/// A write recorded while a handover copies.
pub(super) enum Write {
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
        at_ms: u64,
    },
    Invalidate(Option<Vec<u8>>),
    SetTtl {
        key: Vec<u8>,
        ttl_ms: Option<u64>,
        at_ms: u64,
    },
}

/// Writes that raced a handover, replayed into the new backend before the swap.
#[derive(Default)]
pub(super) struct Journal {
    active: AtomicBool,
    writes: Mutex<Vec<Write>>,
}

impl Journal {
    /// Starts recording. Called with writers held back, so no write is missed.
    pub(super) fn start(&self) {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.active.store(true, Ordering::SeqCst);
    }

    pub(super) fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    pub(super) fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, at_ms: u64) {
        self.record(Write::Put {
            key: key.to_vec(),
            value: value.to_vec(),
            ttl_ms,
            at_ms,
        });
    }

    pub(super) fn invalidate(&self, key: Option<&[u8]>) {
        self.record(Write::Invalidate(key.map(<[u8]>::to_vec)));
    }

    pub(super) fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>, at_ms: u64) {
        self.record(Write::SetTtl {
            key: key.to_vec(),
            ttl_ms,
            at_ms,
        });
    }

    fn record(&self, write: Write) {
        self.writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(write);
    }

    /// Takes the writes recorded so far (recording goes on).
    pub(super) fn take(&self) -> Vec<Write> {
        std::mem::take(&mut *self.writes.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stops recording and returns what is left.
    pub(super) fn finish(&self) -> Vec<Write> {
        self.active.store(false, Ordering::SeqCst);
        self.take()
    }
}

/// Applies `writes`, in order, to `new`. A put's (or an expiry change's) ttl is shortened
/// by the time since it was written. Returns how many were applied.
pub(super) fn replay(writes: Vec<Write>, new: &dyn Backend, now_ms: u64) -> u64 {
    let mut replayed = 0;
    for write in writes {
        let result = match &write {
            Write::Put {
                key,
                value,
                ttl_ms,
                at_ms,
            } => {
                let remaining = ttl_ms.map(|ttl| ttl.saturating_sub(now_ms.saturating_sub(*at_ms)));
                new.put(key, value, remaining)
            }
            Write::Invalidate(key) => new.invalidate(key.as_deref()),
            Write::SetTtl { key, ttl_ms, at_ms } => {
                let remaining = ttl_ms.map(|ttl| ttl.saturating_sub(now_ms.saturating_sub(*at_ms)));
                new.set_ttl(key, remaining).map(drop)
            }
        };
        match result {
            Ok(()) => replayed += 1,
            Err(error) => {
                tracing::warn!(target: "wasmcache::reload", "replaying a write into the new backend failed: {error}")
            }
        }
    }
    replayed
}
