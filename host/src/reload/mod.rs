//! Hot reload: swap the backend behind a [`BackendHandle`] while it serves.
//!
//! A reload resolves the new version (reads and compiles a component with the handle's
//! [`Loader`](crate::Loader), or takes a ready [`BackendFactory`](crate::BackendFactory)),
//! runs `init` with the handle's options, runs a short self-check (put, get, invalidate
//! on an unpredictable key), hands the old backend's entries over when it can list them
//! (the contract's optional `handover` interface), and only then swaps it in atomically.
//! Calls already running finish on the old backend; it is dropped when the last of them
//! returns. If any step fails the old backend keeps serving, untouched, and the caller
//! learns which step failed ([`ReloadStep`]). There is never a moment with no backend.
//! Everything here works on `dyn Backend`: a native backend reloads like a component.
//!
//! # Writes during a handover
//!
//! While entries are copied, writes keep going to the old backend and are also recorded
//! in a journal. Just before the swap, writers are held back for the moment it takes to
//! replay the journal into the new backend (each `put` with its remaining ttl), then the
//! new backend takes over. So a write is never lost, and writers wait only for the replay,
//! not for the copy. Reads are never held back.
//!
//! # Files
//!
//! `handle` holds [`BackendHandle`] and its builder; `group` the [`BackendGroup`] of a
//! server's shards; `source` where a version comes from; `prepare` the init and
//! self-check; `handover` the copy and the journal; `compact` the same version restarted to
//! give memory back; `watch` the file watcher; `report` what a reload reports.

mod compact;
mod group;
mod handle;
mod handover;
mod prepare;
mod report;
mod source;
mod watch;

pub use compact::CompactPolicy;
pub use group::BackendGroup;
pub use handle::{BackendHandle, Generation, HandleBuilder};
pub use handover::{HandoverLimits, HandoverReport};
pub use report::{HandleStatus, ReloadError, ReloadReport, ReloadStep};
pub use source::Source;
pub use watch::{WatchConfig, Watcher};
