//! `wasi:random/insecure-seed`, answered without a WASI context.
//!
//! Toolchains' runtimes call `insecure-seed` once per instance to key their hash tables
//! against flooding (the `memory` example does, for its index). wasmtime-wasi answers it
//! from the store's WASI context, so every instance had to build one, which seeds two
//! random generators: 6 % of an instantiation, for a call most guests make and nothing
//! else. Answered here, the context is built only for a guest that calls anything more
//! (see [`StoreData`](crate::wasm::store::StoreData)).
//!
//! The value is a keyed SipHash of a per-process counter under the standard library's
//! per-thread random keys: a client cannot predict it, which is all WASI asks of it
//! ("not cryptographically secure", meant for hash-table seeds). Each call returns a
//! fresh value.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::component::Linker;

/// The WASI 0.2 version wasmtime-wasi links, whose `insecure-seed` is shadowed.
const INSECURE_SEED: &str = "wasi:random/insecure-seed@0.2.12";

/// Shadows `insecure-seed`, already linked into `linker` by wasmtime-wasi (the caller
/// allows shadowing).
pub(crate) fn add_to_linker<T: 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker
        .instance(INSECURE_SEED)?
        .func_wrap("insecure-seed", |_, ()| Ok(((seed_half(), seed_half()),)))
}

/// 64 unpredictable bits.
fn seed_half() -> u64 {
    static DRAWN: AtomicU64 = AtomicU64::new(0);
    std::hash::RandomState::new().hash_one(DRAWN.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_differ_from_call_to_call() {
        let drawn: std::collections::HashSet<u64> = (0..1000).map(|_| seed_half()).collect();
        assert_eq!(drawn.len(), 1000);
    }
}
