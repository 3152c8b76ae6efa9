//! [`Cache`]: the typed cache itself.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::codec::{Codec, CodecError, Postcard};
use super::error::CacheError;
use super::flight::{self, Flights, Landing, Role};
use super::stats::{CacheStats, Counters};
use crate::backend::Backend;
use crate::error::Error;
use crate::guard::{Guard, Lookup};

/// A typed cache over a [`Backend`]. Cheap to clone; clones share everything.
pub struct Cache<K: ?Sized, V, C = Postcard> {
    pub(super) inner: Arc<CacheState<C>>,
    pub(super) types: PhantomData<fn(&K) -> V>,
}

pub(super) struct CacheState<C> {
    pub(super) name: Arc<str>,
    pub(super) guard: Guard,
    pub(super) codec: C,
    pub(super) ttl: Option<Duration>,
    pub(super) flights: Flights,
    pub(super) counters: Counters,
    pub(super) log_raw_keys: bool,
}

impl<K: ?Sized, V, C> Clone for Cache<K, V, C> {
    fn clone(&self) -> Self {
        Cache {
            inner: self.inner.clone(),
            types: PhantomData,
        }
    }
}

impl<K: ?Sized, V, C> fmt::Debug for Cache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.inner.name)
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}

/// How a key appears in telemetry: a 64-bit digest by default, the raw bytes (escaped) when
/// the cache opted in. The digest is for correlating events, not a secret.
struct KeyLabel<'a> {
    key: &'a [u8],
    raw: bool,
}

impl fmt::Display for KeyLabel<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.raw {
            return write!(f, "{}", self.key.escape_ascii());
        }
        let mut hasher = std::hash::DefaultHasher::new();
        self.key.hash(&mut hasher);
        write!(f, "{:016x}", hasher.finish())
    }
}

/// What a typed lookup found.
enum Found<V> {
    Hit(V),
    /// The backend answered: not there (or not decodable).
    Miss,
    /// The backend did not answer (a fault, or bypassed by the breaker).
    Unavailable,
}

