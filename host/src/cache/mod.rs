//! The cache layer: typed keys and values over any [`Backend`], with single-flight loads,
//! write-through stores, fail-open fallbacks, a circuit breaker, stats and telemetry.
//!
//! # Consistency model
//!
//! - **Write-through.** [`Cache::get_with`] stores a loaded value in the backend *before*
//!   it returns and before waiting callers are released, so the next [`Cache::get`] of that
//!   key, from any task, sees it (unless the backend refused it, evicted it or it expired).
//!   Nothing is written behind the caller's back.
//! - **Single flight.** Concurrent misses on one key run one loader; every waiter receives
//!   the same outcome, errors included. Errors are never stored. A loader that panics, or
//!   whose caller is cancelled, hands the key to the next waiter.
//! - **Fail-open.** A backend fault (trap, timeout, memory, contract violation, restart
//!   back-off) never fails `get_with`: the loader answers, the fault is counted and logged.
//!   [`Cache::get`] reports a fault as a miss (counted in `backend_faults`), since every
//!   caller of a cache already handles misses. After
//!   [`BreakerConfig::failure_threshold`] consecutive faults the breaker bypasses the
//!   backend for [`BreakerConfig::cool_down`], then lets one call probe it.
//! - **Not a lock.** A `get_with` racing an `insert` or `invalidate` of the same key may
//!   store the loaded value after them; the cache does not order writers.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use wasmcache::cache::Cache;
//! use wasmcache::{MemoryBackendFactory};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let users: Cache<u64, String> = Cache::builder("users")
//!     .time_to_live(Duration::from_secs(60))
//!     .build(&MemoryBackendFactory::default())?;
//!
//! let name = users.get_with(&42, || async { Ok::<_, std::io::Error>("Ada".to_string()) }).await;
//! assert_eq!(name.unwrap(), "Ada");
//! assert_eq!(users.get(&42)?, Some("Ada".to_string())); // write-through
//! assert_eq!(users.stats().loads, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod breaker;
mod builder;
mod codec;
mod error;
mod flight;
mod stats;
mod tower;

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

pub use breaker::{BreakerConfig, BreakerState};
pub use builder::CacheBuilder;
pub use codec::{Codec, Postcard};
pub use error::CacheError;
pub use stats::CacheStats;
pub use tower::{CacheLayer, CacheService};

use self::breaker::Breaker;
use self::flight::{Flights, Landing, Role};
use self::stats::{Counters, bump};
use crate::backend::Backend;

/// A typed cache over a [`Backend`]. Cheap to clone; clones share everything.
pub struct Cache<K: ?Sized, V, C = Postcard> {
    inner: Arc<Inner<C>>,
    types: PhantomData<fn(&K) -> V>,
}

