//! `memory`: an unbounded in-memory map with per-entry TTL.
//!
//! Expired entries are removed lazily: a `get` that finds one removes it, counts it in
//! the `expired` counter and reports a miss. Nothing is evicted for space; the host's
//! memory limit is the only bound, so pick the `lru` example when entries must be capped.
//!
//! Entries live in slots (a vector, with freed slots reused) found through a hash table
//! of their addresses: a listing walks the slots in order with the next slot number as its
//! cursor, so any number of listings can run at once and a key that stays put is listed
//! exactly once.
//!
//! It is laid out for the lookup, the hot path: an entry's key and value share one
//! allocation (one cache miss reaches both), the table is hashed with `foldhash` under a
//! seed drawn per instance from the host's randomness (`std`'s SipHash cost a third of a
//! lookup), keys are compared a word at a time, and the clock is only read for an entry
//! that has an expiry. What it hands back (values, listed keys and values) is copied into
//! one reused reply buffer rather than allocated and freed list by list (`reply.rs`).
//!
//! In the component it is `no_std` (`runtime.rs`): it imports the contract's `host`
//! interface and `wasi:random/insecure-seed`, not the 14 WASI interfaces the standard
//! library's runtime brings, so the host has less to wire into each new instance.

#![cfg_attr(all(target_arch = "wasm32", not(target_feature = "atomics")), no_std)]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::hash::BuildHasher;

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Expiry, Guest, Key, Value};
use exports::wasmcache::backend::batch::{self, PutItem};
use exports::wasmcache::backend::listing::{self, Entry as Listed, EntryPage, KeyPage};
use foldhash::fast::FixedState;
use wasmcache::backend::host;

wit_bindgen::generate!({
    // The contract's full world, and the one WASI function this backend calls.
    inline: "
        package wasmcache-example:memory;
        world memory {
            include wasmcache:backend/cache-backend-full@0.2.0;
            import wasi:random/insecure-seed@0.2.0;
        }
    ",
    path: ["../../../wit", "wit/insecure-seed.wit"],
    world: "memory",
    generate_all,
});

mod index;
mod record;
mod reply;
mod runtime;

use index::Index;
use record::{Record, View};

/// The host's clock, read at most once per call and only when an expiry needs it.
#[derive(Default)]
struct Now(Option<u64>);

impl Now {
    fn get(&mut self) -> u64 {
        *self.0.get_or_insert_with(host::now_ms)
    }
}

fn is_live(record: View<'_>, now: &mut Now) -> bool {
    record.expires_at().is_none_or(|at| now.get() < at)
}

fn expiry(record: View<'_>, now: u64) -> Expiry {
    match record.expires_at() {
        None => Expiry::Persistent,
        Some(at) => Expiry::ExpiresIn(at.saturating_sub(now)),
    }
}

struct State {
    hasher: FixedState,
    /// Every record's address, by the hash of its key.
    index: Index,
    /// The records, in slots that keep their number while the record lives (the listing
    /// cursor); freed slots are reused.
    slots: Vec<Option<Record>>,
    free: Vec<usize>,
    hits: u64,
    misses: u64,
    expired: u64,
}

impl Default for State {
    fn default() -> Self {
        // A seed no client can predict, from the host's randomness (`wasi:random`), so
        // chosen keys cannot be made to collide.
        let (seed, _) = wasi::random::insecure_seed::insecure_seed();
        State {
            hasher: FixedState::with_seed(seed),
            index: Index::default(),
            slots: Vec::new(),
            free: Vec::new(),
            hits: 0,
            misses: 0,
            expired: 0,
        }
    }
}

