//! The values that cross the contract: options, stats, size limits, handover entries.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// The options given to a backend's `init`, as `name = value` pairs in order.
pub type InitOptions = Vec<(String, String)>;

/// One entry listed for a handover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoverEntry {
    /// The entry's key.
    pub key: Vec<u8>,
    /// The entry's value.
    pub value: Vec<u8>,
    /// Milliseconds left before it expires; `None` never expires.
    pub ttl_remaining_ms: Option<u64>,
}

/// Where a listing continues: bytes the backend chose, handed back unchanged.
pub type Cursor = Vec<u8>;

/// A page of entries and the cursor of the next page (`None` after the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryPage {
    /// The entries.
    pub entries: Vec<HandoverEntry>,
    /// Where to continue.
    pub next: Option<Cursor>,
}

/// A page of live keys and the cursor of the next page (`None` after the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// The keys.
    pub keys: Vec<Vec<u8>>,
    /// Where to continue.
    pub next: Option<Cursor>,
}

/// When a live entry expires: the contract's `expiry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Expiry {
    /// Never.
    Persistent,
    /// After this many more milliseconds of the backend's clock (at least 1).
    InMs(u64),
}

impl Expiry {
    /// Milliseconds left, `None` for an entry that never expires.
    pub fn remaining_ms(self) -> Option<u64> {
        match self {
            Expiry::Persistent => None,
            Expiry::InMs(ms) => Some(ms),
        }
    }
}

/// One `put` of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutItem<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The value.
    pub value: &'a [u8],
    /// As [`Backend::put`](super::Backend::put)'s `ttl_ms`.
    pub ttl_ms: Option<u64>,
}

/// A snapshot of a backend's bookkeeping: the contract's `backend-stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackendStats {
    /// Entries currently held (an expired entry may count until the backend removes it).
    pub size: u64,
    /// The backend's own counters by name (for a wasm backend, also the sandbox's
    /// counters, prefixed `sandbox-`).
    pub counters: BTreeMap<String, u64>,
}

/// How much memory a backend holds against how much its entries need, for deciding when
/// to compact it ([`BackendHandle::compact_if_sparse`](crate::reload::BackendHandle::compact_if_sparse)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryUse {
    /// Bytes the backend holds: a wasm guest's linear memories, which never shrink.
    pub held_bytes: u64,
    /// An estimate of what its live entries need: entries times the mean key-plus-value
    /// size of the puts this instance has taken.
    pub live_bytes: u64,
}

/// Key and value sizes accepted in front of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SizeLimits {
    /// Longest key, in bytes. Default: 1 KiB.
    pub max_key_bytes: usize,
    /// Longest value, in bytes, in either direction. Default: 1 MiB.
    pub max_value_bytes: usize,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            max_key_bytes: 1024,
            max_value_bytes: 1024 * 1024,
        }
    }
}

impl SizeLimits {
    /// Fails with [`Error::KeyTooLarge`] when `key` is over the limit.
    pub fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() > self.max_key_bytes {
            return Err(Error::KeyTooLarge {
                len: key.len(),
                limit: self.max_key_bytes,
            });
        }
        Ok(())
    }

    /// Fails with [`Error::ValueTooLarge`] when `value` is over the limit.
    pub fn check_value(&self, value: &[u8]) -> Result<()> {
        if value.len() > self.max_value_bytes {
            return Err(Error::ValueTooLarge {
                len: value.len(),
                limit: self.max_value_bytes,
            });
        }
        Ok(())
    }
}
