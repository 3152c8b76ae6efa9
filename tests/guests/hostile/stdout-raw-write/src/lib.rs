//! Hostile test backend: a `put` of the key `write` writes 16 MiB to stdout in one raw WASI
//! `output-stream.write` (over the stream's permit), of `blocking` in one
//! `blocking-write-and-flush` (over WASI's 4096 bytes), bypassing the standard library,
//! which would chunk it. Other keys behave.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    inline: r#"
        package wasmcache:hostile-raw-write;

        world raw-write {
            include wasmcache:backend/cache-backend@0.1.0;
            import wasi:cli/stdout@0.2.3;
        }

        // The part of WASI 0.2 this guest calls, as WASI defines it.
        package wasi:io@0.2.3 {
            interface error {
                resource error;
            }

            interface streams {
                use error.{error};

                variant stream-error {
                    last-operation-failed(error),
                    closed,
                }

                resource output-stream {
                    write: func(contents: list<u8>) -> result<_, stream-error>;
                    blocking-write-and-flush: func(contents: list<u8>) -> result<_, stream-error>;
                }
            }
        }

        package wasi:cli@0.2.3 {
            interface stdout {
                use wasi:io/streams@0.2.3.{output-stream};

                get-stdout: func() -> output-stream;
            }
        }
    "#,
    path: "../../../../wit/v0.1",
    world: "wasmcache:hostile-raw-write/raw-write",
    generate_all,
});

/// Writes `len` bytes to stdout in one call of the kind named by `key`, if it names one.
fn flood(key: &[u8], len: usize) {
    let stdout = wasi::cli::stdout::get_stdout();
    let flood = vec![b'y'; len];
    let _ = match key {
        b"write" => stdout.write(&flood),
        b"blocking" => stdout.blocking_write_and_flush(&flood),
        _ => Ok(()),
    };
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
        // The value's first byte picks the size: 0 for 16 MiB, otherwise that many KiB.
        let len = match value.first() {
            Some(&kib) if kib > 0 => usize::from(kib) << 10,
            _ => 16 << 20,
        };
        flood(&key, len);
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
