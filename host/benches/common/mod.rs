//! Set-up shared by the reload benches: an engine with a compile cache, a handle serving
//! the `memory` guest, and filling it with entries.

#![allow(dead_code, reason = "each bench uses the part it needs")]

use std::path::Path;

use wasmcache::reload::{BackendHandle, HandoverLimits, Source};
use wasmcache::{Backend, ComponentLoader, Engine, EngineConfig, Limits, builtin};

/// An engine keeping compiled code in `dir` (`None`: no compile cache).
pub fn engine(dir: Option<&Path>) -> Engine {
    Engine::new(EngineConfig {
        compile_cache: dir.map(Path::to_path_buf),
        ..EngineConfig::default()
    })
    .expect("engine")
}

/// A handle serving `source`, compiled on `engine` with default limits.
pub fn handle(engine: &Engine, source: Source, handover: HandoverLimits) -> BackendHandle {
    let loader = ComponentLoader::new(engine, Limits::default()).expect("default limits fit");
    BackendHandle::builder()
        .loader(loader)
        .handover(handover)
        .load(source)
        .expect("loads")
}

/// The `memory` guest, as a reload source.
pub fn memory() -> Source {
    Source::bytes("memory", builtin::MEMORY)
}

/// Puts `count` entries of 64 bytes under `key-{i:012}`.
pub fn fill(handle: &BackendHandle, count: u64) {
    for i in 0..count {
        handle
            .put(format!("key-{i:012}").as_bytes(), &[0xa5; 64], None)
            .expect("put");
    }
}
