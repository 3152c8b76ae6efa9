//! Hostile test backend: behaves, except that any key containing `trap` makes it trap and
//! any key containing `spin` makes it spin until the host's deadline stops it.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

fn check(key: &[u8]) {
    if key.windows(4).any(|window| window == b"trap") {
        panic!("asked to trap");
    }
    if key.windows(4).any(|window| window == b"spin") {
        loop {
            std::hint::spin_loop();
        }
    }
}

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
        common::init(&options).map_err(BackendError::InvalidConfig)
    }
    fn get(key: Key) -> Option<Value> {
        check(&key);
        common::get(&key, host::now_ms())
    }
    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        check(&key);
        common::put(key, value, ttl_ms, host::now_ms());
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
