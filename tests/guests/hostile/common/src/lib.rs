//! A plain map with TTL that the hostile backends use for the calls they do not sabotage,
//! so each one misbehaves in exactly one way. Types are plain Rust; each guest converts.

use std::cell::RefCell;
use std::collections::BTreeMap;

thread_local! {
    static ENTRIES: RefCell<BTreeMap<Vec<u8>, (Vec<u8>, Option<u64>)>> = RefCell::default();
}

/// Accepts no options (an option is reported as invalid).
pub fn init(options: &[(String, String)]) -> Result<(), String> {
    match options.first() {
        Some((name, _)) => Err(format!("unknown option `{name}`")),
        None => Ok(()),
    }
}

pub fn get(key: &[u8], now: u64) -> Option<Vec<u8>> {
    ENTRIES.with_borrow_mut(|entries| match entries.get(key) {
        Some((value, expires)) if expires.is_none_or(|at| now < at) => Some(value.clone()),
        Some(_) => {
            entries.remove(key);
            None
        }
        None => None,
    })
}

pub fn put(key: Vec<u8>, value: Vec<u8>, ttl_ms: Option<u64>, now: u64) {
    let expires = ttl_ms.map(|ttl| now.saturating_add(ttl));
    ENTRIES.with_borrow_mut(|entries| entries.insert(key, (value, expires)));
}

pub fn invalidate(key: Option<&[u8]>) {
    ENTRIES.with_borrow_mut(|entries| match key {
        Some(key) => {
            entries.remove(key);
        }
        None => entries.clear(),
    });
}

pub fn size() -> u64 {
    ENTRIES.with_borrow(|entries| entries.len() as u64)
}

/// Exports the `backend` interface as this plain map, with two hooks the guest defines
/// where it misbehaves: `flood()`, run at the start of every `put`, and `counters()`, what
/// `stats` reports. Expand it after `wit_bindgen::generate!` (its names are the guest's).
#[macro_export]
macro_rules! export_with_hooks {
    () => {
        struct Hostile;

        impl Guest for Hostile {
            fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
                $crate::init(&options).map_err(BackendError::InvalidConfig)
            }
            fn get(key: Key) -> Option<Value> {
                $crate::get(&key, host::now_ms())
            }
            fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
                flood();
                $crate::put(key, value, ttl_ms, host::now_ms());
                Ok(())
            }
            fn invalidate(key: Option<Key>) {
                $crate::invalidate(key.as_deref())
            }
            fn stats() -> BackendStats {
                BackendStats {
                    size: $crate::size(),
                    counters: counters(),
                }
            }
        }

        export!(Hostile);
    };
}
