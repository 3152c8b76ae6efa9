//! A native backend that counts its calls: how many times a caller crossed into it, and
//! how many keys those calls carried.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmcache::{
    Backend, BackendFactory, BackendStats, EntryPage, Expiry, InitOptions, KeyPage, MemoryBackend,
    PutItem, SharedClock, SizeLimits,
};

/// What every backend a [`CountingFactory`] made was asked, summed.
#[derive(Debug, Default)]
pub struct Calls {
    /// Calls that read, write or remove keys (a batch counts once).
    pub crossings: AtomicU64,
    /// Keys those calls carried.
    pub keys: AtomicU64,
}

impl Calls {
    fn note(&self, keys: usize) {
        self.crossings.fetch_add(1, Ordering::Relaxed);
        self.keys.fetch_add(keys as u64, Ordering::Relaxed);
    }

    /// (crossings, keys) so far.
    pub fn read(&self) -> (u64, u64) {
        (
            self.crossings.load(Ordering::Relaxed),
            self.keys.load(Ordering::Relaxed),
        )
    }
}

/// A [`MemoryBackend`] that counts its key calls in a shared [`Calls`].
struct Counting {
    inner: MemoryBackend,
    calls: Arc<Calls>,
}

impl Backend for Counting {
    fn get(&self, key: &[u8]) -> wasmcache::Result<Option<Vec<u8>>> {
        self.calls.note(1);
        self.inner.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> wasmcache::Result<()> {
        self.calls.note(1);
        self.inner.put(key, value, ttl_ms)
    }
    fn invalidate(&self, key: Option<&[u8]>) -> wasmcache::Result<()> {
        self.inner.invalidate(key)
    }
    fn stats(&self) -> wasmcache::Result<BackendStats> {
        self.inner.stats()
    }
    fn size_limits(&self) -> SizeLimits {
        self.inner.size_limits()
    }
    fn entries(&self, cursor: Option<&[u8]>, limit: u32) -> wasmcache::Result<Option<EntryPage>> {
        self.inner.entries(cursor, limit)
    }
    fn keys(&self, cursor: Option<&[u8]>, limit: u32) -> wasmcache::Result<Option<KeyPage>> {
        self.inner.keys(cursor, limit)
    }
    fn remove(&self, key: &[u8]) -> wasmcache::Result<bool> {
        self.calls.note(1);
        self.inner.remove(key)
    }
    fn ttl(&self, key: &[u8]) -> wasmcache::Result<Option<Expiry>> {
        self.inner.ttl(key)
    }
    fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> wasmcache::Result<bool> {
        self.inner.set_ttl(key, ttl_ms)
    }
    fn get_many(&self, keys: &[&[u8]]) -> wasmcache::Result<Vec<Option<Vec<u8>>>> {
        self.calls.note(keys.len());
        self.inner.get_many(keys)
    }
    fn put_many(&self, items: &[PutItem<'_>]) -> wasmcache::Result<Vec<wasmcache::Result<()>>> {
        self.calls.note(items.len());
        self.inner.put_many(items)
    }
    fn remove_many(&self, keys: &[&[u8]]) -> wasmcache::Result<Vec<bool>> {
        self.calls.note(keys.len());
        self.inner.remove_many(keys)
    }
}

/// Makes [`MemoryBackend`]s that count their calls in one shared [`Calls`].
#[derive(Default)]
pub struct CountingFactory {
    pub calls: Arc<Calls>,
}

impl BackendFactory for CountingFactory {
    fn name(&self) -> &str {
        "counting"
    }
    fn init(
        &self,
        _options: &InitOptions,
        clock: SharedClock,
    ) -> wasmcache::Result<Box<dyn Backend>> {
        Ok(Box::new(Counting {
            inner: MemoryBackend::new(clock),
            calls: self.calls.clone(),
        }))
    }
}
