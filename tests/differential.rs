//! The differential check (`wasmcache::conformance::differential`, what `wasmcache check
//! --differential` runs) against the native reference: 2000 sequences for the native
//! backend itself, the Rust examples (the bounded `lru` with room for fewer keys than the
//! sequences use, so it evicts) and the 0.1 fixture; the other languages' examples are
//! checked in `languages.rs`, which builds them. And proof that it catches a realistic
//! bug, printing the shortest sequence.

use wasmcache::conformance::differential::{self, Config, Op};
use wasmcache::{BackendFactory, InitOptions, MemoryBackendFactory, builtin};
use wasmcache_tests::buggy::KeepsLaterExpiryFactory;
use wasmcache_tests::{component, fixtures};

const SEQUENCES: u32 = 2000;

fn options(pairs: &[(&str, &str)]) -> InitOptions {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn agrees(factory: &dyn BackendFactory, pairs: &[(&str, &str)], exact: bool) {
    let config = Config {
        sequences: SEQUENCES,
        seed: 7,
        exact,
        ..Config::default()
    };
    let outcome = differential::run(factory, &options(pairs), &config);
    assert!(
        outcome.divergence.is_none(),
        "{} with {pairs:?}: {outcome:#}",
        factory.name()
    );
    assert_eq!(outcome.sequences, SEQUENCES);
}

#[test]
fn the_native_backend_agrees_with_itself() {
    agrees(&MemoryBackendFactory::default(), &[], true);
}

#[test]
fn the_rust_examples_agree_with_the_reference_bounded_or_not() {
    agrees(&component("memory", builtin::MEMORY), &[], true);
    agrees(
        &component("lru", builtin::LRU),
        &[("max-entries", "100")],
        true,
    );
    // Room for 3 of the 6 keys: it evicts, which the oracle allows, and nothing else.
    agrees(
        &component("lru", builtin::LRU),
        &[("max-entries", "3")],
        false,
    );
    agrees(
        &component("lru", builtin::LRU),
        &[("max-bytes", "20")],
        false,
    );
}

#[test]
fn the_0_1_fixture_agrees_where_0_1_can_answer() {
    agrees(&component("v01-memory", fixtures::V01_MEMORY), &[], true);
}

#[test]
fn a_backend_that_keeps_the_later_expiry_is_caught_and_shrunk() {
    let config = Config {
        sequences: SEQUENCES,
        seed: 7,
        ..Config::default()
    };
    let outcome = differential::run(&KeepsLaterExpiryFactory, &Vec::new(), &config);
    let divergence = outcome.divergence.clone().expect("the bug is found");
    let text = outcome.to_string();
    // Shrunk to the essence: a put with a ttl, a put of the same key with a shorter one,
    // then one step that sees the entry still there.
    assert_eq!(divergence.steps.len(), 3, "{text}");
    let (Op::Put(k1, _, Some(t1)), Op::Put(k2, _, Some(t2))) =
        (&divergence.steps[0], &divergence.steps[1])
    else {
        panic!("two puts with a ttl first:\n{text}");
    };
    assert!(k1 == k2 && t2 < t1, "{text}");
    assert!(
        text.contains("shortest sequence that shows it (3 of its"),
        "{text}"
    );
    assert!(
        text.contains("  1. put \"k") && text.contains("  3. "),
        "{text}"
    );
    assert!(text.contains("expected "), "{text}");
    println!("{text}");
}
