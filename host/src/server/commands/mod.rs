//! The commands the server answers, each mapped onto the backend contract through the
//! shards' guards (which own fail-open reads and fault counting).
//!
//! What the contract cannot express is refused with an `-ERR` that says why: a backend
//! stores bytes under a key, so the other data types, pub/sub and scripting are refused.
//! Contract 0.2's `ttl` and `set-ttl` carry the expiry commands; a 0.1 backend answers
//! those that need to read a ttl with an error.

mod admin;
mod bits;
mod command_info;
mod connection;
mod context;
mod cursors;
mod dispatch;
mod expiry;
mod info;
mod keys;
mod latency;
mod lcs;
mod moves;
mod names;
mod pipeline;
mod scan;
mod slowlog;
mod stats;
mod strings;
mod transaction;
mod unsupported;

pub(crate) use context::{Context, Next, ServerFacts, Session};
pub(crate) use cursors::ScanCursors;
pub(crate) use dispatch::execute;
pub(crate) use pipeline::Pipeline;
pub(crate) use stats::Counters;
pub(crate) use transaction::{Gate, gate};
