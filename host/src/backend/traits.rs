//! The [`Backend`] and [`BackendFactory`] traits.

use std::sync::Arc;

use super::types::{
    BackendStats, EntryPage, Expiry, InitOptions, KeyPage, MemoryUse, PutItem, SizeLimits,
};
use crate::clock::SharedClock;
use crate::error::{Error, Result};

/// A cache backend: the contract's `get`, `put`, `invalidate` and `stats`, and what
/// contract 0.2 adds (`remove`, `ttl`, `set-ttl`, batches, listing).
///
/// `init` is not a method: a backend is created already initialised by a
/// [`BackendFactory`], which is what the contract's `init(options)` maps to.
///
/// Only the first five methods must be written; the others have defaults built on them
/// (a batch is a loop, `remove` is a `get` then an `invalidate`, `set_ttl` rewrites the
/// value), which is how a 0.1 component is served. A backend overrides them where it can
/// do better, as every 0.2 component does. What cannot be built on the five (`ttl`,
/// listing keys) answers [`Error::Unsupported`] or `None`.
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
    /// `listing.entries`, or 0.1's `handover.entries`): at most `limit`, from `cursor`
    /// (`None` first, then a page's `next`). `Ok(None)` means the backend cannot list its
    /// entries, which is the default.
    fn entries(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<EntryPage>> {
        let _ = (cursor, limit);
        Ok(None)
    }

    /// Lists live keys, at most `limit`, from `cursor` (the contract's `listing.keys`).
    /// `Ok(None)` means the backend cannot list its keys. The default lists entries and
    /// drops their values.
    fn keys(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<KeyPage>> {
        fallback::keys(self, cursor, limit)
    }

    /// Removes `key` and reports whether a live entry was there. The default asks `get`
    /// first (which a backend may count as a use), then `invalidate`s.
    fn remove(&self, key: &[u8]) -> Result<bool> {
        fallback::remove(self, key)
    }

    /// When the live entry for `key` expires, or `None` without one. The default cannot
    /// know: [`Error::Unsupported`] (a 0.1 component).
    fn ttl(&self, key: &[u8]) -> Result<Option<Expiry>> {
        let _ = key;
        Err(Error::Unsupported {
            what: "reading an entry's time to live",
        })
    }

    /// Changes the expiry of the live entry for `key` (`Some(0)` removes it, `None` makes
    /// it permanent) and reports whether there was one. The default reads the value and
    /// puts it back with the new ttl.
    fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
        fallback::set_ttl(self, key, ttl_ms)
    }

    /// `get` of each key, in order. The default is a loop.
    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        fallback::get_many(self, keys)
    }

    /// `put` of each item, in order, each with its own result (a refused item does not
    /// stop the others). The outer error is a fault that stopped the batch. The default is
    /// a loop.
    fn put_many(&self, items: &[PutItem<'_>]) -> Result<Vec<Result<()>>> {
        fallback::put_many(self, items)
    }

    /// `remove` of each key, in order. The default is a loop.
    fn remove_many(&self, keys: &[&[u8]]) -> Result<Vec<bool>> {
        fallback::remove_many(self, keys)
    }

    /// Memory held against memory needed, for backends whose memory does not shrink when
    /// entries go (a wasm guest's linear memory). `None`, the default, means there is
    /// nothing a compaction would give back.
    fn memory_use(&self) -> Result<Option<MemoryUse>> {
        Ok(None)
    }

    /// What the host counts about this backend without calling it: a wasm backend's
    /// sandbox counters (`sandbox-restarts`, `sandbox-traps`, ...), the same as its
    /// `stats` adds to the guest's, but readable while the guest faults on every call.
    /// Default: none.
    fn sandbox_counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// The defaults of [`Backend`]'s newer methods, built on the five callbacks, as free
/// functions: a backend that can do better only sometimes (a wasm guest of contract 0.1,
/// or one without `batch`) calls them for the rest.
pub(crate) mod fallback {
    use crate::backend::traits::Backend;
    use crate::backend::types::{KeyPage, PutItem};
    use crate::error::Result;

    /// Keys from listed entries, their values dropped.
    pub(crate) fn keys<B: Backend + ?Sized>(
        backend: &B,
        cursor: Option<&[u8]>,
        limit: u32,
    ) -> Result<Option<KeyPage>> {
        Ok(backend.entries(cursor, limit)?.map(|page| KeyPage {
            keys: page.entries.into_iter().map(|entry| entry.key).collect(),
            next: page.next,
        }))
    }

    /// `get` (which a backend may count as a use), then `invalidate`.
    pub(crate) fn remove<B: Backend + ?Sized>(backend: &B, key: &[u8]) -> Result<bool> {
        let live = backend.get(key)?.is_some();
        backend.invalidate(Some(key))?;
        Ok(live)
    }

    /// The value read and put back with the new ttl.
    pub(crate) fn set_ttl<B: Backend + ?Sized>(
        backend: &B,
        key: &[u8],
        ttl_ms: Option<u64>,
    ) -> Result<bool> {
        match backend.get(key)? {
            Some(value) => {
                backend.put(key, &value, ttl_ms)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub(crate) fn get_many<B: Backend + ?Sized>(
        backend: &B,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>> {
        keys.iter().map(|key| backend.get(key)).collect()
    }

    pub(crate) fn put_many<B: Backend + ?Sized>(
        backend: &B,
        items: &[PutItem<'_>],
    ) -> Result<Vec<Result<()>>> {
        Ok(items
            .iter()
            .map(|item| backend.put(item.key, item.value, item.ttl_ms))
            .collect())
    }

    pub(crate) fn remove_many<B: Backend + ?Sized>(
        backend: &B,
        keys: &[&[u8]],
    ) -> Result<Vec<bool>> {
        keys.iter().map(|key| backend.remove(key)).collect()
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
            fn entries(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<EntryPage>> {
                (**self).entries(cursor, limit)
            }
            fn keys(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<KeyPage>> {
                (**self).keys(cursor, limit)
            }
            fn remove(&self, key: &[u8]) -> Result<bool> {
                (**self).remove(key)
            }
            fn ttl(&self, key: &[u8]) -> Result<Option<Expiry>> {
                (**self).ttl(key)
            }
            fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
                (**self).set_ttl(key, ttl_ms)
            }
            fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
                (**self).get_many(keys)
            }
            fn put_many(&self, items: &[PutItem<'_>]) -> Result<Vec<Result<()>>> {
                (**self).put_many(items)
            }
            fn remove_many(&self, keys: &[&[u8]]) -> Result<Vec<bool>> {
                (**self).remove_many(keys)
            }
            fn memory_use(&self) -> Result<Option<MemoryUse>> {
                (**self).memory_use()
            }
            fn sandbox_counters(&self) -> Vec<(&'static str, u64)> {
                (**self).sandbox_counters()
            }
        }
    )*};
}

forward_backend!(Box, Arc);
