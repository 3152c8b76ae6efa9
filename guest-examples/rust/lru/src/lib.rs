//! `lru`: a bounded least-recently-used cache with per-entry TTL.
//!
//! Options (both optional; with neither, `max-entries` defaults to 10000):
//! - `max-entries`: how many entries to keep, a positive integer.
//! - `max-bytes`: how many bytes of keys plus values to keep, a positive integer.
//!
//! When a `put` would exceed a bound, the least recently used entries (a `get` hit or a
//! `put` makes an entry the most recent) are evicted until it fits, and counted in
//! `evictions` (or in `expired`, if the victim had expired anyway). An entry larger than
//! `max-bytes` on its own is refused with `too-large`. Expired entries are also removed
//! lazily when a `get` finds them. Reading or changing an entry's ttl does not count as a
//! use. It exports `listing` (entries least recently used first, so a handover rebuilds
//! the same recency) but not `batch`: the host calls it one key at a time.

use std::cell::RefCell;
use std::collections::HashMap;

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Expiry, Guest, Key, Value};
use exports::wasmcache::backend::listing::{self, EntryPage, KeyPage};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend-with-listing",
    path: "../../../wit",
});

const DEFAULT_MAX_ENTRIES: u64 = 10_000;
/// Marks the end of the recency list.
const NIL: usize = usize::MAX;

/// A slot in the recency list. Slots are reused through `free`.
struct Node {
    key: Vec<u8>,
    value: Vec<u8>,
    expires_at: Option<u64>,
    prev: usize,
    next: usize,
}

impl Node {
    fn bytes(&self) -> u64 {
        (self.key.len() + self.value.len()) as u64
    }
}

struct Lru {
    max_entries: u64,
    max_bytes: Option<u64>,
    index: HashMap<Vec<u8>, usize>,
    nodes: Vec<Node>,
    free: Vec<usize>,
    /// Most recently used.
    head: usize,
    /// Least recently used: the next victim.
    tail: usize,
    bytes: u64,
    /// Keys being listed for a handover, least recently used first (so replaying them in
    /// order rebuilds the same recency), fixed when the listing starts.
    listing: Vec<Vec<u8>>,
    hits: u64,
    misses: u64,
    evictions: u64,
    expired: u64,
}