impl State {
    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The record at `address`, which the index holds.
    fn record(&self, address: usize) -> View<'_> {
        // SAFETY: the index holds the addresses of the records in `slots` and nothing
        // else (a record leaves the index before it is dropped, and its new address
        // replaces the old when it moves); `&self` keeps them unchanged meanwhile.
        unsafe { record::at(address) }
    }

    fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.index
            .find(hash, |address| self.record(address).has_key(key))
    }

    /// The address of `key`'s live record; an expired one is removed (and counted).
    fn live(&mut self, key: &[u8], now: &mut Now) -> Option<usize> {
        self.live_hashed(key, self.hash(key), now)
    }

    fn live_hashed(&mut self, key: &[u8], hash: u64, now: &mut Now) -> Option<usize> {
        let address = self.find(hash, key)?;
        if is_live(self.record(address), now) {
            return Some(address);
        }
        self.remove_at(hash, address);
        self.expired += 1;
        None
    }

    fn remove_at(&mut self, hash: u64, address: usize) {
        let slot = self.record(address).slot();
        self.index.remove(hash, address);
        self.slots[slot] = None;
        self.free.push(slot);
    }

    fn get(&mut self, key: &[u8], now: &mut Now) -> Option<Vec<u8>> {
        self.get_hashed(key, self.hash(key), now)
    }

    fn get_hashed(&mut self, key: &[u8], hash: u64, now: &mut Now) -> Option<Vec<u8>> {
        match self.live_hashed(key, hash, now) {
            Some(address) => {
                self.hits += 1;
                Some(reply::copy(self.record(address).value()))
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Reads, ahead of the lookups of the keys whose hashes are `hashes`, the table
    /// position and the record each will start from: the reads do not depend on one
    /// another, so the processor overlaps their cache misses instead of waiting for each
    /// lookup's in turn.
    fn warm(&self, hashes: &[u64]) {
        let mut touched = 0_usize;
        let firsts: Vec<(u32, usize)> = hashes.iter().map(|&hash| self.index.first(hash)).collect();
        for (_, address) in firsts {
            if address != 0 {
                let record = self.record(address);
                // The header and the value's last byte: the lines the lookup will read.
                touched ^= record.slot() ^ usize::from(record.value().last().copied().unwrap_or(0));
            }
        }
        core::hint::black_box(touched);
    }

    fn get_many(&mut self, keys: &[Key], now: &mut Now) -> Vec<Option<Value>> {
        let hashes: Vec<u64> = keys.iter().map(|key| self.hash(key)).collect();
        self.warm(&hashes);
        keys.iter()
            .zip(hashes)
            .map(|(key, hash)| self.get_hashed(key, hash, now))
            .collect()
    }

    fn put(&mut self, key: &[u8], value: &[u8], expires_at: Option<u64>) {
        self.put_hashed(key, self.hash(key), value, expires_at);
    }

    /// Stores many entries, warming their positions first as [`State::get_many`] does.
    fn put_many(&mut self, items: &[PutItem], now: &mut Now) {
        let hashes: Vec<u64> = items.iter().map(|item| self.hash(&item.key)).collect();
        self.warm(&hashes);
        for (item, hash) in items.iter().zip(hashes) {
            let expires_at = item.ttl_ms.map(|ttl| now.get().saturating_add(ttl));
            self.put_hashed(&item.key, hash, &item.value, expires_at);
        }
    }

    fn put_hashed(&mut self, key: &[u8], hash: u64, value: &[u8], expires_at: Option<u64>) {
        if let Some(address) = self.find(hash, key) {
            let slot = self.record(address).slot();
            let record = self.slots[slot].as_mut().expect("indexed slots are full");
            record.set_value(value, expires_at);
            let moved = record.address();
            if moved != address {
                self.index.replace(hash, address, moved);
            }
            return;
        }
        let slot = self.free.pop().unwrap_or(self.slots.len());
        let record = Record::new(key, value, expires_at, slot);
        self.index.insert(hash, record.address());
        if slot == self.slots.len() {
            self.slots.push(Some(record));
        } else {
            self.slots[slot] = Some(record);
        }
    }

    fn remove(&mut self, key: &[u8], now: &mut Now) -> bool {
        let hash = self.hash(key);
        match self.live_hashed(key, hash, now) {
            Some(address) => {
                self.remove_at(hash, address);
                true
            }
            None => false,
        }
    }

    fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.free.clear();
    }

    /// Live records from the slot `cursor` names, at most `limit`, and the next cursor.
    fn page<T>(
        &self,
        cursor: Option<Vec<u8>>,
        limit: u32,
        now: u64,
        item: impl Fn(View<'_>) -> T,
    ) -> (Vec<T>, Option<Vec<u8>>) {
        let mut at = cursor.as_deref().map_or(0, decode_cursor);
        let mut items = Vec::new();
        while at < self.slots.len() && items.len() < limit as usize {
            if let Some(record) = &self.slots[at] {
                let view = record.view();
                if view.expires_at().is_none_or(|expires| now < expires) {
                    items.push(item(view));
                }
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

static STATE: runtime::OneThread<State> = runtime::OneThread::new();

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
        reply::begin();
        STATE.with_borrow_mut(|state| state.get(&key, &mut Now::default()))
    }

    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        let expires_at = ttl_ms.map(|ttl| host::now_ms().saturating_add(ttl));
        STATE.with_borrow_mut(|state| state.put(&key, &value, expires_at));
        Ok(())
    }

    fn invalidate(key: Option<Key>) {
        STATE.with_borrow_mut(|state| match key {
            Some(key) => {
                let hash = state.hash(&key);
                if let Some(address) = state.find(hash, &key) {
                    state.remove_at(hash, address);
                }
            }
            None => state.clear(),
        });
    }

    fn stats() -> BackendStats {
        STATE.with_borrow_mut(|state| BackendStats {
            size: state.index.len() as u64,
            counters: vec![
                ("hits".to_string(), state.hits),
                ("misses".to_string(), state.misses),
                ("expired".to_string(), state.expired),
            ],
        })
    }

    fn remove(key: Key) -> bool {
        STATE.with_borrow_mut(|state| state.remove(&key, &mut Now::default()))
    }

    fn ttl(key: Key) -> Option<Expiry> {
        let mut now = Now::default();
        STATE.with_borrow_mut(|state| {
            let address = state.live(&key, &mut now)?;
            let record = state.record(address);
            Some(expiry(record, now.get()))
        })
    }

    fn set_ttl(key: Key, ttl_ms: Option<u64>) -> bool {
        let mut now = Now::default();
        STATE.with_borrow_mut(|state| {
            let hash = state.hash(&key);
            let Some(address) = state.live_hashed(&key, hash, &mut now) else {
                return false;
            };
            if ttl_ms == Some(0) {
                state.remove_at(hash, address);
            } else {
                let slot = state.record(address).slot();
                if let Some(record) = state.slots[slot].as_mut() {
                    record.set_expires_at(ttl_ms.map(|ttl| now.get().saturating_add(ttl)));
                }
            }
            true
        })
    }
}

impl batch::Guest for Memory {
    fn get_many(keys: Vec<Key>) -> Vec<Option<Value>> {
        reply::begin();
        let mut now = Now::default();
        STATE.with_borrow_mut(|state| state.get_many(&keys, &mut now))
    }

    fn put_many(items: Vec<PutItem>) -> Vec<Result<(), BackendError>> {
        STATE.with_borrow_mut(|state| state.put_many(&items, &mut Now::default()));
        // This backend never refuses a put.
        items.iter().map(|_| Ok(())).collect()
    }

    fn remove_many(keys: Vec<Key>) -> Vec<bool> {
        let mut now = Now::default();
        STATE.with_borrow_mut(|state| keys.iter().map(|key| state.remove(key, &mut now)).collect())
    }
}

impl listing::Guest for Memory {
    fn entries(cursor: Option<Vec<u8>>, limit: u32) -> EntryPage {
        reply::begin();
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| {
            let (entries, next) = state.page(cursor, limit, now, |record| Listed {
                key: reply::copy(record.key()),
                value: reply::copy(record.value()),
                ttl_remaining_ms: record.expires_at().map(|at| at - now),
            });
            EntryPage { entries, next }
        })
    }

    fn keys(cursor: Option<Vec<u8>>, limit: u32) -> KeyPage {
        reply::begin();
        let now = host::now_ms();
        STATE.with_borrow_mut(|state| {
            let (keys, next) = state.page(cursor, limit, now, |record| reply::copy(record.key()));
            KeyPage { keys, next }
        })
    }
}

export!(Memory);
