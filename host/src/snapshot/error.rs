//! Why a snapshot could not be written or read.

use crate::error::Error;

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Reading, writing, flushing or renaming the file failed.
    #[error("snapshot {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a wasmcache snapshot (another program's file, or a wrong path).
    #[error(
        "{path} is not a wasmcache snapshot (it does not start with the snapshot magic); remove it or point --snapshot elsewhere"
    )]
    Foreign {
        /// The file.
        path: String,
    },
    /// A snapshot of a format version this build does not read.
    #[error(
        "{path} is a snapshot of format version {found}; this wasmcache reads versions 1 to {supported}"
    )]
    Version {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
        /// The newest version this build reads (the one it writes).
        supported: u32,
    },
    /// The file is torn, truncated or altered: nothing of it was loaded.
    #[error("snapshot {path} is damaged and was not loaded: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A backend cannot list its entries, so it cannot be saved.
    #[error(
        "backend {index} cannot list its entries (it exports neither `listing` nor `handover`), so it cannot be saved"
    )]
    CannotList {
        /// Which backend.
        index: usize,
    },
    /// A backend failed while listing or restoring.
    #[error("backend {index}: {source}")]
    Backend {
        /// Which backend.
        index: usize,
        /// Why.
        #[source]
        source: Error,
    },
}
