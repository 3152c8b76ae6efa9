//! Reloading a [`BackendHandle`](super::BackendHandle) or a
//! [`BackendGroup`](super::BackendGroup) when its component file changes.
//!
//! The watcher listens to the file's directory (editors and build tools often replace a
//! file by renaming a new one over it). It acts on a version only once it is complete: on
//! Linux, when the writer closes the file or a file is renamed over it (not on each
//! write, so a writer that is descheduled half way through is not read half way
//! through, however busy the machine); elsewhere, after the file has been quiet for the
//! debounce interval. It reloads the file if its content differs from what is serving
//! and from what was last rejected. A version that is complete but invalid is rejected
//! once; a deleted file keeps the current backend; each complete version reloads once.
//! Consecutive failures back off exponentially, so a broken file does not burn a core.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};

use super::source::Source;
use crate::error::{ConfigError, Result};
use crate::retry::Backoff;

/// How the watcher debounces and backs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchConfig {
    /// How long the file must be quiet before it is read. Default: 100 ms.
    pub debounce: Duration,
    /// Wait after the first failed reload, doubling per consecutive failure. Default:
    /// 250 ms.
    pub backoff: Duration,
    /// Longest wait between attempts after failures. Default: 30 s.
    pub backoff_max: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            debounce: Duration::from_millis(100),
            backoff: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        }
    }
}

/// Watches a component file for as long as it lives; drop it to stop.
pub struct Watcher {
    _notify: notify::RecommendedWatcher,
    path: PathBuf,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// What a watcher reloads: a handle or a group of them.
pub(crate) trait Reloadable: Send + Sync + 'static {
    /// The digest of what serves now.
    fn serving_sha256(&self) -> Option<String>;
    /// Reloads from `source`; whether it was accepted (a rejection is already logged).
    fn reload_source(&self, source: Source) -> bool;
}

/// Watches `path`, reloading `target` with each complete new version whose digest
/// differs from what serves.
pub(crate) fn spawn(
    path: &Path,
    config: WatchConfig,
    target: Arc<dyn Reloadable>,
) -> Result<Watcher> {
    let cannot = |path: &Path, reason: String| ConfigError::Watch {
        path: path.display().to_string(),
        reason,
    };
    let path = std::path::absolute(path).map_err(|e| cannot(path, e.to_string()))?;
    let dir = path
        .parent()
        .ok_or_else(|| cannot(&path, "it has no parent directory".into()))?
        .to_path_buf();
    let (tx, rx) = mpsc::channel();
    let file = path.clone();
    let mut notify = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && completes_a_version(&event.kind)
            && event.paths.iter().any(|p| p == &file)
        {
            let _ = tx.send(());
        }
    })
    .map_err(|e| cannot(&path, e.to_string()))?;
    notify
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| cannot(&dir, e.to_string()))?;
    let file = path.clone();
    thread::Builder::new()
        .name("wasmcache-watch".into())
        .spawn(move || run(file, rx, config, &*target))
        .map_err(|source| ConfigError::Thread {
            name: "watcher",
            source,
        })?;
    Ok(Watcher {
        _notify: notify,
        path,
    })
}

/// Whether a file event means a version of the file is complete.
#[cfg(target_os = "linux")]
fn completes_a_version(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
    matches!(
        kind,
        EventKind::Access(AccessKind::Close(AccessMode::Write))
            | EventKind::Modify(ModifyKind::Name(_))
            | EventKind::Remove(_)
    )
}

/// Whether a file event means a version of the file may be complete (no close events
/// here: the debounce decides).
#[cfg(not(target_os = "linux"))]
fn completes_a_version(_kind: &notify::EventKind) -> bool {
    true
}

/// The watcher thread: ends when the [`Watcher`] (and so the channel's sender) is dropped.
fn run(path: PathBuf, changes: mpsc::Receiver<()>, config: WatchConfig, target: &dyn Reloadable) {
    let backoff = Backoff {
        first: config.backoff,
        max: config.backoff_max,
    };
    let mut rejected: Option<String> = None;
    let mut failures = 0u32;
    while changes.recv().is_ok() {
        // Debounce: wait for a quiet spell.
        loop {
            match changes.recv_timeout(config.debounce) {
                Ok(()) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::info!(target: "wasmcache::reload", path = %path.display(), "not reloading: {error}; the current backend keeps serving");
                continue;
            }
        };
        let digest = crate::digest::sha256_hex(&bytes);
        if target.serving_sha256().as_ref() == Some(&digest) || rejected.as_ref() == Some(&digest) {
            continue;
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if target.reload_source(Source::bytes(name, bytes)) {
            failures = 0;
            rejected = None;
        } else {
            // Already logged by the reload. Back off before trying anything new.
            rejected = Some(digest);
            failures = failures.saturating_add(1);
            thread::sleep(backoff.after(failures));
        }
    }
}
