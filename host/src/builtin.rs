//! The Rust example backends, compiled from `guest-examples/rust` by the build script and
//! embedded in the crate.

/// `guest-examples/rust/memory`: an unbounded map with lazy TTL expiry. The default
/// backend of the `wasmcache` binary.
pub const MEMORY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/memory.wasm"));

/// `guest-examples/rust/lru`: a bounded LRU cache with TTL (`max-entries`, `max-bytes`).
pub const LRU: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/lru.wasm"));

/// The embedded backends by name, the default first.
pub const ALL: &[(&str, &[u8])] = &[("memory", MEMORY), ("lru", LRU)];

/// The embedded backend called `name`, with its name, if there is one.
pub fn by_name(name: &str) -> Option<(&'static str, &'static [u8])> {
    ALL.iter().find(|(n, _)| *n == name).copied()
}
