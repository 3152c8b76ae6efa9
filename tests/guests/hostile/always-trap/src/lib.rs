//! Hostile test backend: starts fine, then traps on every call (a crash loop).

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};

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
        let _ = key;
        unreachable!("get always traps")
    }
    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        let _ = (key, value, ttl_ms);
        unreachable!("put always traps")
    }
    fn invalidate(key: Option<Key>) {
        let _ = key;
        unreachable!("invalidate always traps")
    }
    fn stats() -> BackendStats {
        unreachable!("stats always traps")
    }
}

export!(Hostile);
