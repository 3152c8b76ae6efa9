//! The differential check: random sequences of operations (clock moves included) run
//! against a backend and against the native `MemoryBackend`, the reference, each on a
//! clock of its own moved in step. Every answer must be the reference's. proptest shrinks
//! a failing sequence to the shortest that still diverges, and the report lists it as
//! steps an author can replay.
//!
//! The keys come from a small set so that operations meet on the same entries; backends
//! are given room for all of them, so a bounded one never has a reason to evict.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use wasmcache::{
    Backend, BackendFactory, Error, Expiry, InitOptions, ManualClock, MemoryBackend, PutItem,
};

/// Keys the sequences use.
const KEYS: u8 = 6;

/// One step of a sequence.
#[derive(Debug, Clone)]
pub enum Op {
    Get(u8),
    Put(u8, u8, Option<u64>),
    Remove(u8),
    Invalidate(u8),
    InvalidateAll,
    Ttl(u8),
    SetTtl(u8, Option<u64>),
    GetMany(Vec<u8>),
    PutMany(Vec<(u8, u8, Option<u64>)>),
    Advance(u64),
}

fn key(k: u8) -> Vec<u8> {
    format!("k{k}").into_bytes()
}

fn value(v: u8) -> Vec<u8> {
    // Lengths vary, the empty value included.
    vec![b'a' + v % 26; usize::from(v % 5)]
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ttl = |t: &Option<u64>| t.map_or("none".to_string(), |t| format!("{t} ms"));
        match self {
            Op::Get(k) => write!(f, "get k{k}"),
            Op::Put(k, v, t) => write!(
                f,
                "put k{k} = {:?} ttl {}",
                String::from_utf8_lossy(&value(*v)),
                ttl(t)
            ),
            Op::Remove(k) => write!(f, "remove k{k}"),
            Op::Invalidate(k) => write!(f, "invalidate k{k}"),
            Op::InvalidateAll => write!(f, "invalidate everything"),
            Op::Ttl(k) => write!(f, "ttl k{k}"),
            Op::SetTtl(k, t) => write!(f, "set-ttl k{k} {}", ttl(t)),
            Op::GetMany(keys) => write!(f, "get-many {keys:?}"),
            Op::PutMany(items) => write!(f, "put-many of {} items", items.len()),
            Op::Advance(ms) => write!(f, "clock +{ms} ms"),
        }
    }
}

fn ttl_strategy() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![Just(None), Just(Some(0)), (1..200u64).prop_map(Some)]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let k = 0..KEYS;
    prop_oneof![
        4 => k.clone().prop_map(Op::Get),
        4 => (k.clone(), any::<u8>(), ttl_strategy()).prop_map(|(k, v, t)| Op::Put(k, v, t)),
        1 => k.clone().prop_map(Op::Remove),
        1 => k.clone().prop_map(Op::Invalidate),
        1 => Just(Op::InvalidateAll),
        2 => k.clone().prop_map(Op::Ttl),
        2 => (k.clone(), ttl_strategy()).prop_map(|(k, t)| Op::SetTtl(k, t)),
        1 => proptest::collection::vec(0..KEYS, 0..4).prop_map(Op::GetMany),
        1 => proptest::collection::vec((0..KEYS, any::<u8>(), ttl_strategy()), 0..4).prop_map(Op::PutMany),
        3 => (1..150u64).prop_map(Op::Advance),
    ]
}

/// What an operation answered, comparable across backends.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Value(Option<Vec<u8>>),
    Flag(bool),
    Expiry(Option<Expiry>),
    Values(Vec<Option<Vec<u8>>>),
    Stored(Vec<bool>),
    Done,
    /// The backend cannot do this (a 0.1 component asked for a ttl): not compared.
    Unsupported,
}

