//! Shared helpers for wasmcache's integration tests.

use std::sync::OnceLock;

use wasmcache::{BackendComponent, Engine, EngineConfig};

/// One engine for the whole test binary, as in production.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::new(EngineConfig::default()).expect("default engine config is valid")
    })
}

/// Compiles and validates `bytes` as a backend on the shared engine.
pub fn component(name: &str, bytes: &[u8]) -> BackendComponent {
    BackendComponent::from_bytes(engine(), name, bytes)
        .unwrap_or_else(|e| panic!("{name} loads: {e}"))
}

/// The hostile guests, built from `tests/guests/hostile/*` by the build script.
pub mod hostile {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}
