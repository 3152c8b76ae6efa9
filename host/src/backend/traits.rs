//! The [`Backend`] and [`BackendFactory`] traits.

use std::sync::Arc;

use super::types::{BackendStats, EntryPage, InitOptions, MemoryUse, SizeLimits};
use crate::clock::SharedClock;
use crate::error::Result;

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

    /// Entries currently held: the `size` of [`stats`](Backend::stats), for callers that
    /// need only that (`DBSIZE`). A wasm backend reads it without lifting the counters.
    fn size(&self) -> Result<u64> {
        Ok(self.stats()?.size)
    }

    /// The key and value sizes the host enforces in front of this backend.
    fn size_limits(&self) -> SizeLimits;

    /// Lists live entries for a handover to a replacement backend (the contract's optional
    /// `handover.entries`): at most `limit`, from `cursor` (`None` first). `Ok(None)` means
    /// the backend cannot list its entries, which is the default.
    fn entries(&self, cursor: Option<u64>, limit: u32) -> Result<Option<EntryPage>> {
        let _ = (cursor, limit);
        Ok(None)
    }

    /// Memory held against memory needed, for backends whose memory does not shrink when
    /// entries go (a wasm guest's linear memory). `None`, the default, means there is
    /// nothing a compaction would give back.
    fn memory_use(&self) -> Result<Option<MemoryUse>> {
        Ok(None)
    }
}

/// Creates initialised backends: the contract's `init(options)`.
pub trait BackendFactory: Send + Sync {
    /// A short name for messages, such as `memory (native)` or a component's file name.
    fn name(&self) -> &str;

    /// What the factory makes backends from, for status lines and reload reports.
    fn info(&self) -> FactoryInfo {
        FactoryInfo {
            name: self.name().to_string(),
            sha256: None,
            from_cache: false,
        }
    }

    /// Creates a backend that reads time from `clock` and runs `init(options)`.
    fn init(&self, options: &InitOptions, clock: SharedClock) -> Result<Box<dyn Backend>>;
}

/// What a [`BackendFactory`] makes backends from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FactoryInfo {
    /// A short name for messages: a component's file name, or the native backend's name.
    pub name: String,
    /// SHA-256 of the component, lower-case hex; `None` for a native backend.
    pub sha256: Option<String>,
    /// Whether the component's compiled code came from a compile cache.
    pub from_cache: bool,
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
            fn size(&self) -> Result<u64> {
                (**self).size()
            }
            fn size_limits(&self) -> SizeLimits {
                (**self).size_limits()
            }
            fn entries(&self, cursor: Option<u64>, limit: u32) -> Result<Option<EntryPage>> {
                (**self).entries(cursor, limit)
            }
            fn memory_use(&self) -> Result<Option<MemoryUse>> {
                (**self).memory_use()
            }
        }
    )*};
}

forward_backend!(Box, Arc);
