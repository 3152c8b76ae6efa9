//! The circuit breaker: after repeated backend faults, bypass the backend for a while.
//!
//! Lock-free: the hot path is one atomic load to ask and one to report success.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::SharedClock;

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive backend faults that open the breaker. Default: 5.
    pub failure_threshold: u32,
    /// How long the backend is bypassed before one call probes it again. Default: 1 s of
    /// the cache's clock.
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            cool_down: Duration::from_secs(1),
        }
    }
}

impl BreakerConfig {
    /// A breaker that never opens: faults are still counted and answered fail-open, but the
    /// backend is never bypassed. The server uses it, because one poisoned key must not
    /// deny a whole shard to every other key (the sandbox's restart back-off already keeps
    /// a crashing guest from burning the host).
    pub fn never_open() -> Self {
        BreakerConfig {
            failure_threshold: u32::MAX,
            ..Self::default()
        }
    }
}

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakerState {
    /// Calls go to the backend.
    Closed,
    /// Calls bypass the backend until the cool-down ends.
    Open,
    /// The cool-down ended and one probe call is on its way to the backend.
    HalfOpen,
}

/// `open_until` value while a probe is in flight.
const PROBING: u64 = u64::MAX;

pub(crate) struct Breaker {
    config: BreakerConfig,
    clock: SharedClock,
    consecutive_faults: AtomicU32,
    /// 0 when closed; the clock time the cool-down ends when open; `PROBING` when half open.
    open_until: AtomicU64,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig, clock: SharedClock) -> Self {
        Breaker {
            config,
            clock,
            consecutive_faults: AtomicU32::new(0),
            open_until: AtomicU64::new(0),
        }
    }

    /// Whether this call may use the backend. After the cool-down exactly one caller gets
    /// `true` (the probe) until it reports back.
    pub(crate) fn allow(&self) -> bool {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        if until == PROBING || self.clock.now_ms() < until {
            return false;
        }
        self.open_until
            .compare_exchange(until, PROBING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    pub(crate) fn record_success(&self) {
        if self.consecutive_faults.load(Ordering::Relaxed) != 0
            || self.open_until.load(Ordering::Relaxed) != 0
        {
            self.consecutive_faults.store(0, Ordering::Relaxed);
            if self.open_until.swap(0, Ordering::AcqRel) != 0 {
                tracing::info!(target: "wasmcache::guard", "breaker closed: the backend answered again");
            }
        }
    }

    /// Records a call that ended neither in success nor in a fault (a refusal of the
    /// caller's input, say). A probe that ends this way says nothing about the backend, so
    /// the breaker stays open with its cool-down already over: the next call probes again.
    pub(crate) fn record_neutral(&self) {
        let now = self.clock.now_ms().clamp(1, PROBING - 1);
        let _ = self
            .open_until
            .compare_exchange(PROBING, now, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Records a fault; returns true if it opened the breaker.
    pub(crate) fn record_fault(&self) -> bool {
        let faults = self
            .consecutive_faults
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |f| {
                Some(f.saturating_add(1))
            })
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let probing = self.open_until.load(Ordering::Acquire) == PROBING;
        if probing || faults >= self.config.failure_threshold {
            let cool_down = u64::try_from(self.config.cool_down.as_millis()).unwrap_or(u64::MAX);
            let until = self
                .clock
                .now_ms()
                .saturating_add(cool_down)
                .clamp(1, PROBING - 1);
            self.open_until.store(until, Ordering::Release);
            return true;
        }
        false
    }

    pub(crate) fn state(&self) -> BreakerState {
        match self.open_until.load(Ordering::Acquire) {
            0 => BreakerState::Closed,
            PROBING => BreakerState::HalfOpen,
            _ => BreakerState::Open,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    /// A breaker opening after `threshold` faults for `cool_down_ms`, on a manual clock.
    fn breaker(threshold: u32, cool_down_ms: u64) -> (Arc<ManualClock>, Breaker) {
        let clock = Arc::new(ManualClock::new());
        let config = BreakerConfig {
            failure_threshold: threshold,
            cool_down: Duration::from_millis(cool_down_ms),
        };
        (clock.clone(), Breaker::new(config, clock))
    }

    #[test]
    fn opens_after_the_threshold_and_closes_after_a_good_probe() {
        let (clock, breaker) = breaker(3, 100);
        assert!(!breaker.record_fault());
        assert!(!breaker.record_fault());
        assert!(breaker.allow());
        assert!(breaker.record_fault());
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
        clock.advance(Duration::from_millis(99));
        assert!(!breaker.allow());
        clock.advance(Duration::from_millis(1));
        assert!(
            breaker.allow(),
            "the first caller after the cool-down probes"
        );
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        assert!(!breaker.allow(), "only one probe at a time");
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.allow());
    }

    #[test]
    fn a_failed_probe_reopens_at_once() {
        let (clock, breaker) = breaker(1, 10);
        assert!(breaker.record_fault());
        clock.advance(Duration::from_millis(10));
        assert!(breaker.allow());
        assert!(breaker.record_fault());
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
    }

    #[test]
    fn a_probe_that_ends_neither_way_lets_the_next_call_probe() {
        let (clock, breaker) = breaker(1, 10);
        assert!(breaker.record_fault());
        clock.advance(Duration::from_millis(10));
        assert!(breaker.allow(), "the probe");
        breaker.record_neutral();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(
            breaker.allow(),
            "the next call probes: the breaker is not stuck"
        );
        breaker.record_success();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn a_breaker_that_never_opens_counts_but_never_bypasses() {
        let breaker = Breaker::new(BreakerConfig::never_open(), Arc::new(ManualClock::new()));
        for _ in 0..1000 {
            assert!(!breaker.record_fault());
        }
        assert!(breaker.allow());
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
