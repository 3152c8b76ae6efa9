//! Hostile test backend: stores half an update in `put`, then traps.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
        common::init(&options).map_err(BackendError::InvalidConfig)
    }
    fn get(key: Key) -> Option<Value> {
        common::get(&key, host::now_ms())
    }
    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        common::put(key.clone(), value, ttl_ms, host::now_ms());
        // The entry is written, the bookkeeping is not: trap in the middle.
        panic!("trap in the middle of put for a key of {} bytes", key.len())
    }
    fn invalidate(key: Option<Key>) {
        common::invalidate(key.as_deref())
    }
    fn stats() -> BackendStats {
        BackendStats { size: common::size(), counters: Vec::new() }
    }
}

export!(Hostile);
