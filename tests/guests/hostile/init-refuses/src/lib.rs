//! Hostile test backend: refuses to start: `init` always returns `invalid-config`.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

struct Hostile;

impl Guest for Hostile {
    fn init(_options: Vec<(String, String)>) -> Result<(), BackendError> {
        Err(BackendError::InvalidConfig("this backend refuses every configuration".into()))
    }
    fn get(key: Key) -> Option<Value> {
        common::get(&key, 0)
    }
    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        common::put(key, value, ttl_ms, 0);
        Ok(())
    }
    fn invalidate(key: Option<Key>) {
        common::invalidate(key.as_deref())
    }
    fn stats() -> BackendStats {
        BackendStats { size: common::size(), counters: Vec::new() }
    }
}

export!(Hostile);
