//! The [`Backend`] trait: the contract, in Rust.
//!
//! Everything above this trait (the cache layer, the conformance suite, the server, the
//! benches) drives a `dyn Backend` and never knows whether it is the native
//! [`MemoryBackend`] or a [`WasmBackend`](crate::WasmBackend) running a guest component.
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

mod memory;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use memory::{MemoryBackend, MemoryBackendFactory};

use crate::clock::SharedClock;
use crate::error::{Error, Result};

/// The options given to a backend's `init`, as `name = value` pairs in order.
pub type InitOptions = Vec<(String, String)>;

/// A cache backend: the contract's `get`, `put`, `invalidate` and `stats`.
///
/// `init` is not a method: a backend is created already initialised by a
/// [`BackendFactory`], which is what the contract's `init(options)` maps to.
///
/// Implementations are shared between threads (`&self`) and do their own locking.
pub trait Backend: Send + Sync {
    /// Looks `key` up: `Ok(Some(value))` on a hit (possibly empty), `Ok(None)` on a miss.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Stores `value` under `key`. `ttl_ms` is the entry's lifetime in milliseconds of the
    /// backend's clock; `None` never expires and `Some(0)` stores an entry that is never
    /// returned.
    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()>;

    /// Removes one entry (`Some(key)`) or all of them (`None`).
    fn invalidate(&self, key: Option<&[u8]>) -> Result<()>;

    /// The backend's size and counters.
    fn stats(&self) -> Result<BackendStats>;

    /// The key and value sizes the host enforces in front of this backend.
    fn size_limits(&self) -> SizeLimits;

    /// Lists live entries for a handover to a replacement backend (the contract's optional
    /// `handover.entries`): at most `limit`, from `cursor` (`None` first). `Ok(None)` means
    /// the backend cannot list its entries, which is the default.
    fn entries(&self, cursor: Option<u64>, limit: u32) -> Result<Option<EntryPage>> {
        let _ = (cursor, limit);
        Ok(None)
    }
}

/// One entry listed for a handover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverEntry {
    /// The entry's key.
    pub key: Vec<u8>,
    /// The entry's value.
    pub value: Vec<u8>,
    /// Milliseconds left before it expires; `None` never expires.
    pub ttl_remaining_ms: Option<u64>,
}

/// A page of entries and the cursor of the next page (`None` after the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPage {
    /// The entries.
    pub entries: Vec<HandoverEntry>,
    /// Where to continue.
    pub next: Option<u64>,
}

/// Creates initialised backends: the contract's `init(options)`.
pub trait BackendFactory: Send + Sync {
    /// A short name for messages, such as `memory (native)` or a component's file name.
    fn name(&self) -> &str;

    /// Creates a backend that reads time from `clock` and runs `init(options)`.
    fn init(&self, options: &InitOptions, clock: SharedClock) -> Result<Box<dyn Backend>>;
}

/// A snapshot of a backend's bookkeeping: the contract's `backend-stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackendStats {
    /// Entries currently held (an expired entry may count until the backend removes it).
    pub size: u64,
    /// The backend's own counters by name (for a wasm backend, also the sandbox's
    /// counters, prefixed `sandbox-`).
    pub counters: BTreeMap<String, u64>,
}

/// Key and value sizes accepted in front of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SizeLimits {
    /// Longest key, in bytes. Default: 1 KiB.
    pub max_key_bytes: usize,
    /// Longest value, in bytes, in either direction. Default: 1 MiB.
    pub max_value_bytes: usize,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            max_key_bytes: 1024,
            max_value_bytes: 1024 * 1024,
        }
    }
}

impl SizeLimits {
    /// Fails with [`Error::KeyTooLarge`] when `key` is over the limit.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() > self.max_key_bytes {
            return Err(Error::KeyTooLarge {
                len: key.len(),
                limit: self.max_key_bytes,
            });
        }
        Ok(())
    }

    /// Fails with [`Error::ValueTooLarge`] when `value` is over the limit.
    pub fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.max_value_bytes {
            return Err(Error::ValueTooLarge {
                len: value.len(),
                limit: self.max_value_bytes,
            });
        }
        Ok(())
    }
}

macro_rules! forward_backend {
    ($($ptr:ident),*) => {$(
        impl<B: Backend + ?Sized> Backend for $ptr<B> {
            fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
                (**self).get(key)
            }
            fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
                (**self).put(key, value, ttl_ms)
            }
            fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
                (**self).invalidate(key)
            }
            fn stats(&self) -> Result<BackendStats> {
                (**self).stats()
            }
            fn size_limits(&self) -> SizeLimits {
                (**self).size_limits()
            }
            fn entries(&self, cursor: Option<u64>, limit: u32) -> Result<Option<EntryPage>> {
                (**self).entries(cursor, limit)
            }
        }
    )*};
}

forward_backend!(Box, Arc);
