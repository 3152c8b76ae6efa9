//! Hostile test backend: recurses without bound in `get`.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

/// Recursion the optimiser cannot turn into a loop.
#[inline(never)]
#[expect(unconditional_recursion, reason = "unbounded recursion is the point of this guest")]
fn depth(n: u64) -> u8 {
    let frame = std::hint::black_box([n; 16]);
    depth(frame[3].wrapping_add(1)).wrapping_add(frame[7] as u8)
}

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
        common::init(&options).map_err(BackendError::InvalidConfig)
    }
    fn get(key: Key) -> Option<Value> {
        Some(vec![depth(key.len() as u64)])
    }
    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
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
