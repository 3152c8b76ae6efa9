//! Hostile test backend: targets version 9.0.0 of the contract, which no host speaks.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};

wit_bindgen::generate!({
    inline: "
        package wasmcache:backend@9.0.0;
        interface host {
            enum log-level { trace, debug, info, warn, error }
            now-ms: func() -> u64;
            log: func(level: log-level, message: string);
        }
        interface backend {
            type key = list<u8>;
            type value = list<u8>;
            variant backend-error { invalid-config(string), too-large(u64), full, internal(string) }
            record backend-stats { size: u64, counters: list<tuple<string, u64>> }
            init: func(options: list<tuple<string, string>>) -> result<_, backend-error>;
            get: func(key: key) -> option<value>;
            put: func(key: key, value: value, ttl-ms: option<u64>) -> result<_, backend-error>;
            invalidate: func(key: option<key>);
            stats: func() -> backend-stats;
        }
        world cache-backend {
            import host;
            export backend;
        }
    ",
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
