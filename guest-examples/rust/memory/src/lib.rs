//! `memory`: an unbounded in-memory map with per-entry TTL.
//!
//! Expired entries are removed lazily: a `get` that finds one removes it, counts it in
//! the `expired` counter and reports a miss. Nothing is evicted for space; the host's
//! memory limit is the only bound, so pick the `lru` example when entries must be capped.
//!
//! Entries live in slots (a vector, with freed slots reused) found through a hash map of
//! keys to slot numbers: a lookup is one hash, and a listing walks the slots in order with
//! the next slot number as its cursor, so any number of listings can run at once and a key
//! that stays put is listed exactly once.

use std::cell::RefCell;
use std::collections::HashMap;

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Expiry, Guest, Key, Value};
use exports::wasmcache::backend::batch::{self, PutItem};
use exports::wasmcache::backend::listing::{self, Entry as Listed, EntryPage, KeyPage};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend-full",
    path: "../../../wit",
});

/// One stored entry: its key, value and the host-clock millisecond at which it expires.
struct Slot {
    key: Vec<u8>,
    value: Vec<u8>,
    expires_at: Option<u64>,
}

impl Slot {
    fn is_live(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    fn expiry(&self, now: u64) -> Expiry {
        match self.expires_at {
            None => Expiry::Persistent,
            Some(at) => Expiry::ExpiresIn(at - now),
        }
    }
}

#[derive(Default)]
struct State {
    index: HashMap<Vec<u8>, usize>,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    hits: u64,
    misses: u64,
    expired: u64,
}

impl State {
    /// The slot of `key`'s live entry; an expired one is removed (and counted).
    fn live(&mut self, key: &[u8], now: u64) -> Option<usize> {
        let at = *self.index.get(key)?;
        let slot = self.slots[at].as_ref().expect("indexed slots are full");
        if slot.is_live(now) {
            return Some(at);
        }
        self.remove_at(at);
        self.expired += 1;
        None
    }

    fn remove_at(&mut self, at: usize) -> Slot {
        let slot = self.slots[at].take().expect("indexed slots are full");
        self.index.remove(&slot.key);
        self.free.push(at);
        slot
    }

    fn get(&mut self, key: &[u8], now: u64) -> Option<Vec<u8>> {
        match self.live(key, now) {
            Some(at) => {
                self.hits += 1;
                self.slots[at].as_ref().map(|slot| slot.value.clone())
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>, expires_at: Option<u64>) {
        if let Some(&at) = self.index.get(&key) {
            let slot = self.slots[at].as_mut().expect("indexed slots are full");
            slot.value = value;
            slot.expires_at = expires_at;
            return;
        }
        let slot = Slot {
            key: key.clone(),
            value,
            expires_at,
        };
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at] = Some(slot);
                at
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.index.insert(key, at);
    }

    fn remove(&mut self, key: &[u8], now: u64) -> bool {
        match self.live(key, now) {
            Some(at) => {
                self.remove_at(at);
                true
            }
            None => false,
        }
    }

    /// Live slots from the one `cursor` names, at most `limit`, and the next cursor.
    fn page<T>(
        &self,
        cursor: Option<Vec<u8>>,
        limit: u32,
        now: u64,
        item: impl Fn(&Slot) -> T,
    ) -> (Vec<T>, Option<Vec<u8>>) {
        let mut at = cursor.as_deref().map_or(0, decode_cursor);
        let mut items = Vec::new();
        while at < self.slots.len() && items.len() < limit as usize {
            if let Some(slot) = self.slots[at].as_ref().filter(|slot| slot.is_live(now)) {
                items.push(item(slot));
            }
            at += 1;
        }
        let next = (at < self.slots.len()).then(|| (at as u64).to_le_bytes().to_vec());
        (items, next)
    }
}

/// A cursor is the next slot number, 8 bytes little-endian; anything else starts over at
/// the end (the host only hands back cursors this backend gave).
fn decode_cursor(cursor: &[u8]) -> usize {
    cursor
        .try_into()
        .map(u64::from_le_bytes)
        .map_or(usize::MAX, |at| usize::try_from(at).unwrap_or(usize::MAX))
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
        STATE.with_borrow_mut(|state| state.get(&key, now))
    }

    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        let expires_at = ttl_ms.map(|ttl| host::now_ms().saturating_add(ttl));
        STATE.with_borrow_mut(|state| state.put(key, value, expires_at));
        Ok(())
    }

    fn invalidate(key: Option<Key>) {
        STATE.with_borrow_mut(|state| match key {
            Some(key) => {
                if let Some(&at) = state.index.get(&key) {
                    state.remove_at(at);
                }
            }
            None => {
                state.index.clear();
                state.slots.clear();
                state.free.clear();
            }
        });
    }

    fn stats() -> BackendStats {
        STATE.with_borrow(|state| BackendStats {
            size: state.index.len() as u64,
            counters: vec![
                ("hits".to_string(), state.hits),
                ("misses".to_string(), state.misses),
                ("expired".to_string(), state.expired),
            ],
        })
    }

    fn remove(key: Key) -> bool {
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| state.remove(&key, now))
    }

    fn ttl(key: Key) -> Option<Expiry> {
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| {
            let at = state.live(&key, now)?;
            state.slots[at].as_ref().map(|slot| slot.expiry(now))
        })
    }

    fn set_ttl(key: Key, ttl_ms: Option<u64>) -> bool {
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| {
            let Some(at) = state.live(&key, now) else {
                return false;
            };
            if ttl_ms == Some(0) {
                state.remove_at(at);
            } else if let Some(slot) = state.slots[at].as_mut() {
                slot.expires_at = ttl_ms.map(|ttl| now.saturating_add(ttl));
            }
            true
        })
    }
}

impl batch::Guest for Memory {
    fn get_many(keys: Vec<Key>) -> Vec<Option<Value>> {
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| keys.iter().map(|key| state.get(key, now)).collect())
    }

    fn put_many(items: Vec<PutItem>) -> Vec<Result<(), BackendError>> {
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| {
            items
                .into_iter()
                .map(|item| {
                    let expires_at = item.ttl_ms.map(|ttl| now.saturating_add(ttl));
                    state.put(item.key, item.value, expires_at);
                    Ok(())
                })
                .collect()
        })
    }

    fn remove_many(keys: Vec<Key>) -> Vec<bool> {
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| keys.iter().map(|key| state.remove(key, now)).collect())
    }
}

impl listing::Guest for Memory {
    fn entries(cursor: Option<Vec<u8>>, limit: u32) -> EntryPage {
        let now = host::now_ms();
        STATE.with_borrow(|state| {
            let (entries, next) = state.page(cursor, limit, now, |slot| Listed {
                key: slot.key.clone(),
                value: slot.value.clone(),
                ttl_remaining_ms: slot.expires_at.map(|at| at - now),
            });
            EntryPage { entries, next }
        })
    }

    fn keys(cursor: Option<Vec<u8>>, limit: u32) -> KeyPage {
        let now = host::now_ms();
        STATE.with_borrow(|state| {
            let (keys, next) = state.page(cursor, limit, now, |slot| slot.key.clone());
            KeyPage { keys, next }
        })
    }
}

export!(Memory);
