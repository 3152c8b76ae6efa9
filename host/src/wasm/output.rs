//! [`GuestOutput`]: where a guest's `log` calls and stdout/stderr go, within a per-call
//! budget, with the tail of its stderr kept for error messages.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Where a guest's log messages and stdout/stderr go: `tracing`, under the target
/// `wasmcache::guest`, tagged with the backend's name, capped per call.
#[derive(Clone)]
pub(crate) struct GuestOutput {
    pub(crate) backend: Arc<str>,
    /// Bytes the guest may still write during the current call.
    pub(crate) budget: Arc<AtomicUsize>,
    /// Bytes dropped because the budget ran out, over the backend's life.
    pub(crate) dropped: Arc<AtomicU64>,
    /// Counts calls, so output can be attributed to the current one.
    pub(crate) call: Arc<AtomicU64>,
    /// The tail of what the guest wrote to stderr (a panic message, typically) in the call
    /// numbered by the first field, kept whatever the budget, up to [`LAST_STDERR_BYTES`].
    pub(crate) last_stderr: Arc<Mutex<(u64, String)>>,
}

/// How much of the guest's last stderr line is kept for error messages.
const LAST_STDERR_BYTES: usize = 512;

/// Severity of guest output, mapped onto `tracing` levels.
#[derive(Debug, Clone, Copy)]
pub(crate) enum OutputLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl GuestOutput {
    pub(crate) fn new(backend: Arc<str>, dropped: Arc<AtomicU64>) -> Self {
        GuestOutput {
            backend,
            budget: Arc::new(AtomicUsize::new(0)),
            dropped,
            call: Arc::default(),
            last_stderr: Arc::default(),
        }
    }

    /// Keeps the tail of what the guest wrote to stderr during the current call.
    fn remember_stderr(&self, text: &str) {
        let call = self.call.load(Ordering::Relaxed);
        let mut last = self
            .last_stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.0 != call {
            *last = (call, String::new());
        }
        let tail = &mut last.1;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !tail.is_empty() {
                tail.push_str(" | ");
            }
            tail.push_str(line);
        }
        if tail.len() > LAST_STDERR_BYTES {
            let mut start = tail.len() - LAST_STDERR_BYTES;
            while !tail.is_char_boundary(start) {
                start += 1;
            }
            tail.drain(..start);
        }
    }

    /// The tail of what the guest wrote to stderr during the current call, if anything.
    pub(crate) fn last_stderr(&self) -> Option<String> {
        let (call, line) = &*self
            .last_stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (*call == self.call.load(Ordering::Relaxed)).then(|| line.clone())
    }

    /// Emits `text` from `stream` (`log`, `stdout` or `stderr`) within the call's budget.
    pub(crate) fn emit(&self, level: OutputLevel, stream: &str, text: &str) {
        if stream == "stderr" {
            self.remember_stderr(text);
        }
        let wanted = text.len();
        let granted = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(wanted))
            })
            .unwrap_or(0)
            .min(wanted);
        if granted < wanted {
            self.dropped
                .fetch_add((wanted - granted) as u64, Ordering::Relaxed);
        }
        let mut end = granted;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let text = text[..end].trim_end();
        if text.is_empty() {
            return;
        }
        let backend = &*self.backend;
        match level {
            OutputLevel::Trace => {
                tracing::trace!(target: "wasmcache::guest", backend, stream, "{text}")
            }
            OutputLevel::Debug => {
                tracing::debug!(target: "wasmcache::guest", backend, stream, "{text}")
            }
            OutputLevel::Info => {
                tracing::info!(target: "wasmcache::guest", backend, stream, "{text}")
            }
            OutputLevel::Warn => {
                tracing::warn!(target: "wasmcache::guest", backend, stream, "{text}")
            }
            OutputLevel::Error => {
                tracing::error!(target: "wasmcache::guest", backend, stream, "{text}")
            }
        }
    }
}
