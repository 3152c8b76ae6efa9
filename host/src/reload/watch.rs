//! Reloading a [`BackendHandle`] when its component file changes.
//!
//! The watcher listens to the file's directory (editors and build tools often replace a
//! file by renaming a new one over it), waits until the file has been quiet for a short
//! while, and reloads it if its content differs from what is serving and from what was
//! last rejected. So a half-written file is rejected by validation and picked up again once
//! complete; a deleted file keeps the current backend; each complete version reloads once.
//! Consecutive failures back off exponentially, so a broken file does not burn a core.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use notify::{RecursiveMode, Watcher as _};
use sha2::{Digest, Sha256};

use super::{BackendHandle, Source};
use crate::error::{Error, Result};

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

impl BackendHandle {
    /// Reloads this handle whenever the file at `path` changes, until the returned
    /// [`Watcher`] is dropped.
    pub fn watch(&self, path: impl AsRef<Path>, config: WatchConfig) -> Result<Watcher> {
        let (current, target) = (self.clone(), self.clone());
        watch_file(
            path.as_ref(),
            config,
            move || current.current().component.sha256.clone(),
            move |source| target.reload_blocking(source).is_ok(),
        )
    }
}

/// Watches `path`, calling `reload` with each complete new version whose digest differs
/// from `serving()`. `reload` says whether the version was accepted.
pub(crate) fn watch_file(
    path: &Path,
    config: WatchConfig,
    serving: impl Fn() -> String + Send + 'static,
    reload: impl Fn(Source) -> bool + Send + 'static,
) -> Result<Watcher> {
    let path = std::path::absolute(path)
        .map_err(|e| Error::Config(format!("cannot watch {}: {e}", path.display())))?;
    let dir = path
        .parent()
        .ok_or_else(|| {
            Error::Config(format!(
                "cannot watch {}: it has no parent directory",
                path.display()
            ))
        })?
        .to_path_buf();
    let (tx, rx) = mpsc::channel();
    let target = path.clone();
    let mut notify = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event.paths.iter().any(|p| p == &target)
        {
            let _ = tx.send(());
        }
    })
    .map_err(|e| Error::Config(format!("cannot watch {}: {e}", path.display())))?;
    notify
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|e| Error::Config(format!("cannot watch {}: {e}", dir.display())))?;
    let file = path.clone();
    thread::Builder::new()
        .name("wasmcache-watch".into())
        .spawn(move || run(file, rx, config, serving, reload))
        .map_err(|e| Error::Config(format!("cannot start the watcher thread: {e}")))?;
    Ok(Watcher {
        _notify: notify,
        path,
    })
}

/// The watcher thread: ends when the [`Watcher`] (and so the channel's sender) is dropped.
fn run(
    path: PathBuf,
    changes: mpsc::Receiver<()>,
    config: WatchConfig,
    serving: impl Fn() -> String,
    reload: impl Fn(Source) -> bool,
) {
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
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if digest == serving() || rejected.as_ref() == Some(&digest) {
            continue;
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if reload(Source::bytes(name, bytes)) {
            failures = 0;
            rejected = None;
        } else {
            // Already logged by the reload. Back off before trying anything new.
            rejected = Some(digest);
            failures = failures.saturating_add(1);
            let wait = config
                .backoff
                .saturating_mul(1 << (failures - 1).min(16))
                .min(config.backoff_max);
            thread::sleep(wait);
        }
    }
}
