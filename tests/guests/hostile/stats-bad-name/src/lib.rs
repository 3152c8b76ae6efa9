//! Hostile test backend: behaves, except that `stats` reports counter names that are not kebab-case, one of
//! them with line breaks that would forge lines of an INFO reply; only once it holds entries.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit",
});

fn flood() {}

/// Only once it holds entries, so it passes the host's self-check (which holds none).
fn counters() -> Vec<(String, u64)> {
    if common::size() == 0 {
        return Vec::new();
    }
    vec![
        ("evictions\r
generation:999\r\nshard9:size=424242".into(), 1),
        ("Upper Case".into(), 2),
    ]
}

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
        common::init(&options).map_err(BackendError::InvalidConfig)
    }
    fn get(key: Key) -> Option<Value> {
        common::get(&key, host::now_ms())
    }
    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        flood();
        common::put(key, value, ttl_ms, host::now_ms());
        Ok(())
    }
    fn invalidate(key: Option<Key>) {
        common::invalidate(key.as_deref())
    }
    fn stats() -> BackendStats {
        BackendStats { size: common::size(), counters: counters() }
    }
}

export!(Hostile);
