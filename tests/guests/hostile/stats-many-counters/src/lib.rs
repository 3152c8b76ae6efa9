//! Hostile test backend: behaves, except that `stats` reports 100 000 counters.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

fn flood() {}

fn counters() -> Vec<(String, u64)> {
    (0..100_000u64).map(|i| (format!("c{i}"), i)).collect()
}

common::export_with_hooks!();
