//! The differential check against the native reference, for the native backend itself,
//! the Rust examples and the 0.1 fixture (the other languages' examples are checked in
//! `languages.rs`, which builds them), and proof that it catches a realistic bug.

use wasmcache::{BackendFactory, InitOptions, MemoryBackendFactory, builtin};
use wasmcache_tests::buggy::KeepsLaterExpiryFactory;
use wasmcache_tests::differential::differential;
use wasmcache_tests::{component, fixtures};

const CASES: u32 = 200;

fn agrees(factory: &dyn BackendFactory, options: &[(&str, &str)]) {
    let options: InitOptions = options
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Err(why) = differential(factory, &options, CASES, 7) {
        panic!("{why}");
    }
}

#[test]
fn the_native_backend_agrees_with_itself() {
    agrees(&MemoryBackendFactory::default(), &[]);
}

#[test]
fn the_rust_examples_agree_with_the_reference() {
    agrees(&component("memory", builtin::MEMORY), &[]);
    agrees(&component("lru", builtin::LRU), &[("max-entries", "100")]);
}

#[test]
fn the_0_1_fixture_agrees_where_0_1_can_answer() {
    agrees(&component("v01-memory", fixtures::V01_MEMORY), &[]);
}

#[test]
fn a_backend_that_keeps_the_later_expiry_is_caught_and_shrunk() {
    let why = differential(&KeepsLaterExpiryFactory, &Vec::new(), CASES, 7)
        .expect_err("the bug is found");
    assert!(why.contains("diverges"), "{why}");
    // Shrunk to the essence: a put with a ttl and a shorter expiry written over it (by a
    // put, or by set-ttl, which a backend without one gets as a put).
    let steps = why
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_numeric))
        .count();
    assert!(steps <= 5, "shrunk to at most 5 steps:\n{why}");
    assert!(why.contains("put k"), "{why}");
}
