//! [`MemoryBackend`]: the native reference backend.
//!
//! It defines the reference semantics of the contract (every guest is held to the same
//! conformance suite) and is the baseline the benches compare guests against. It is an
//! unbounded map with lazy expiry, the same policy as the `memory` guest example.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::traits::{Backend, BackendFactory};
use super::types::{
    BackendStats, EntryPage, Expiry, HandoverEntry, InitOptions, KeyPage, PutItem, SizeLimits,
};
use crate::clock::SharedClock;
use crate::error::{Refusal, Result};

/// One stored entry, in its slot.
struct Slot {
    key: Vec<u8>,
    value: Vec<u8>,
    expires_at: Option<u64>,
}

impl Slot {
    fn is_live(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }
}

/// Entries in slots (freed slots reused) found through a map of keys to slot numbers: a
/// listing walks the slots with the next slot number as its cursor, so listings need no
/// state and a key that stays put is listed once.
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
    /// The slot of `key`'s live entry; an expired one is removed and counted.
    fn live(&mut self, key: &[u8], now: u64) -> Option<usize> {
        let at = *self.index.get(key)?;
        if self.slot(at).is_live(now) {
            return Some(at);
        }
        self.remove_at(at);
        self.expired += 1;
        None
    }

    fn slot(&self, at: usize) -> &Slot {
        self.slots[at].as_ref().expect("indexed slots are full")
    }

    fn remove_at(&mut self, at: usize) {
        if let Some(slot) = self.slots[at].take() {
            self.index.remove(&slot.key);
            self.free.push(at);
        }
    }

    fn get(&mut self, key: &[u8], now: u64) -> Option<Vec<u8>> {
        let found = self.live(key, now).map(|at| self.slot(at).value.clone());
        match found {
            Some(_) => self.hits += 1,
            None => self.misses += 1,
        }
        found
    }

    fn put(&mut self, key: &[u8], value: &[u8], expires_at: Option<u64>) {
        if let Some(&at) = self.index.get(key) {
            let slot = self.slots[at].as_mut().expect("indexed slots are full");
            slot.value = value.to_vec();
            slot.expires_at = expires_at;
            return;
        }
        let slot = Some(Slot {
            key: key.to_vec(),
            value: value.to_vec(),
            expires_at,
        });
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at] = slot;
                at
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.index.insert(key.to_vec(), at);
    }

    fn remove(&mut self, key: &[u8], now: u64) -> bool {
        let live = self.live(key, now);
        if let Some(at) = live {
            self.remove_at(at);
        }
        live.is_some()
    }

    /// Live slots from the one `cursor` names, at most `limit`, and the next cursor.
    fn page<T>(
        &self,
        cursor: Option<&[u8]>,
        limit: u32,
        now: u64,
        item: impl Fn(&Slot) -> T,
    ) -> (Vec<T>, Option<Vec<u8>>) {
        let mut at = cursor.map_or(0, decode_cursor);
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

/// A cursor is the next slot number, 8 bytes little-endian; anything else is past the end.
fn decode_cursor(cursor: &[u8]) -> usize {
    cursor
        .try_into()
        .map(u64::from_le_bytes)
        .map_or(usize::MAX, |at| usize::try_from(at).unwrap_or(usize::MAX))
}

/// An unbounded in-memory map with per-entry TTL, expired lazily on read.
///
/// ```
/// use wasmcache::{Backend, MemoryBackend, SystemClock};
///
/// let backend = MemoryBackend::new(SystemClock::shared());
/// backend.put(b"k", b"v", None)?;
/// assert_eq!(backend.get(b"k")?, Some(b"v".to_vec()));
/// assert_eq!(backend.get(b"absent")?, None);
/// # Ok::<(), wasmcache::Error>(())
/// ```
pub struct MemoryBackend {
    state: Mutex<State>,
    clock: SharedClock,
    limits: SizeLimits,
}

impl MemoryBackend {
    /// An empty backend with default size limits.
    pub fn new(clock: SharedClock) -> Self {
        Self::with_limits(clock, SizeLimits::default())
    }

    /// An empty backend enforcing `limits`.
    pub fn with_limits(clock: SharedClock, limits: SizeLimits) -> Self {
        MemoryBackend {
            state: Mutex::default(),
            clock,
            limits,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The map is never left half-updated, so a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expires_at(&self, ttl_ms: Option<u64>) -> Option<u64> {
        ttl_ms.map(|ttl| self.clock.now_ms().saturating_add(ttl))
    }
}

impl Backend for MemoryBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.limits.check_key(key)?;
        let now = self.clock.now_ms();
        Ok(self.state().get(key, now))
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        self.limits.check_key(key)?;
        self.limits.check_value(value)?;
        let expires_at = self.expires_at(ttl_ms);
        self.state().put(key, value, expires_at);
        Ok(())
    }

    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        if let Some(key) = key {
            self.limits.check_key(key)?;
        }
        let mut state = self.state();
        match key {
            Some(key) => {
                if let Some(&at) = state.index.get(key) {
                    state.remove_at(at);
                }
            }
            None => {
                state.index.clear();
                state.slots.clear();
                state.free.clear();
            }
        }
        Ok(())
    }

    fn stats(&self) -> Result<BackendStats> {
        let state = self.state();
        let counters = [
            ("hits", state.hits),
            ("misses", state.misses),
            ("expired", state.expired),
        ];
        Ok(BackendStats {
            size: state.index.len() as u64,
            counters: counters
                .into_iter()
                .map(|(name, n)| (name.to_string(), n))
                .collect(),
        })
    }

    fn size_limits(&self) -> SizeLimits {
        self.limits
    }

    fn entries(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<EntryPage>> {
        let now = self.clock.now_ms();
        let (entries, next) = self.state().page(cursor, limit, now, |slot| HandoverEntry {
            key: slot.key.clone(),
            value: slot.value.clone(),
            ttl_remaining_ms: slot.expires_at.map(|at| at - now),
        });
        Ok(Some(EntryPage { entries, next }))
    }

    fn keys(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<KeyPage>> {
        let now = self.clock.now_ms();
        let (keys, next) = self
            .state()
            .page(cursor, limit, now, |slot| slot.key.clone());
        Ok(Some(KeyPage { keys, next }))
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        self.limits.check_key(key)?;
        let now = self.clock.now_ms();
        Ok(self.state().remove(key, now))
    }

    fn ttl(&self, key: &[u8]) -> Result<Option<Expiry>> {
        self.limits.check_key(key)?;
        let now = self.clock.now_ms();
        let mut state = self.state();
        Ok(state
            .live(key, now)
            .map(|at| match state.slot(at).expires_at {
                None => Expiry::Persistent,
                Some(at) => Expiry::InMs(at - now),
            }))
    }

    fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
        self.limits.check_key(key)?;
        let now = self.clock.now_ms();
        let mut state = self.state();
        let Some(at) = state.live(key, now) else {
            return Ok(false);
        };
        match ttl_ms {
            Some(0) => state.remove_at(at),
            ttl => {
                if let Some(slot) = state.slots[at].as_mut() {
                    slot.expires_at = ttl.map(|ttl| now.saturating_add(ttl));
                }
            }
        }
        Ok(true)
    }

    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        for key in keys {
            self.limits.check_key(key)?;
        }
        let now = self.clock.now_ms();
        let mut state = self.state();
        Ok(keys.iter().map(|key| state.get(key, now)).collect())
    }

    fn put_many(&self, items: &[PutItem<'_>]) -> Result<Vec<Result<()>>> {
        let now = self.clock.now_ms();
        let mut state = self.state();
        Ok(items
            .iter()
            .map(|item| {
                self.limits.check_key(item.key)?;
                self.limits.check_value(item.value)?;
                let expires_at = item.ttl_ms.map(|ttl| now.saturating_add(ttl));
                state.put(item.key, item.value, expires_at);
                Ok(())
            })
            .collect())
    }

    fn remove_many(&self, keys: &[&[u8]]) -> Result<Vec<bool>> {
        for key in keys {
            self.limits.check_key(key)?;
        }
        let now = self.clock.now_ms();
        let mut state = self.state();
        Ok(keys.iter().map(|key| state.remove(key, now)).collect())
    }
}

/// Creates [`MemoryBackend`]s. It takes no options: any option is an
/// [`InvalidConfig`](Refusal::InvalidConfig) error, as the contract requires.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackendFactory {
    /// Size limits given to every backend created.
    pub limits: SizeLimits,
}

impl BackendFactory for MemoryBackendFactory {
    fn name(&self) -> &str {
        "memory (native)"
    }

    fn init(&self, options: &InitOptions, clock: SharedClock) -> Result<Box<dyn Backend>> {
        if let Some((name, _)) = options.first() {
            return Err(Refusal::InvalidConfig(format!(
                "unknown option `{name}`: the native memory backend takes no options"
            ))
            .into());
        }
        Ok(Box::new(MemoryBackend::with_limits(clock, self.limits)))
    }
}
