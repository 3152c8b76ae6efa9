//! The differential check against native backends with one bug each, and a bounded one
//! without any.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Config, Op, run};
use crate::backend::MemoryBackendFactory;
use crate::backend::{
    Backend, BackendFactory, BackendStats, InitOptions, MemoryBackend, SizeLimits,
};
use crate::clock::SharedClock;
use crate::error::Result;

/// Which bug a [`Buggy`] backend has.
#[derive(Clone, Copy)]
enum Bug {
    /// On a put over a live entry, keeps the later of the old and the new expiry.
    KeepsLaterExpiry,
    /// Keeps only the last key put (a bound of one entry): forgets, never lies.
    HoldsOneEntry,
    /// `invalidate` of one key does nothing.
    IgnoresInvalidate,
}

struct Buggy {
    bug: Bug,
    inner: MemoryBackend,
    clock: SharedClock,
    expiries: Mutex<HashMap<Vec<u8>, u64>>,
}

impl Backend for Buggy {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        match self.bug {
            Bug::KeepsLaterExpiry => {
                let now = self.clock.now_ms();
                let mut expiries = self.expiries.lock().expect("lock");
                let live = self.inner.get(key)?.is_some();
                let old = expiries.get(key).copied().filter(|_| live);
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
            Bug::HoldsOneEntry => {
                self.inner.invalidate(None)?;
                self.inner.put(key, value, ttl_ms)
            }
            Bug::IgnoresInvalidate => self.inner.put(key, value, ttl_ms),
        }
    }
    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        match (self.bug, key) {
            (Bug::IgnoresInvalidate, Some(_)) => Ok(()),
            _ => self.inner.invalidate(key),
        }
    }
    fn stats(&self) -> Result<BackendStats> {
        self.inner.stats()
    }
    fn size_limits(&self) -> SizeLimits {
        self.inner.size_limits()
    }
}

struct BuggyFactory(Bug);

impl BackendFactory for BuggyFactory {
    fn name(&self) -> &str {
        "buggy"
    }
    fn init(&self, options: &InitOptions, clock: SharedClock) -> Result<Box<dyn Backend>> {
        MemoryBackendFactory::default().init(options, clock.clone())?;
        Ok(Box::new(Buggy {
            bug: self.0,
            inner: MemoryBackend::new(clock.clone()),
            clock,
            expiries: Mutex::default(),
        }))
    }
}

fn config(sequences: u32, exact: bool) -> Config {
    Config {
        sequences,
        seed: 7,
        exact,
        ..Config::default()
    }
}

#[test]
fn the_reference_agrees_with_itself_exactly() {
    let outcome = run(
        &MemoryBackendFactory::default(),
        &Vec::new(),
        &config(300, true),
    );
    assert!(outcome.divergence.is_none(), "{outcome}");
    assert_eq!(outcome.sequences, 300);
    assert!(
        outcome.steps > 300 * 10,
        "sequences have many steps: {}",
        outcome.steps
    );
}

#[test]
fn keeping_the_later_expiry_is_caught_and_shrunk_to_the_essence() {
    let outcome = run(
        &BuggyFactory(Bug::KeepsLaterExpiry),
        &Vec::new(),
        &config(2000, false),
    );
    let divergence = outcome.divergence.clone().expect("the bug is found");
    let text = outcome.to_string();
    // The shape of the shrunk sequence is asserted in tests/differential.rs; here, its end
    // and that it is deterministic.
    assert_eq!(divergence.steps.len(), 3, "{text}");
    assert!(
        text.contains("  3. remove \"k0\"  -> expected false"),
        "{text}"
    );
    // The same seed finds the same sequence.
    let again = run(
        &BuggyFactory(Bug::KeepsLaterExpiry),
        &Vec::new(),
        &config(2000, false),
    );
    assert_eq!(again.to_string(), text);
}

#[test]
fn forgetting_passes_unless_exact_and_resurrecting_never_does() {
    let bounded = run(
        &BuggyFactory(Bug::HoldsOneEntry),
        &Vec::new(),
        &config(500, false),
    );
    assert!(bounded.divergence.is_none(), "{bounded}");
    let exact = run(
        &BuggyFactory(Bug::HoldsOneEntry),
        &Vec::new(),
        &config(500, true),
    );
    let text = exact.to_string();
    assert!(
        text.contains("or a miss") || text.contains("expected a hit"),
        "{text}"
    );
    let divergence = exact
        .divergence
        .expect("forgetting is a divergence when exact");
    assert!(divergence.steps.len() <= 3, "{text}");

    let resurrects = run(
        &BuggyFactory(Bug::IgnoresInvalidate),
        &Vec::new(),
        &config(500, false),
    );
    let divergence = resurrects.divergence.clone().expect("found");
    assert!(
        matches!(
            divergence.steps[..],
            [Op::Put(a, 0, None), Op::Invalidate(b), Op::Get(c)] if a == b && b == c
        ),
        "{resurrects}"
    );
    assert!(
        resurrects
            .to_string()
            .contains("expected a miss, got a hit with")
    );
}

#[test]
fn a_trap_shows_its_first_line_unless_asked_for_all() {
    struct Traps;
    impl BackendFactory for Traps {
        fn name(&self) -> &str {
            "traps"
        }
        fn init(&self, _: &InitOptions, clock: SharedClock) -> Result<Box<dyn Backend>> {
            Ok(Box::new(TrapsOnGet(MemoryBackend::new(clock))))
        }
    }
    struct TrapsOnGet(MemoryBackend);
    impl Backend for TrapsOnGet {
        fn get(&self, _: &[u8]) -> Result<Option<Vec<u8>>> {
            Err(crate::error::Error::Trap {
                message: "unreachable\nwasm backtrace:\n  0: get".into(),
            })
        }
        fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
            self.0.put(key, value, ttl_ms)
        }
        fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
            self.0.invalidate(key)
        }
        fn stats(&self) -> Result<BackendStats> {
            self.0.stats()
        }
        fn size_limits(&self) -> SizeLimits {
            self.0.size_limits()
        }
    }
    let outcome = run(&Traps, &Vec::new(), &config(100, false));
    let short = outcome.to_string();
    assert!(
        short.ends_with("got an error: backend trapped: unreachable"),
        "{short}"
    );
    assert!(format!("{outcome:#}").contains("wasm backtrace"));
    let _ = Arc::new(());
}
