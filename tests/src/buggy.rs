//! Backends with one realistic bug each, to prove the checks catch them.

use std::collections::HashMap;
use std::sync::Mutex;

use wasmcache::{
    Backend, BackendFactory, BackendStats, InitOptions, MemoryBackend, MemoryBackendFactory,
    SharedClock, SizeLimits,
};

/// On overwrite, keeps the later of the old and the new expiry (a realistic bug).
pub struct KeepsLaterExpiry {
    inner: MemoryBackend,
    clock: SharedClock,
    expiries: Mutex<HashMap<Vec<u8>, u64>>,
}
impl Backend for KeepsLaterExpiry {
    fn get(&self, key: &[u8]) -> wasmcache::Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> wasmcache::Result<()> {
        let now = self.clock.now_ms();
        let mut expiries = self.expiries.lock().expect("lock");
        let old = expiries.get(key).copied().filter(|at| *at > now);
        let at = match (old, ttl_ms.map(|ttl| now + ttl)) {
            (Some(old), Some(new)) => Some(old.max(new)),
            (_, new) => new,
        };
        match at {
            Some(at) => expiries.insert(key.to_vec(), at),
            None => expiries.remove(key),
        };
        self.inner.put(key, value, at.map(|at| at - now))
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
}
/// Makes [`KeepsLaterExpiry`] backends; takes no options.
pub struct KeepsLaterExpiryFactory;

impl BackendFactory for KeepsLaterExpiryFactory {
    fn name(&self) -> &str {
        "keeps-later-expiry"
    }
    fn init(
        &self,
        options: &InitOptions,
        clock: SharedClock,
    ) -> wasmcache::Result<Box<dyn Backend>> {
        MemoryBackendFactory::default().init(options, clock.clone())?;
        Ok(Box::new(KeepsLaterExpiry {
            inner: MemoryBackend::new(clock.clone()),
            clock,
            expiries: Mutex::default(),
        }))
    }
}
