//! Replaying one sequence against a backend and the reference, step by step, and judging
//! each answer.
//!
//! The reference is the native [`MemoryBackend`], which never forgets. A bounded backend
//! may: a miss (or `false`, or no ttl) where the reference has a live entry is accepted as
//! an eviction, and the entry is then dropped from the reference too, so that the key
//! may only miss until it is written again. What is never accepted: a value where the
//! reference has none (invented, expired or removed), another value than the last one
//! put, another expiry, an error where the reference succeeds.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::ops::{Op, key, value};
use crate::backend::{Backend, BackendFactory, Expiry, InitOptions, MemoryBackend, PutItem};
use crate::clock::ManualClock;
use crate::conformance::render;
use crate::error::Error;

/// Where both clocks start, as the conformance suite's: far from zero.
const CLOCK_START: Duration = Duration::from_secs(1_000_000);

/// The first step whose answer the oracle refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// Its index in the sequence (from 0).
    pub step: usize,
    /// What the oracle allowed, in words.
    pub expected: String,
    /// What the backend answered, in words (an error's whole text).
    pub got: String,
}

/// A replayed sequence: the backend's answer to each step that ran, and the step it went
/// wrong at, if any.
#[derive(Debug, Clone)]
pub(super) struct Trace {
    pub(super) answers: Vec<String>,
    pub(super) mismatch: Option<Mismatch>,
}

/// Runs `ops` on a fresh backend from `factory` and a fresh reference, each on a manual
/// clock of its own moved in step. With `exact`, forgetting is a mismatch too.
pub(super) fn replay(
    factory: &dyn BackendFactory,
    options: &InitOptions,
    ops: &[Op],
    exact: bool,
) -> Trace {
    let (clock, reference_clock) = (Arc::new(ManualClock::new()), Arc::new(ManualClock::new()));
    clock.advance(CLOCK_START);
    reference_clock.advance(CLOCK_START);
    let mut trace = Trace {
        answers: Vec::new(),
        mismatch: None,
    };
    let backend = match factory.init(options, clock.clone()) {
        Ok(backend) => backend,
        Err(error) => {
            trace.mismatch = Some(Mismatch {
                step: 0,
                expected: "init to succeed".into(),
                got: format!("init failed: {error}"),
            });
            return trace;
        }
    };
    let pair = Pair {
        backend: &*backend,
        reference: MemoryBackend::new(reference_clock.clone()),
        clocks: [&clock, &reference_clock],
        exact,
    };
    for (step, op) in ops.iter().enumerate() {
        match pair.step(op) {
            Ok(answer) => trace.answers.push(answer),
            Err((expected, got)) => {
                trace.mismatch = Some(Mismatch {
                    step,
                    expected,
                    got,
                });
                break;
            }
        }
    }
    trace
}

/// A step's outcome: the backend's answer in words, or what was allowed and what came.
type Judged = Result<String, (String, String)>;

struct Pair<'a> {
    backend: &'a dyn Backend,
    reference: MemoryBackend,
    clocks: [&'a ManualClock; 2],
    exact: bool,
}

fn error(e: &Error) -> String {
    format!("an error: {e}")
}

fn flag(b: bool) -> String {
    b.to_string()
}

fn expiry(e: Option<Expiry>) -> String {
    match e {
        None => "no entry".into(),
        Some(Expiry::Persistent) => "no expiry".into(),
        Some(Expiry::InMs(ms)) => format!("expires in {ms} ms"),
    }
}

