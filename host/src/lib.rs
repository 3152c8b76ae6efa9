//! wasmcache: a host for cache backends written in any language, compiled to WebAssembly
//! components, and run sandboxed behind one Rust trait.
//!
//! A *backend* decides how a cache stores entries (eviction, expiry bookkeeping, memory
//! layout). Its contract is the `cache-backend` WIT world in the repository's `wit/`
//! folder: `init(options)`, `get(key)`, `put(key, value, ttl-ms)`, `invalidate(key?)` and
//! `stats()`. This crate
//!
//! - states that contract in Rust as the [`Backend`] trait (made by a [`BackendFactory`]),
//!   with the native [`MemoryBackend`] as the reference and baseline;
//! - loads guest components ([`BackendComponent`], through a [`ComponentLoader`]) on a
//!   shared [`Engine`] and runs each instance as a sandboxed [`WasmBackend`] under
//!   [`Limits`] (wasmtime is named nowhere else);
//! - wraps any backend in one [`Guard`] (fail-open reads, fault counting, the breaker);
//! - puts a typed, single-flight [`cache::Cache`] in front of any backend, through the
//!   guard;
//! - swaps any backend while it serves with [`reload::BackendHandle`];
//! - serves any backend over the Redis protocol ([`server`]);
//! - checks any backend against the contract with the [`conformance`] suite.
//!
//! Data flows one way: caller or client → [`Guard`] → [`Backend`] → (wasm) guest.
//! Everything above the trait works on `dyn Backend`, so native and wasm backends take
//! the same paths, tests and benches.
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

mod backend;
pub mod builtin;
pub mod cache;
mod clock;
pub mod conformance;
mod counter;
mod cpu_time;
mod digest;
mod error;
mod guard;
mod heap;
pub mod reload;
mod retry;
mod sandbox;
pub mod server;
pub mod snapshot;
pub mod telemetry;
pub mod tier;
mod wasm;

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use backend::{
    Backend, BackendFactory, BackendStats, Cursor, EntryPage, Expiry, FactoryInfo, HandoverEntry,
    InitOptions, KeyPage, Loader, MemoryBackend, MemoryBackendFactory, MemoryUse, Op, PutItem,
    SizeLimits,
};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::{ConfigError, Error, LoadError, Refusal, Result};
pub use guard::{BreakerConfig, BreakerState, Guard, Lookup};
pub use sandbox::{Limits, WasiPolicy};
pub use wasm::{
    BACKEND_INTERFACE, BATCH_INTERFACE, BackendComponent, ComponentInfo, ComponentLoader,
    ContractVersion, DeadlineClock, Engine, EngineConfig, HANDOVER_INTERFACE, HOST_INTERFACE,
    InterfaceInfo, LISTING_INTERFACE, PoolingConfig, WasmBackend,
};
