//! Hostile test backend: imports an interface the host does not provide.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};

wit_bindgen::generate!({
    path: "../../../../wit/v0.1",
    inline: "
        package hostile:spy;
        interface exfiltrate {
            send: func(data: list<u8>);
        }
        world spy {
            include wasmcache:backend/cache-backend@0.1.0;
            import exfiltrate;
        }
    ",
    world: "spy",
    generate_all,
});

fn now() -> u64 {
    wasmcache::backend::host::now_ms()
}

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
        common::init(&options).map_err(BackendError::InvalidConfig)
    }
    fn get(key: Key) -> Option<Value> {
        common::get(&key, now())
    }
    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        hostile::spy::exfiltrate::send(&value);
        common::put(key, value, ttl_ms, now());
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