impl Lru {
    fn new(max_entries: u64, max_bytes: Option<u64>) -> Self {
        Lru {
            max_entries,
            max_bytes,
            index: HashMap::new(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            bytes: 0,
            listing: Vec::new(),
            hits: 0,
            misses: 0,
            evictions: 0,
            expired: 0,
        }
    }

    fn unlink(&mut self, slot: usize) {
        let (prev, next) = (self.nodes[slot].prev, self.nodes[slot].next);
        match prev {
            NIL => self.head = next,
            p => self.nodes[p].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.nodes[n].prev = prev,
        }
    }

    fn push_front(&mut self, slot: usize) {
        self.nodes[slot].prev = NIL;
        self.nodes[slot].next = self.head;
        match self.head {
            NIL => self.tail = slot,
            h => self.nodes[h].prev = slot,
        }
        self.head = slot;
    }

    /// Removes the entry in `slot` from the list and the index, releasing its memory.
    fn remove_slot(&mut self, slot: usize) {
        self.unlink(slot);
        self.bytes -= self.nodes[slot].bytes();
        let key = std::mem::take(&mut self.nodes[slot].key);
        self.nodes[slot].value = Vec::new();
        self.index.remove(&key);
        self.free.push(slot);
    }

    /// The slot of `key`'s live entry, without touching its recency; an expired one is
    /// removed (and counted).
    fn live(&mut self, key: &[u8], now: u64) -> Option<usize> {
        let slot = *self.index.get(key)?;
        if self.nodes[slot].expires_at.is_some_and(|at| now >= at) {
            self.remove_slot(slot);
            self.expired += 1;
            return None;
        }
        Some(slot)
    }

    fn get(&mut self, key: &[u8], now: u64) -> Option<Vec<u8>> {
        let Some(&slot) = self.index.get(key) else {
            self.misses += 1;
            return None;
        };
        if self.nodes[slot].expires_at.is_some_and(|at| now >= at) {
            self.remove_slot(slot);
            self.expired += 1;
            self.misses += 1;
            return None;
        }
        self.unlink(slot);
        self.push_front(slot);
        self.hits += 1;
        Some(self.nodes[slot].value.clone())
    }

    fn put(
        &mut self,
        key: Vec<u8>,
        value: Vec<u8>,
        expires_at: Option<u64>,
        now: u64,
    ) -> Result<(), BackendError> {
        let size = (key.len() + value.len()) as u64;
        if let Some(max) = self.max_bytes.filter(|&max| size > max) {
            return Err(BackendError::TooLarge(max));
        }
        if let Some(&old) = self.index.get(&key) {
            self.remove_slot(old);
        }
        let node = Node {
            key: key.clone(),
            value,
            expires_at,
            prev: NIL,
            next: NIL,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        self.push_front(slot);
        self.index.insert(key, slot);
        self.bytes += size;
        // The new entry fits on its own, so evicting from the tail stops before reaching it.
        while self.index.len() as u64 > self.max_entries
            || self.max_bytes.is_some_and(|max| self.bytes > max)
        {
            let victim = self.tail;
            if self.nodes[victim].expires_at.is_some_and(|at| now >= at) {
                self.expired += 1;
            } else {
                self.evictions += 1;
            }
            self.remove_slot(victim);
        }
        Ok(())
    }

    fn clear(&mut self) {
        let (max_entries, max_bytes) = (self.max_entries, self.max_bytes);
        let counters = (self.hits, self.misses, self.evictions, self.expired);
        *self = Lru::new(max_entries, max_bytes);
        (self.hits, self.misses, self.evictions, self.expired) = counters;
    }

    fn stats(&self) -> BackendStats {
        BackendStats {
            size: self.index.len() as u64,
            counters: vec![
                ("hits".into(), self.hits),
                ("misses".into(), self.misses),
                ("evictions".into(), self.evictions),
                ("expired".into(), self.expired),
                ("bytes".into(), self.bytes),
            ],
        }
    }
}

fn positive(name: &str, raw: &str) -> Result<u64, BackendError> {
    match raw.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(BackendError::InvalidConfig(format!(
            "option `{name}` must be a positive integer, got `{raw}`"
        ))),
    }
}

thread_local! {
    static CACHE: RefCell<Lru> = RefCell::new(Lru::new(DEFAULT_MAX_ENTRIES, None));
}

struct Backend;

impl Guest for Backend {
    fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
        let (mut max_entries, mut max_bytes) = (None, None);
        for (name, raw) in &options {
            match name.as_str() {
                "max-entries" => max_entries = Some(positive(name, raw)?),
                "max-bytes" => max_bytes = Some(positive(name, raw)?),
                other => {
                    return Err(BackendError::InvalidConfig(format!(
                        "unknown option `{other}`: the lru backend takes `max-entries` and `max-bytes`"
                    )));
                }
            }
        }
        let max_entries = max_entries.unwrap_or(if max_bytes.is_some() {
            u64::MAX
        } else {
            DEFAULT_MAX_ENTRIES
        });
        CACHE.with_borrow_mut(|cache| *cache = Lru::new(max_entries, max_bytes));
        host::log(
            host::LogLevel::Debug,
            &format!("lru backend ready: max-entries={max_entries}, max-bytes={max_bytes:?}"),
        );
        Ok(())
    }

