//! `memory`: an unbounded in-memory map with per-entry TTL.
//!
//! Expired entries are removed lazily: a `get` that finds one removes it, counts it in
//! the `expired` counter and reports a miss. Nothing is evicted for space; the host's
//! memory limit is the only bound, so pick the `lru` example when entries must be capped.

use std::cell::RefCell;
use std::collections::HashMap;

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use exports::wasmcache::backend::handover::{self, Page};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend-with-handover",
    path: "../../../wit",
});

/// One stored entry: the value and the host-clock millisecond at which it expires.
struct Entry {
    value: Vec<u8>,
    expires_at: Option<u64>,
}

impl Entry {
    fn is_live(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

#[derive(Default)]
struct State {
    entries: HashMap<Vec<u8>, Entry>,
    hits: u64,
    misses: u64,
    expired: u64,
    /// The keys being listed for a handover, fixed when the listing starts so the
    /// cursor (an index into it) stays meaningful while entries change.
    listing: Vec<Vec<u8>>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

struct Memory;

impl Guest for Memory {
    fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
        // This backend has no settings; anything given is a mistake worth reporting.
        if let Some((name, _)) = options.first() {
            return Err(BackendError::InvalidConfig(format!(
                "unknown option `{name}`: the memory backend takes no options"
            )));
        }
        STATE.with_borrow_mut(|state| *state = State::default());
        host::log(host::LogLevel::Debug, "memory backend ready");
        Ok(())
    }

    fn get(key: Key) -> Option<Value> {
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| {
            let live = state.entries.get(&key).map(|entry| entry.is_live(now));
            match live {
                Some(true) => {
                    state.hits += 1;
                    state.entries.get(&key).map(|entry| entry.value.clone())
                }
                Some(false) => {
                    state.entries.remove(&key);
                    state.expired += 1;
                    state.misses += 1;
                    None
                }
                None => {
                    state.misses += 1;
                    None
                }
            }
        })
    }

    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        let expires_at = ttl_ms.map(|ttl| host::now_ms().saturating_add(ttl));
        STATE.with_borrow_mut(|state| {
            state.entries.insert(key, Entry { value, expires_at });
        });
        Ok(())
    }

    fn invalidate(key: Option<Key>) {
        STATE.with_borrow_mut(|state| match key {
            Some(key) => {
                state.entries.remove(&key);
            }
            None => state.entries.clear(),
        });
    }

    fn stats() -> BackendStats {
        STATE.with_borrow(|state| BackendStats {
            size: state.entries.len() as u64,
            counters: vec![
                ("hits".to_string(), state.hits),
                ("misses".to_string(), state.misses),
                ("expired".to_string(), state.expired),
            ],
        })
    }
}

impl handover::Guest for Memory {
    fn entries(cursor: Option<u64>, limit: u32) -> Page {
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| {
            let start = match cursor {
                Some(cursor) => usize::try_from(cursor).unwrap_or(usize::MAX),
                None => {
                    state.listing = state.entries.keys().cloned().collect();
                    0
                }
            };
            let mut page = Vec::new();
            let mut next = start;
            while next < state.listing.len() && page.len() < limit as usize {
                let key = &state.listing[next];
                next += 1;
                if let Some(entry) = state.entries.get(key).filter(|entry| entry.is_live(now)) {
                    page.push(handover::Entry {
                        key: key.clone(),
                        value: entry.value.clone(),
                        ttl_remaining_ms: entry.expires_at.map(|at| at - now),
                    });
                }
            }
            let next = if next < state.listing.len() {
                Some(next as u64)
            } else {
                state.listing = Vec::new();
                None
            };
            Page { entries: page, next }
        })
    }
}

export!(Memory);