fn apply(backend: &dyn Backend, clock: &ManualClock, op: &Op) -> Result<Answer, Error> {
    Ok(match op {
        Op::Get(k) => Answer::Value(backend.get(&key(*k))?),
        Op::Put(k, v, t) => {
            backend.put(&key(*k), &value(*v), *t)?;
            Answer::Done
        }
        Op::Remove(k) => Answer::Flag(backend.remove(&key(*k))?),
        Op::Invalidate(k) => {
            backend.invalidate(Some(&key(*k)))?;
            Answer::Done
        }
        Op::InvalidateAll => {
            backend.invalidate(None)?;
            Answer::Done
        }
        Op::Ttl(k) => match backend.ttl(&key(*k)) {
            Err(Error::Unsupported { .. }) => Answer::Unsupported,
            other => Answer::Expiry(other?),
        },
        Op::SetTtl(k, t) => Answer::Flag(backend.set_ttl(&key(*k), *t)?),
        Op::GetMany(keys) => {
            let keys: Vec<Vec<u8>> = keys.iter().map(|k| key(*k)).collect();
            let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            Answer::Values(backend.get_many(&keys)?)
        }
        Op::PutMany(items) => {
            let owned: Vec<(Vec<u8>, Vec<u8>, Option<u64>)> = items
                .iter()
                .map(|(k, v, t)| (key(*k), value(*v), *t))
                .collect();
            let items: Vec<PutItem<'_>> = owned
                .iter()
                .map(|(key, value, ttl_ms)| PutItem {
                    key,
                    value,
                    ttl_ms: *ttl_ms,
                })
                .collect();
            Answer::Stored(
                backend
                    .put_many(&items)?
                    .iter()
                    .map(Result::is_ok)
                    .collect(),
            )
        }
        Op::Advance(ms) => {
            clock.advance(Duration::from_millis(*ms));
            Answer::Done
        }
    })
}

/// Runs `ops` on a fresh backend and a fresh reference; the first divergence, if any.
fn diverges(factory: &dyn BackendFactory, options: &InitOptions, ops: &[Op]) -> Option<String> {
    let (clock, reference_clock) = (Arc::new(ManualClock::new()), Arc::new(ManualClock::new()));
    // Far from zero, as the conformance suite's clock.
    clock.advance(Duration::from_secs(1_000_000));
    reference_clock.advance(Duration::from_secs(1_000_000));
    let backend = match factory.init(options, clock.clone()) {
        Ok(backend) => backend,
        Err(error) => return Some(format!("init failed: {error}")),
    };
    let reference = MemoryBackend::new(reference_clock.clone());
    for (step, op) in ops.iter().enumerate() {
        let want = apply(&reference, &reference_clock, op).map_err(|e| e.to_string());
        let got = apply(&*backend, &clock, op).map_err(|e| e.to_string());
        if got == Ok(Answer::Unsupported) {
            continue;
        }
        if got != want {
            let steps: Vec<String> = ops[..=step]
                .iter()
                .enumerate()
                .map(|(i, op)| format!("  {}. {op}", i + 1))
                .collect();
            return Some(format!(
                "step {} diverges: the reference answered {want:?}, the backend {got:?}\n{}",
                step + 1,
                steps.join("\n")
            ));
        }
    }
    None
}

/// Runs `cases` random sequences (of up to 40 operations) against backends from
/// `factory` and the reference, deterministically from `seed`; `Err` describes the
/// shortest diverging sequence found.
pub fn differential(
    factory: &dyn BackendFactory,
    options: &InitOptions,
    cases: u32,
    seed: u64,
) -> Result<(), String> {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = proptest::test_runner::TestRng::from_seed(
        proptest::test_runner::RngAlgorithm::ChaCha,
        &seed_bytes,
    );
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(
        &proptest::collection::vec(op_strategy(), 1..40),
        |ops| match diverges(factory, options, &ops) {
            None => Ok(()),
            Some(why) => Err(TestCaseError::fail(why)),
        },
    );
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(why, _)) => Err(format!("{}: {why}", factory.name())),
        Err(TestError::Abort(why)) => Err(format!("{}: aborted: {why}", factory.name())),
    }
}
