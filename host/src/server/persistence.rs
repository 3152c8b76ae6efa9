//! Saving the shards to the snapshot file: `SAVE`, `BGSAVE`, `LASTSAVE`, and the save at
//! graceful shutdown. One save runs at a time.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::shards::Shards;
use crate::snapshot::{SaveReport, SnapshotError};

/// Where and how the server saves.
#[derive(Debug)]
pub(crate) struct Persistence {
    path: PathBuf,
    shards: Arc<Shards>,
    saving: AtomicBool,
    /// Unix seconds of the last successful save (or of the start).
    last_save: AtomicU64,
    last_failed: AtomicBool,
}

/// Why a save did not happen.
#[derive(Debug)]
pub(crate) enum SaveFailed {
    /// Another save is running.
    Busy,
    /// The save ran and failed.
    Failed(SnapshotError),
}

fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Clears `saving` when a save ends, however it ends.
struct Saving<'a>(&'a AtomicBool);

impl Drop for Saving<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Persistence {
    pub(crate) fn new(path: PathBuf, shards: Arc<Shards>) -> Self {
        Persistence {
            path,
            shards,
            saving: AtomicBool::new(false),
            last_save: AtomicU64::new(unix_secs()),
            last_failed: AtomicBool::new(false),
        }
    }

    fn begin(&self) -> Result<Saving<'_>, SaveFailed> {
        self.saving
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Saving(&self.saving))
            .map_err(|_| SaveFailed::Busy)
    }

    fn save_now(&self, _saving: Saving<'_>) -> Result<SaveReport, SaveFailed> {
        match self.shards.save_snapshot(&self.path) {
            Ok(report) => {
                self.last_save.store(unix_secs(), Ordering::Relaxed);
                self.last_failed.store(false, Ordering::Relaxed);
                tracing::info!(target: "wasmcache::server", path = %self.path.display(), entries = report.entries, bytes = report.bytes, ms = report.elapsed.as_millis() as u64, "snapshot saved");
                Ok(report)
            }
            Err(error) => {
                self.last_failed.store(true, Ordering::Relaxed);
                tracing::warn!(target: "wasmcache::server", path = %self.path.display(), "snapshot not saved: {error}");
                Err(SaveFailed::Failed(error))
            }
        }
    }

    /// Saves now, on this thread.
    pub(crate) fn save(&self) -> Result<SaveReport, SaveFailed> {
        let saving = self.begin()?;
        self.save_now(saving)
    }

    /// Saves once any save already running has finished: the last save, at shutdown.
    pub(crate) fn save_at_shutdown(&self) -> Result<SaveReport, SnapshotError> {
        loop {
            match self.save() {
                Err(SaveFailed::Busy) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(SaveFailed::Failed(error)) => return Err(error),
                Ok(report) => return Ok(report),
            }
        }
    }

    /// Starts a save on a thread of its own.
    pub(crate) fn save_in_background(self: &Arc<Self>) -> Result<(), SaveFailed> {
        // Claimed here so a second BGSAVE is refused at once.
        let claimed = self.begin()?;
        std::mem::forget(claimed);
        let this = self.clone();
        std::thread::Builder::new()
            .name("wasmcache-save".into())
            .spawn(move || {
                let _ = this.save_now(Saving(&this.saving));
            })
            .map(|_| ())
            .map_err(|error| {
                self.saving.store(false, Ordering::Release);
                SaveFailed::Failed(SnapshotError::Io {
                    path: self.path.display().to_string(),
                    source: error,
                })
            })
    }

    /// Unix seconds of the last successful save.
    pub(crate) fn last_save(&self) -> u64 {
        self.last_save.load(Ordering::Relaxed)
    }

    /// Whether a save is running.
    pub(crate) fn in_progress(&self) -> bool {
        self.saving.load(Ordering::Acquire)
    }

    /// Whether the last save failed.
    pub(crate) fn last_failed(&self) -> bool {
        self.last_failed.load(Ordering::Relaxed)
    }
}
