//! The [`Backend`] trait: the contract, in Rust.
//!
//! Everything above this trait (the guard, the cache layer, reload, the conformance suite,
//! the server, the benches) drives a `dyn Backend` made by a `dyn` [`BackendFactory`] and
//! never knows whether it is the native [`MemoryBackend`] or a
//! [`WasmBackend`](crate::WasmBackend) running a guest component. A [`Loader`] turns a
//! component's bytes into a factory, so reloads and the server can load new versions
//! without knowing what runs them.
//!
//! # Why the trait is synchronous
//!
//! A backend call is short, CPU-bound work on data the backend already holds: a
//! component call costs on the order of a microsecond (see BENCHMARKS.md), and the sandbox
//! bounds every call by a deadline. An `async` trait would box a future per call and, to
//! be worth it, move the call to another thread; handing a request to another thread was
//! measured on this project's machines at ~25 µs, twenty times the call itself. So calls
//! run inline on the caller's thread, and async callers (the cache layer, the server) call
//! them directly, relying on the deadline to keep each call short.

mod loader;
mod memory;
mod op;
mod traits;
mod types;

pub use loader::Loader;
pub(crate) use loader::read_component_file;
pub use memory::{MemoryBackend, MemoryBackendFactory};
pub use op::Op;
pub(crate) use traits::fallback;
pub use traits::{Backend, BackendFactory, FactoryInfo};
pub use types::{
    BackendStats, Cursor, EntryPage, Expiry, HandoverEntry, InitOptions, KeyPage, MemoryUse,
    PutItem, SizeLimits,
};