/// Milliseconds for the backend contract (sub-millisecond parts are dropped).
fn ttl_ms(ttl: Option<Duration>) -> Option<u64> {
    ttl.map(|ttl| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

impl<K, V, C> Cache<K, V, C>
where
    K: Serialize + ?Sized,
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    C: Codec,
{
    /// The cache's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The backend behind the cache.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        self.inner.guard.get_ref()
    }

    /// The default time to live of stored entries (`None`: never expire).
    pub fn time_to_live(&self) -> Option<Duration> {
        self.inner.ttl
    }

    fn label<'a>(&self, key: &'a [u8]) -> KeyLabel<'a> {
        KeyLabel {
            key,
            raw: self.inner.log_raw_keys,
        }
    }

    fn encode_key(&self, key: &K) -> Result<Vec<u8>, CacheError> {
        self.inner
            .codec
            .encode(key)
            .map_err(|reason| self.encode_error(reason))
    }

    fn encode_error(&self, reason: CodecError) -> CacheError {
        CacheError::Encode {
            cache: self.inner.name.to_string(),
            reason,
        }
    }

    /// Runs `f` on the encoded key, encoding into a reused per-thread buffer (the hit path
    /// then allocates nothing for the key).
    fn with_key<R>(&self, key: &K, f: impl FnOnce(&[u8]) -> R) -> Result<R, CacheError> {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut buffer) => {
                self.inner
                    .codec
                    .encode_into(key, &mut buffer)
                    .map_err(|reason| self.encode_error(reason))?;
                Ok(f(&buffer))
            }
            // Re-entered (a codec calling back into a cache): use a fresh buffer.
            Err(_) => Ok(f(&self.encode_key(key)?)),
        })
    }

    /// Looks the encoded key up through the guard: faults, bypasses and undecodable
    /// values are not hits. Hits and misses are counted when `count` is set.
    fn lookup(&self, key: &[u8], count: bool) -> Result<Found<V>, Error> {
        let inner = &*self.inner;
        let bytes = match inner.guard.lookup(key)? {
            Lookup::Hit(bytes) => bytes,
            Lookup::Miss => return Ok(self.missed(key, count, Found::Miss)),
            Lookup::Unavailable => return Ok(self.missed(key, count, Found::Unavailable)),
        };
        match inner.codec.decode::<V>(&bytes) {
            Ok(value) => {
                if count {
                    inner.counters.hits.bump();
                    tracing::trace!(target: "wasmcache::cache", cache = &*inner.name, key = %self.label(key), "hit");
                }
                Ok(Found::Hit(value))
            }
            Err(reason) => {
                inner.counters.decode_errors.bump();
                tracing::warn!(target: "wasmcache::cache", cache = &*inner.name, key = %self.label(key), "stored value does not decode: {reason}");
                Ok(self.missed(key, count, Found::Miss))
            }
        }
    }

    fn missed(&self, key: &[u8], count: bool, how: Found<V>) -> Found<V> {
        if count {
            self.inner.counters.misses.bump();
            tracing::trace!(target: "wasmcache::cache", cache = &*self.inner.name, key = %self.label(key), "miss");
        }
        how
    }

    /// Maps a guarded write's error onto the cache's.
    fn write_error(&self, error: Error) -> CacheError {
        let cache = self.inner.name.to_string();
        match error {
            Error::BreakerOpen => CacheError::BreakerOpen { cache },
            source => CacheError::Backend { cache, source },
        }
    }

    /// Stores an encoded value; failures are counted, logged and returned.
    fn store(&self, key: &[u8], value: &V, ttl: Option<Duration>) -> Result<(), CacheError> {
        let inner = &*self.inner;
        let bytes = inner
            .codec
            .encode(value)
            .map_err(|reason| self.encode_error(reason))?;
        match inner.guard.put(key, &bytes, ttl_ms(ttl)) {
            Ok(()) => {
                tracing::debug!(target: "wasmcache::cache", cache = &*inner.name, key = %self.label(key), bytes = bytes.len(), "put");
                Ok(())
            }
            Err(error) => {
                if !matches!(error, Error::BreakerOpen) {
                    inner.counters.store_errors.bump();
                }
                Err(self.write_error(error))
            }
        }
    }

    /// Returns the cached value for `key`, or runs `loader`, stores its `Ok` value with the
    /// cache's time to live and returns it. See the [module docs](crate::cache) for the guarantees.
    pub async fn get_with<F, Fut, E>(&self, key: &K, loader: F) -> Result<V, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        self.get_with_ttl(key, self.inner.ttl, loader).await
    }

    /// [`get_with`](Cache::get_with) with a time to live for this entry instead of the
    /// cache's default (`None`: never expires).
    pub async fn get_with_ttl<F, Fut, E>(
        &self,
        key: &K,
        ttl: Option<Duration>,
        loader: F,
    ) -> Result<V, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        let inner = &*self.inner;
        // Only a genuine miss is worth a second look once leading (see below).
        let recheck = match self.with_key(key, |key| self.lookup(key, true)) {
            Ok(Ok(Found::Hit(value))) => return Ok(value),
            Ok(Ok(Found::Miss)) => true,
            Ok(Ok(Found::Unavailable) | Err(_)) => false,
            Err(_) => {
                // A key the codec cannot encode cannot be cached; answer anyway.
                tracing::warn!(target: "wasmcache::cache", cache = &*inner.name, "key does not encode; loading uncached");
                return self.load(&[], ttl, loader, false).await;
            }
        };
        let Ok(key) = self.encode_key(key) else {
            return self.load(&[], ttl, loader, false).await;
        };
        let mut loader = Some(loader);
        loop {
            match inner.flights.join(&key) {
                Role::Waiter(rx) => {
                    inner.counters.coalesced_waits.bump();
                    match flight::wait(rx).await {
                        Landing::Done(outcome) => {
                            if let Some(result) = outcome.downcast_ref::<Result<V, Arc<E>>>() {
                                return result.clone();
                            }
                            // The leader's loader had another error type: load on our own.
                            let loader = loader
                                .take()
                                .expect("the loader is only taken once, on return");
                            return self.load(&key, ttl, loader, true).await;
                        }
                        Landing::Abandoned => continue,
                    }
                }
                Role::Leader(leader) => {
                    // A flight may have landed between our miss and joining: look again.
                    if recheck && let Ok(Found::Hit(value)) = self.lookup(&key, false) {
                        leader.land(Arc::new(Ok::<V, Arc<E>>(value.clone())));
                        return Ok(value);
                    }
                    let loader = loader
                        .take()
                        .expect("the loader is only taken once, on return");
                    let result = self.load(&key, ttl, loader, true).await;
                    leader.land(Arc::new(result.clone()));
                    return result;
                }
            }
        }
    }

    /// Runs the loader and, on `Ok` and when `store` is set, writes the value through.
    async fn load<F, Fut, E>(
        &self,
        key: &[u8],
        ttl: Option<Duration>,
        loader: F,
        store: bool,
    ) -> Result<V, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let inner = &*self.inner;
        inner.counters.loads.bump();
        let span = tracing::debug_span!(target: "wasmcache::cache", "load", cache = &*inner.name, key = %self.label(key));
        match loader().instrument(span).await {
            Ok(value) => {
                if store {
                    // Failures are counted and logged inside; the caller still gets its value.
                    let _ = self.store(key, &value, ttl);
                }
                Ok(value)
            }
            Err(error) => {
                inner.counters.load_errors.bump();
                tracing::debug!(target: "wasmcache::cache", cache = &*inner.name, key = %self.label(key), "load failed; not stored");
                Err(Arc::new(error))
            }
        }
    }

    /// The cached value for `key`, if any. Backend faults are misses (counted); a refusal
    /// that is the caller's doing (such as a key over the size limit) is an error.
    pub fn get(&self, key: &K) -> Result<Option<V>, CacheError> {
        match self.with_key(key, |key| self.lookup(key, true))? {
            Ok(Found::Hit(value)) => Ok(Some(value)),
            Ok(Found::Miss | Found::Unavailable) => Ok(None),
            Err(source) => Err(CacheError::Backend {
                cache: self.inner.name.to_string(),
                source,
            }),
        }
    }

    /// Stores `value` under `key` with the cache's time to live.
    pub fn insert(&self, key: &K, value: &V) -> Result<(), CacheError> {
        self.insert_with_ttl(key, value, self.inner.ttl)
    }

    /// Stores `value` under `key` with `ttl` (`None`: never expires).
    pub fn insert_with_ttl(
        &self,
        key: &K,
        value: &V,
        ttl: Option<Duration>,
    ) -> Result<(), CacheError> {
        let key = self.encode_key(key)?;
        self.store(&key, value, ttl)
    }

    /// Removes `key`.
    pub fn invalidate(&self, key: &K) -> Result<(), CacheError> {
        let key = self.encode_key(key)?;
        self.remove(Some(&key))
    }

    /// Removes every entry.
    pub fn invalidate_all(&self) -> Result<(), CacheError> {
        self.remove(None)
    }

    fn remove(&self, key: Option<&[u8]>) -> Result<(), CacheError> {
        let inner = &*self.inner;
        inner
            .guard
            .invalidate(key)
            .map_err(|error| self.write_error(error))?;
        let key = key
            .map(|k| self.label(k).to_string())
            .unwrap_or_else(|| "*".into());
        tracing::debug!(target: "wasmcache::cache", cache = &*inner.name, key, "invalidate");
        Ok(())
    }

    /// The layer's counters, the breaker's state and the backend's own stats (`None` when
    /// the backend could not answer; the fault is counted).
    pub fn stats(&self) -> CacheStats {
        let inner = &*self.inner;
        let backend = inner.guard.stats().ok();
        inner.counters.snapshot(&inner.name, &inner.guard, backend)
    }
}