    fn get(key: Key) -> Option<Value> {
        let now = host::now_ms();
        CACHE.with_borrow_mut(|cache| cache.get(&key, now))
    }

    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        let now = host::now_ms();
        let expires_at = ttl_ms.map(|ttl| now.saturating_add(ttl));
        CACHE.with_borrow_mut(|cache| cache.put(key, value, expires_at, now))
    }

    fn invalidate(key: Option<Key>) {
        CACHE.with_borrow_mut(|cache| match key {
            Some(key) => {
                if let Some(&slot) = cache.index.get(&key) {
                    cache.remove_slot(slot);
                }
            }
            None => cache.clear(),
        });
    }

    fn stats() -> BackendStats {
        CACHE.with_borrow(Lru::stats)
    }

    fn remove(key: Key) -> bool {
        let now = host::now_ms();
        CACHE.with_borrow_mut(|cache| {
            let slot = cache.live(&key, now);
            slot.inspect(|&slot| cache.remove_slot(slot)).is_some()
        })
    }

    fn ttl(key: Key) -> Option<Expiry> {
        let now = host::now_ms();
        CACHE.with_borrow_mut(|cache| {
            let slot = cache.live(&key, now)?;
            Some(match cache.nodes[slot].expires_at {
                None => Expiry::Persistent,
                Some(at) => Expiry::ExpiresIn(at - now),
            })
        })
    }

    fn set_ttl(key: Key, ttl_ms: Option<u64>) -> bool {
        let now = host::now_ms();
        CACHE.with_borrow_mut(|cache| {
            let Some(slot) = cache.live(&key, now) else {
                return false;
            };
            match ttl_ms {
                Some(0) => cache.remove_slot(slot),
                ttl => cache.nodes[slot].expires_at = ttl.map(|ttl| now.saturating_add(ttl)),
            }
            true
        })
    }
}

/// A cursor is a position, 8 bytes little-endian; anything else is past the end (the host
/// only hands back cursors this backend gave).
fn decode_cursor(cursor: &[u8]) -> usize {
    cursor
        .try_into()
        .map(u64::from_le_bytes)
        .map_or(usize::MAX, |at| usize::try_from(at).unwrap_or(usize::MAX))
}

fn encode_cursor(at: usize) -> Vec<u8> {
    (at as u64).to_le_bytes().to_vec()
}

impl listing::Guest for Backend {
    /// Entries least recently used first, from a snapshot of the keys taken when a listing
    /// starts (a handover runs one listing at a time).
    fn entries(cursor: Option<Vec<u8>>, limit: u32) -> EntryPage {
        let now = host::now_ms();
        CACHE.with_borrow_mut(|cache| {
            let start = match cursor {
                Some(cursor) => decode_cursor(&cursor),
                None => {
                    let mut keys = Vec::with_capacity(cache.index.len());
                    let mut slot = cache.tail;
                    while slot != NIL {
                        keys.push(cache.nodes[slot].key.clone());
                        slot = cache.nodes[slot].prev;
                    }
                    cache.listing = keys;
                    0
                }
            };
            let mut page = Vec::new();
            let mut next = start;
            while next < cache.listing.len() && page.len() < limit as usize {
                let key = &cache.listing[next];
                next += 1;
                let Some(&slot) = cache.index.get(key) else {
                    continue;
                };
                let node = &cache.nodes[slot];
                if node.expires_at.is_some_and(|at| now >= at) {
                    continue;
                }
                page.push(listing::Entry {
                    key: key.clone(),
                    value: node.value.clone(),
                    ttl_remaining_ms: node.expires_at.map(|at| at - now),
                });
            }
            let next = if next < cache.listing.len() {
                Some(encode_cursor(next))
            } else {
                cache.listing = Vec::new();
                None
            };
            EntryPage {
                entries: page,
                next,
            }
        })
    }

    /// Keys in slot order, the next slot as the cursor: no snapshot, so any number of
    /// key listings (`SCAN`s) can run at once.
    fn keys(cursor: Option<Vec<u8>>, limit: u32) -> KeyPage {
        let now = host::now_ms();
        CACHE.with_borrow(|cache| {
            let mut slot = cursor.as_deref().map_or(0, decode_cursor);
            let mut keys = Vec::new();
            while slot < cache.nodes.len() && keys.len() < limit as usize {
                let node = &cache.nodes[slot];
                let live = cache.index.get(&node.key) == Some(&slot)
                    && node.expires_at.is_none_or(|at| now < at);
                if live {
                    keys.push(node.key.clone());
                }
                slot += 1;
            }
            let next = (slot < cache.nodes.len()).then(|| encode_cursor(slot));
            KeyPage { keys, next }
        })
    }
}

export!(Backend);
