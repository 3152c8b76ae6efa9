//! The two tiers as one [`Backend`]: reads try the near cache, then the shared tier,
//! filling the near cache; writes, removals and expiry changes go to the shared tier first
//! and then to the near cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::config::{TierConfig, WhenDown};
use super::far::Far;
use super::tracking::{self, Tracker};
use crate::backend::{Backend, BackendStats, Expiry, Op, SizeLimits};
use crate::clock::SystemClock;
use crate::error::{Error, Result};
use crate::guard::Guard;
use crate::telemetry::TierMetrics;

/// A shared tier (standalone Redis or Redis Cluster) that any number of near caches sit
/// on: one set of connections, one breaker, one invalidation subscription for all of them.
pub struct Tier {
    far: Arc<Far>,
    /// The shared tier behind the breaker: a tier that keeps failing is not asked for a
    /// while, so requests do not pile up behind its timeout.
    guarded: Guard,
    tracker: Arc<Tracker>,
    config: TierConfig,
    fills: AtomicU64,
    near_hits: AtomicU64,
    far_errors: AtomicU64,
    metrics: TierMetrics,
}

impl std::fmt::Debug for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tier")
            .field("upstream", &self.config.upstream)
            .field("cluster", &self.config.cluster)
            .finish_non_exhaustive()
    }
}

impl Tier {
    /// Connects to the shared tier `config` names and starts listening for invalidations.
    pub fn connect(config: TierConfig) -> Result<Arc<Tier>> {
        let far = Arc::new(Far::connect(&config)?);
        let tracker = Arc::new(Tracker::new());
        tracking::spawn(&far, tracker.clone(), config.timeout);
        let guarded = Guard::new(
            "upstream",
            far.clone() as Arc<dyn Backend>,
            config.breaker,
            SystemClock::shared(),
        );
        Ok(Arc::new(Tier {
            far,
            guarded,
            tracker,
            config,
            fills: AtomicU64::new(0),
            near_hits: AtomicU64::new(0),
            far_errors: AtomicU64::new(0),
            metrics: TierMetrics::default(),
        }))
    }

    /// `near` as the near cache of this tier.
    pub fn near_cache(self: &Arc<Self>, near: Arc<dyn Backend>) -> Tiered {
        self.tracker.add_near(near.clone());
        Tiered {
            near,
            tier: self.clone(),
        }
    }

    /// Whether invalidations are being received from every master (near caches are used
    /// only then).
    pub fn is_tracking(&self) -> bool {
        self.tracker.is_live()
    }

    /// Counters: fills, near hits, upstream errors, invalidations received.
    pub fn counters(&self) -> Vec<(String, u64)> {
        vec![
            (
                "tier_near_hits".into(),
                self.near_hits.load(Ordering::Relaxed),
            ),
            ("tier_fills".into(), self.fills.load(Ordering::Relaxed)),
            (
                "tier_upstream_errors".into(),
                self.far_errors.load(Ordering::Relaxed),
            ),
            (
                "tier_invalidations".into(),
                self.tracker.invalidations.load(Ordering::Relaxed),
            ),
        ]
    }

    /// How many keys the shared tier holds (every master's, on a cluster).
    pub fn size(&self) -> Result<u64> {
        self.far(Op::Size, |far| far.size())
    }

