//! wasmcache: a host for cache backends written in any language, compiled to WebAssembly
//! components, and run sandboxed behind one Rust trait.
//!
//! A *backend* decides how a cache stores entries (eviction, expiry bookkeeping, memory
//! layout). Its contract is the `cache-backend` WIT world in the repository's `wit/`
//! folder: `init(options)`, `get(key)`, `put(key, value, ttl-ms)`, `invalidate(key?)` and
//! `stats()`. This crate
//!
//! - states that contract in Rust as the [`Backend`] trait, with the native
//!   [`MemoryBackend`] as the reference and baseline;
//! - loads guest components ([`BackendComponent`]) on a shared [`Engine`] and runs each
//!   instance as a sandboxed [`WasmBackend`] under [`Limits`];
//! - puts a typed, single-flight, fail-open [`cache::Cache`] in front of any backend;
//! - checks any backend against the contract with the [`conformance`] suite.
//!
//! # Example
//!
//! Load the embedded `lru` example, give it a bound, and use it:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use wasmcache::{Backend, BackendComponent, BackendFactory, Engine, EngineConfig, ManualClock, builtin};
//!
//! let engine = Engine::new(EngineConfig::default())?;
//! let component = BackendComponent::from_bytes(&engine, "lru", builtin::LRU)?;
//! let clock = Arc::new(ManualClock::new());
//! let backend = component.init(&vec![("max-entries".into(), "2".into())], clock.clone())?;
//!
//! backend.put(b"a", b"1", Some(1_000))?;
//! backend.put(b"b", b"2", None)?;
//! backend.put(b"c", b"3", None)?; // evicts `a`, the least recently used
//! assert_eq!(backend.get(b"a")?, None);
//! assert_eq!(backend.get(b"c")?, Some(b"3".to_vec()));
//!
//! clock.advance(Duration::from_secs(60)); // time moves only when told to
//! assert_eq!(backend.get(b"b")?, Some(b"2".to_vec()));
//! assert_eq!(backend.stats()?.counters["evictions"], 1);
//! # Ok::<(), wasmcache::Error>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

pub mod backend;
pub mod builtin;
pub mod cache;
pub mod clock;
mod compile_cache;
pub mod conformance;
pub mod engine;
pub mod error;
pub mod reload;
pub mod sandbox;
pub mod server;
pub mod wasm;

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use backend::{
    Backend, BackendFactory, BackendStats, EntryPage, HandoverEntry, InitOptions, MemoryBackend,
    MemoryBackendFactory, SizeLimits,
};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use engine::{Engine, EngineConfig, PoolingConfig};
pub use error::{Error, LoadError, Refusal, Result};
pub use sandbox::{Limits, WasiPolicy};
pub use wasm::{BackendComponent, ComponentInfo, WasmBackend};
