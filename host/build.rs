//! Builds the Rust example backends in `guest-examples/rust` so the crate can embed them
//! (`wasmcache::builtin`; `memory` is the binary's default backend).

#[path = "build/guests.rs"]
mod guests;

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = manifest_dir
        .parent()
        .expect("host/ sits inside the repository root");
    guests::build(
        &root.join("guest-examples").join("rust"),
        &["memory", "lru"],
        &root.join("wit"),
        &[
            ("memory", "wasmcache_guest_memory"),
            ("lru", "wasmcache_guest_lru"),
        ],
    );
}