impl Pair<'_> {
    /// The reference's answer; it never fails on the small keys and values used here, so a
    /// failure is reported as the step's (it would be a host bug, not the backend's).
    fn reference<T>(&self, answer: crate::error::Result<T>) -> Result<T, (String, String)> {
        answer.map_err(|e| {
            (
                "the reference to answer".into(),
                format!("the reference failed: {e}"),
            )
        })
    }

    /// Drops `key` from the reference: the backend forgot it, so it may only miss now.
    fn forget(&self, key: &[u8]) -> Result<(), (String, String)> {
        self.reference(self.reference.invalidate(Some(key)))
    }

    /// Judges a lookup of `key`: the reference's value, or (not `exact`) a miss.
    fn lookup(&self, key: &[u8], want: &Option<Vec<u8>>, got: &Option<Vec<u8>>) -> bool {
        match (want, got) {
            (want, got) if want == got => true,
            (Some(_), None) if !self.exact => self.forget(key).is_ok(),
            _ => false,
        }
    }

    /// What a lookup may answer, in words.
    fn allowed(&self, want: &Option<Vec<u8>>) -> String {
        match want {
            Some(v) if !self.exact => format!("{} or a miss", render::lookup(Some(v))),
            want => render::lookup(want.as_deref()),
        }
    }

    /// Judges a yes/no answer whose `true` means the reference had a live entry.
    fn found(&self, key: &[u8], want: bool, got: bool) -> Judged {
        match (want, got) {
            _ if want == got => Ok(flag(got)),
            (true, false) if !self.exact => self.forget(key).map(|()| flag(got)),
            (true, false) => Err(("true".into(), "false".into())),
            _ => Err((
                (if self.exact {
                    "false"
                } else {
                    "false (nothing live to act on)"
                })
                .into(),
                flag(got),
            )),
        }
    }

    fn step(&self, op: &Op) -> Judged {
        let b = self.backend;
        match op {
            Op::Get(k) => {
                let k = key(*k);
                let want = self.reference(self.reference.get(&k))?;
                match b.get(&k) {
                    Ok(got) if self.lookup(&k, &want, &got) => Ok(render::lookup(got.as_deref())),
                    Ok(got) => Err((self.allowed(&want), render::lookup(got.as_deref()))),
                    Err(e) => Err((self.allowed(&want), error(&e))),
                }
            }
            Op::Put(k, v, ttl) => {
                let (k, v) = (key(*k), value(*v));
                self.reference(self.reference.put(&k, &v, *ttl))?;
                b.put(&k, &v, *ttl)
                    .map(|()| "ok".to_string())
                    .map_err(|e| ("ok".into(), error(&e)))
            }
            Op::Remove(k) => {
                let k = key(*k);
                let want = self.reference(self.reference.remove(&k))?;
                match b.remove(&k) {
                    Ok(got) => self.found(&k, want, got),
                    Err(e) => Err((flag(want), error(&e))),
                }
            }
            Op::Invalidate(k) => {
                let k = key(*k);
                self.reference(self.reference.invalidate(Some(&k)))?;
                b.invalidate(Some(&k))
                    .map(|()| "ok".to_string())
                    .map_err(|e| ("ok".into(), error(&e)))
            }
            Op::InvalidateAll => {
                self.reference(self.reference.invalidate(None))?;
                b.invalidate(None)
                    .map(|()| "ok".to_string())
                    .map_err(|e| ("ok".into(), error(&e)))
            }
            Op::Ttl(k) => {
                let k = key(*k);
                let want = self.reference(self.reference.ttl(&k))?;
                match b.ttl(&k) {
                    // A 0.1 component cannot say: nothing to compare.
                    Err(Error::Unsupported { .. }) => Ok("not supported".into()),
                    Ok(got) if got == want => Ok(expiry(got)),
                    Ok(None) if !self.exact => self.forget(&k).map(|()| expiry(None)),
                    Ok(got) => Err((expiry(want), expiry(got))),
                    Err(e) => Err((expiry(want), error(&e))),
                }
            }
            Op::SetTtl(k, ttl) => {
                let k = key(*k);
                let want = self.reference(self.reference.set_ttl(&k, *ttl))?;
                match b.set_ttl(&k, *ttl) {
                    Ok(got) => self.found(&k, want, got),
                    Err(e) => Err((flag(want), error(&e))),
                }
            }
            Op::GetMany(keys) => self.get_many(keys),
            Op::PutMany(items) => self.put_many(items),
            Op::Advance(ms) => {
                for clock in self.clocks {
                    clock.advance(Duration::from_millis(*ms));
                }
                Ok("ok".into())
            }
        }
    }

    fn get_many(&self, keys: &[u8]) -> Judged {
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| key(*k)).collect();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let want = self.reference(self.reference.get_many(&refs))?;
        let got = b_or(self.backend.get_many(&refs), |e| {
            (render::lookups(&want), error(&e))
        })?;
        let refused = || (render::lookups(&want), render::lookups(&got));
        if got.len() != want.len() {
            return Err(refused());
        }
        // A key forgotten earlier in the same batch must not hit later in it.
        let mut forgotten = HashSet::new();
        for ((k, want), got) in keys.iter().zip(&want).zip(&got) {
            let want = if forgotten.contains(k) { &None } else { want };
            if !self.lookup(k, want, got) {
                return Err(refused());
            }
            if got.is_none() {
                forgotten.insert(k);
            }
        }
        Ok(render::lookups(&got))
    }

    fn put_many(&self, items: &[(u8, u8, Option<u64>)]) -> Judged {
        let owned: Vec<(Vec<u8>, Vec<u8>, Option<u64>)> = items
            .iter()
            .map(|&(k, v, t)| (key(k), value(v), t))
            .collect();
        let items: Vec<PutItem<'_>> = owned
            .iter()
            .map(|(key, value, ttl_ms)| PutItem {
                key,
                value,
                ttl_ms: *ttl_ms,
            })
            .collect();
        let stored = |results: &[crate::error::Result<()>]| {
            let each: Vec<&str> = results
                .iter()
                .map(|r| if r.is_ok() { "ok" } else { "refused" })
                .collect();
            format!("[{}]", each.join(", "))
        };
        let want = stored(&self.reference(self.reference.put_many(&items))?);
        let got = stored(&b_or(self.backend.put_many(&items), |e| {
            (want.clone(), error(&e))
        })?);
        if got == want {
            Ok(got)
        } else {
            Err((want, got))
        }
    }
}

/// The backend's answer, or the mismatch `on_error` makes of its error.
fn b_or<T>(
    answer: crate::error::Result<T>,
    on_error: impl FnOnce(Error) -> (String, String),
) -> Result<T, (String, String)> {
    answer.map_err(on_error)
}
