//! [`CacheBuilder`]: name, time to live, backend options, clock, codec, breaker, shared
//! tier and metrics.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use super::codec::{Codec, Postcard};
use super::typed::{Cache, CacheState};
use crate::backend::{Backend, BackendFactory, InitOptions};
use crate::clock::{SharedClock, SystemClock};
use crate::guard::{BreakerConfig, Guard};
use crate::telemetry::BackendLabels;
use crate::tier::Tier;

/// Configures a [`Cache`]. Start with [`Cache::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct CacheBuilder<K: ?Sized, V, C = Postcard> {
    name: String,
    ttl: Option<Duration>,
    options: InitOptions,
    clock: Option<SharedClock>,
    codec: C,
    breaker: BreakerConfig,
    log_raw_keys: bool,
    tier: Option<Arc<Tier>>,
    metrics: bool,
    types: PhantomData<fn(&K) -> V>,
}

impl<K: ?Sized, V> Cache<K, V> {
    /// Starts building a cache called `name` (used in stats, logs and errors).
    pub fn builder(name: impl Into<String>) -> CacheBuilder<K, V> {
        CacheBuilder::new(name.into())
    }
}

impl<K: ?Sized, V> CacheBuilder<K, V> {
    fn new(name: String) -> Self {
        CacheBuilder {
            name,
            ttl: None,
            options: Vec::new(),
            clock: None,
            codec: Postcard,
            breaker: BreakerConfig::default(),
            log_raw_keys: false,
            tier: None,
            metrics: true,
            types: PhantomData,
        }
    }
}

impl<K: ?Sized, V, C: Codec> CacheBuilder<K, V, C> {
    /// How long entries live unless a call says otherwise. Default: forever.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Adds an option for the backend's `init` (only used by [`build`](Self::build)).
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((name.into(), value.into()));
        self
    }

    /// Adds several options for the backend's `init`.
    pub fn options<N: Into<String>, T: Into<String>>(
        mut self,
        options: impl IntoIterator<Item = (N, T)>,
    ) -> Self {
        self.options
            .extend(options.into_iter().map(|(n, v)| (n.into(), v.into())));
        self
    }

    /// The clock for the backend (it decides expiry) and the breaker. Default: the system's
    /// monotonic clock. Tests pass a [`ManualClock`](crate::ManualClock) and advance it.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// When the breaker opens and for how long.
    pub fn breaker(mut self, config: BreakerConfig) -> Self {
        self.breaker = config;
        self
    }

    /// Puts the backend in front of a shared tier (a Redis or Redis Cluster, see
    /// [`crate::tier`]): the backend becomes the near cache, the tier the source of truth.
    pub fn upstream(mut self, tier: Arc<Tier>) -> Self {
        self.tier = Some(tier);
        self
    }

    /// Puts raw keys (escaped) in telemetry instead of a digest. Off by default: keys may
    /// hold personal data.
    pub fn log_raw_keys(mut self, enabled: bool) -> Self {
        self.log_raw_keys = enabled;
        self
    }

    /// Records the backend's per-call metrics (latency per operation, hits, misses, faults
    /// by kind) through the [`metrics`] facade, labelled `backend` = the cache's name and
    /// `shard` = `0` (see [`telemetry`](crate::telemetry)). On by default; the series go to
    /// the recorder installed when the cache is built (none: they cost a few atomic adds
    /// per call, and two clock reads on one call in 16, and go nowhere).
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.metrics = enabled;
        self
    }

    /// Encodes keys and values with `codec` instead of [`Postcard`].
    pub fn codec<C2: Codec>(self, codec: C2) -> CacheBuilder<K, V, C2> {
        CacheBuilder {
            name: self.name,
            ttl: self.ttl,
            options: self.options,
            clock: self.clock,
            codec,
            breaker: self.breaker,
            log_raw_keys: self.log_raw_keys,
            tier: self.tier,
            metrics: self.metrics,
            types: PhantomData,
        }
    }

    /// Creates the backend with `factory` (running its `init` with the options given) and
    /// the cache over it.
    pub fn build(self, factory: &dyn BackendFactory) -> crate::Result<Cache<K, V, C>> {
        let clock = self.clock.clone().unwrap_or_else(SystemClock::shared);
        let backend = factory.init(&self.options, clock.clone())?;
        Ok(self.finish(Arc::from(backend), clock))
    }

    /// The cache over a backend created elsewhere. The backend should read the same clock
    /// as the one given here (the breaker uses it). Options given to the builder are unused.
    pub fn build_with_backend(self, backend: Arc<dyn Backend>) -> Cache<K, V, C> {
        let clock = self.clock.clone().unwrap_or_else(SystemClock::shared);
        self.finish(backend, clock)
    }

    fn finish(self, backend: Arc<dyn Backend>, clock: SharedClock) -> Cache<K, V, C> {
        let name: Arc<str> = self.name.into();
        let backend: Arc<dyn Backend> = match &self.tier {
            Some(tier) => Arc::new(tier.near_cache(backend)),
            None => backend,
        };
        let mut guard = Guard::new(name.clone(), backend, self.breaker, clock);
        if self.metrics {
            guard = guard.metered(BackendLabels::new(&*name, 0));
        }
        Cache {
            inner: Arc::new(CacheState {
                guard,
                name,
                codec: self.codec,
                ttl: self.ttl,
                flights: Default::default(),
                counters: Default::default(),
                log_raw_keys: self.log_raw_keys,
            }),
            types: PhantomData,
        }
    }
}
