//! Hostile test backend: behaves, except that every `put` logs one 16 MiB message.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

fn flood() {
    host::log(host::LogLevel::Info, &"y".repeat(16 << 20));
}

fn counters() -> Vec<(String, u64)> {
    Vec::new()
}

common::export_with_hooks!();
