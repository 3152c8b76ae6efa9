//! [`MemoryBackend`]: the native reference backend.
//!
//! It defines the reference semantics of the contract (every guest is held to the same
//! conformance suite) and is the baseline the benches compare guests against. It is an
//! unbounded map with lazy expiry, the same policy as the `memory` guest example.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::traits::{Backend, BackendFactory};
use super::types::{BackendStats, EntryPage, HandoverEntry, InitOptions, SizeLimits};
use crate::clock::SharedClock;
use crate::error::{Refusal, Result};

struct Entry {
    value: Vec<u8>,
    expires_at: Option<u64>,
}

#[derive(Default)]
struct State {
    entries: HashMap<Vec<u8>, Entry>,
    hits: u64,
    misses: u64,
    expired: u64,
    /// Keys being listed for a handover, fixed when the listing starts.
    listing: Vec<Vec<u8>>,
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
}

impl Backend for MemoryBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.limits.check_key(key)?;
        let now = self.clock.now_ms();
        let mut state = self.state();
        let state = &mut *state;
        let found = match state.entries.get(key) {
            None => None,
            Some(entry) if entry.expires_at.is_none_or(|at| now < at) => Some(entry.value.clone()),
            Some(_) => {
                state.entries.remove(key);
                state.expired += 1;
                None
            }
        };
        match found {
            Some(_) => state.hits += 1,
            None => state.misses += 1,
        }
        Ok(found)
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        self.limits.check_key(key)?;
        self.limits.check_value(value)?;
        let expires_at = ttl_ms.map(|ttl| self.clock.now_ms().saturating_add(ttl));
        let entry = Entry {
            value: value.to_vec(),
            expires_at,
        };
        self.state().entries.insert(key.to_vec(), entry);
        Ok(())
    }

    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        if let Some(key) = key {
            self.limits.check_key(key)?;
        }
        let mut state = self.state();
        match key {
            Some(key) => {
                state.entries.remove(key);
            }
            None => state.entries.clear(),
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
            size: state.entries.len() as u64,
            counters: counters
                .into_iter()
                .map(|(name, n)| (name.to_string(), n))
                .collect(),
        })
    }

    fn size_limits(&self) -> SizeLimits {
        self.limits
    }

    fn entries(&self, cursor: Option<u64>, limit: u32) -> Result<Option<EntryPage>> {
        let now = self.clock.now_ms();
        let mut state = self.state();
        let state = &mut *state;
        let start = match cursor {
            Some(cursor) => usize::try_from(cursor).unwrap_or(usize::MAX),
            None => {
                state.listing = state.entries.keys().cloned().collect();
                0
            }
        };
        let mut page = EntryPage::default();
        let mut next = start;
        while next < state.listing.len() && page.entries.len() < limit as usize {
            let key = &state.listing[next];
            next += 1;
            if let Some(entry) = state
                .entries
                .get(key)
                .filter(|e| e.expires_at.is_none_or(|at| now < at))
            {
                page.entries.push(HandoverEntry {
                    key: key.clone(),
                    value: entry.value.clone(),
                    ttl_remaining_ms: entry.expires_at.map(|at| at - now),
                });
            }
        }
        if next < state.listing.len() {
            page.next = Some(next as u64);
        } else {
            state.listing = Vec::new();
        }
        Ok(Some(page))
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