    /// Runs one call to the shared tier through the breaker, counting its failures.
    fn far<T>(&self, op: Op, f: impl FnOnce(&Far) -> Result<T>) -> Result<T> {
        let _span = tracing::debug_span!(target: "wasmcache::tier", "round_trip", op = op.as_str())
            .entered();
        let started = Instant::now();
        let result = self.guarded.guarded(op, || f(&self.far));
        if !matches!(result, Err(Error::BreakerOpen)) {
            self.metrics
                .round_trip(op, started.elapsed(), result.is_err());
        }
        if result.is_err() {
            self.far_errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// The near cache's ttl for an entry with `expiry` left upstream.
    fn near_ttl(&self, expiry: Expiry) -> Option<u64> {
        let cap = u64::try_from(self.config.near_max_ttl.as_millis()).unwrap_or(u64::MAX);
        match expiry {
            Expiry::Persistent => Some(cap),
            Expiry::InMs(ms) => Some(ms.min(cap)),
        }
    }
}

/// One near cache over a [`Tier`]: a [`Backend`], so a cache layer, a guard or the server
/// use it as they use any other.
pub struct Tiered {
    near: Arc<dyn Backend>,
    tier: Arc<Tier>,
}

impl std::fmt::Debug for Tiered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tiered")
            .field("tier", &self.tier)
            .finish_non_exhaustive()
    }
}

impl Tiered {
    /// After a write upstream: the near cache takes the value too, unless an invalidation
    /// raced with the write (then the next read fills it).
    fn store_near(&self, key: &[u8], value: &[u8], expiry: Expiry, ticket: tracking::Ticket) {
        let ttl = self.tier.near_ttl(expiry);
        self.tier.tracker.store_if_current(ticket, || {
            let _ = self.near.put(key, value, ttl);
        });
    }
}

impl Backend for Tiered {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let tier = &self.tier;
        if tier.tracker.is_live() {
            // A near cache that fails is only a slower path: ask the tier.
            if let Ok(Some(value)) = self.near.get(key) {
                tier.near_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(value));
            }
        }
        let ticket = tier.tracker.ticket(key);
        match tier.far(Op::Get, |far| far.get_with_ttl(key)) {
            Ok(Some((value, expiry))) => {
                tier.fills.fetch_add(1, Ordering::Relaxed);
                self.store_near(key, &value, expiry, ticket);
                Ok(Some(value))
            }
            Ok(None) => Ok(None),
            Err(_) if tier.config.when_down == WhenDown::ServeNear => Ok(None),
            Err(error) => Err(error),
        }
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        let ticket = self.tier.tracker.ticket(key);
        let stored = self.tier.far(Op::Put, |far| far.put(key, value, ttl_ms));
        // Whatever the tier answered, the near cache must not keep an older value.
        let _ = self.near.invalidate(Some(key));
        stored?;
        match ttl_ms {
            Some(0) => {}
            Some(ms) => self.store_near(key, value, Expiry::InMs(ms), ticket),
            None => self.store_near(key, value, Expiry::Persistent, ticket),
        }
        Ok(())
    }

    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        let result = self.tier.far(Op::Invalidate, |far| far.invalidate(key));
        match key {
            Some(key) => self.tier.tracker.invalidate(key),
            None => self.tier.tracker.flush(),
        }
        result
    }

    fn stats(&self) -> Result<BackendStats> {
        let near = self.near.stats()?;
        let mut counters = near.counters;
        counters.extend(self.tier.counters());
        Ok(BackendStats {
            size: near.size,
            counters,
        })
    }

    /// The shared tier's key count (it is the source of truth).
    fn size(&self) -> Result<u64> {
        self.tier.size()
    }

    fn size_limits(&self) -> SizeLimits {
        self.near.size_limits()
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        let removed = self.tier.far(Op::Remove, |far| far.remove(key));
        self.tier.tracker.invalidate(key);
        removed
    }

    /// The shared tier's expiry is the authoritative one.
    fn ttl(&self, key: &[u8]) -> Result<Option<Expiry>> {
        self.tier.far(Op::Ttl, |far| far.ttl(key))
    }

    fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
        let changed = self.tier.far(Op::SetTtl, |far| far.set_ttl(key, ttl_ms));
        // The next read fills the entry again with its new time left.
        self.tier.tracker.invalidate(key);
        changed
    }

    fn memory_use(&self) -> Result<Option<crate::backend::MemoryUse>> {
        self.near.memory_use()
    }
}