struct Inner<C> {
    name: Arc<str>,
    backend: Arc<dyn Backend>,
    codec: C,
    ttl: Option<Duration>,
    breaker: Breaker,
    flights: Flights,
    counters: Counters,
    log_raw_keys: bool,
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

impl<K: ?Sized, V> Cache<K, V> {
    /// Starts building a cache called `name` (used in stats, logs and errors).
    pub fn builder(name: impl Into<String>) -> CacheBuilder<K, V> {
        CacheBuilder::new(name.into())
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

/// What a lookup found.
enum Lookup<V> {
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
        &self.inner.backend
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

    fn encode_error(&self, reason: String) -> CacheError {
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

    /// Counts a failed backend call; returns whether it was a guest fault.
    fn backend_failed(&self, op: &'static str, key: Option<&[u8]>, error: &crate::Error) -> bool {
        let name = &*self.inner.name;
        let key = key.map(|k| self.label(k).to_string()).unwrap_or_default();
        if error.is_guest_fault() {
            bump(&self.inner.counters.backend_faults);
            let opened = self.inner.breaker.record_fault();
            tracing::warn!(target: "wasmcache::cache", cache = name, key, op, breaker_opened = opened, "backend fault: {error}");
            true
        } else {
            tracing::debug!(target: "wasmcache::cache", cache = name, key, op, "backend refused: {error}");
            false
        }
    }

    /// Looks the encoded key up, failing open: faults, bypasses and undecodable values
    /// are not hits. Hits and misses are counted when `count` is set.
    fn lookup(&self, key: &[u8], count: bool) -> Result<Lookup<V>, crate::Error> {
        let inner = &*self.inner;
        let found = if inner.breaker.allow() {
            match inner.backend.get(key) {
                Ok(found) => {
                    inner.breaker.record_success();
                    found
                }
                Err(error) => {
                    if !self.backend_failed("get", Some(key), &error) {
                        return Err(error);
                    }
                    return Ok(self.missed(key, count, Lookup::Unavailable));
                }
            }
        } else {
            bump(&inner.counters.bypassed);
            return Ok(self.missed(key, count, Lookup::Unavailable));
        };
        let Some(bytes) = found else {
            return Ok(self.missed(key, count, Lookup::Miss));
        };
        match inner.codec.decode::<V>(&bytes) {
            Ok(value) => {
                if count {
                    bump(&inner.counters.hits);
                    tracing::trace!(target: "wasmcache::cache", cache = &*inner.name, key = %self.label(key), "hit");
                }
                Ok(Lookup::Hit(value))
            }
            Err(reason) => {
                bump(&inner.counters.decode_errors);
                tracing::warn!(target: "wasmcache::cache", cache = &*inner.name, key = %self.label(key), "stored value does not decode: {reason}");
                Ok(self.missed(key, count, Lookup::Miss))
            }
        }
    }

    fn missed(&self, key: &[u8], count: bool, how: Lookup<V>) -> Lookup<V> {
        if count {
            bump(&self.inner.counters.misses);
            tracing::trace!(target: "wasmcache::cache", cache = &*self.inner.name, key = %self.label(key), "miss");
        }
        how
    }

    /// Stores an encoded value; failures are counted, logged and returned.
    fn store(&self, key: &[u8], value: &V, ttl: Option<Duration>) -> Result<(), CacheError> {
        let inner = &*self.inner;
        let cache = || inner.name.to_string();
        let bytes = inner
            .codec
            .encode(value)
            .map_err(|reason| CacheError::Encode {
                cache: cache(),
                reason,
            })?;
        if !inner.breaker.allow() {
            bump(&inner.counters.bypassed);
            return Err(CacheError::BreakerOpen { cache: cache() });
        }
        match inner.backend.put(key, &bytes, ttl_ms(ttl)) {
            Ok(()) => {
                inner.breaker.record_success();
                tracing::debug!(target: "wasmcache::cache", cache = &*inner.name, key = %self.label(key), bytes = bytes.len(), "put");
                Ok(())
            }
            Err(source) => {
                bump(&inner.counters.store_errors);
                self.backend_failed("put", Some(key), &source);
                Err(CacheError::Backend {
                    cache: cache(),
                    source,
                })
            }
        }
    }

    /// Returns the cached value for `key`, or runs `loader`, stores its `Ok` value with the
    /// cache's time to live and returns it. See the [module docs](self) for the guarantees.
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
            Ok(Ok(Lookup::Hit(value))) => return Ok(value),
            Ok(Ok(Lookup::Miss)) => true,
            Ok(Ok(Lookup::Unavailable) | Err(_)) => false,
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
                    bump(&inner.counters.coalesced_waits);
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
                    if recheck && let Ok(Lookup::Hit(value)) = self.lookup(&key, false) {
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
        bump(&inner.counters.loads);
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
                bump(&inner.counters.load_errors);
                tracing::debug!(target: "wasmcache::cache", cache = &*inner.name, key = %self.label(key), "load failed; not stored");
                Err(Arc::new(error))
            }
        }
    }

    /// The cached value for `key`, if any. Backend faults are misses (counted); a refusal
    /// that is the caller's doing (such as a key over the size limit) is an error.
    pub fn get(&self, key: &K) -> Result<Option<V>, CacheError> {
        match self.with_key(key, |key| self.lookup(key, true))? {
            Ok(Lookup::Hit(value)) => Ok(Some(value)),
            Ok(Lookup::Miss | Lookup::Unavailable) => Ok(None),
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
        if !inner.breaker.allow() {
            bump(&inner.counters.bypassed);
            return Err(CacheError::BreakerOpen {
                cache: inner.name.to_string(),
            });
        }
        match inner.backend.invalidate(key) {
            Ok(()) => {
                inner.breaker.record_success();
                let key = key
                    .map(|k| self.label(k).to_string())
                    .unwrap_or_else(|| "*".into());
                tracing::debug!(target: "wasmcache::cache", cache = &*inner.name, key, "invalidate");
                Ok(())
            }
            Err(source) => {
                self.backend_failed("invalidate", key, &source);
                Err(CacheError::Backend {
                    cache: inner.name.to_string(),
                    source,
                })
            }
        }
    }

    /// The layer's counters, the breaker's state and the backend's own stats.
    pub fn stats(&self) -> CacheStats {
        let inner = &*self.inner;
        let backend = match inner.backend.stats() {
            Ok(stats) => Some(stats),
            Err(error) => {
                self.backend_failed("stats", None, &error);
                None
            }
        };
        inner
            .counters
            .snapshot(&inner.name, inner.breaker.state(), backend)
    }
}
