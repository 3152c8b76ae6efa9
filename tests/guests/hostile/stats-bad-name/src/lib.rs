//! Hostile test backend: behaves, except that `stats` reports counter names that are not kebab-case, one of
//! them with line breaks that would forge lines of an INFO reply; only once it holds entries.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

fn flood() {}

/// Only once it holds entries, so it passes the host's self-check (which holds none).
fn counters() -> Vec<(String, u64)> {
    if common::size() == 0 {
        return Vec::new();
    }
    vec![
        ("evictions\r
generation:999\r\nshard9:size=424242".into(), 1),
        ("Upper Case".into(), 2),
    ]
}

common::export_with_hooks!();
