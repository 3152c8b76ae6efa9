//! Hostile test backend: behaves, except that `stats` reports one counter whose name is 16 MiB long.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

fn flood() {}

fn counters() -> Vec<(String, u64)> {
    vec![("x".repeat(16 << 20), 1)]
}

common::export_with_hooks!();
