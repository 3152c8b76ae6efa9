//! Builds the hostile test backends in `guests/` for `wasm32-wasip2` (see
//! `host/build/guests.rs`) and writes `guests.rs` with one constant per guest.

#[path = "../host/build/guests.rs"]
mod guests;

use std::fmt::Write as _;
use std::path::PathBuf;

const HOSTILE: &[&str] = &[
    "always-trap",
    "deep-recursion",
    "init-never-returns",
    "loop-get",
    "memory-bomb",
    "oversized-value",
    "trap-mid-put",
    "trap-on-key",
    "unknown-import",
    "wasi-snooper",
    "wrong-version",
];

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = manifest_dir
        .parent()
        .expect("tests/ sits inside the repository root");
    let artifacts: Vec<(String, String)> = HOSTILE
        .iter()
        .map(|name| {
            (
                name.to_string(),
                format!("wasmcache_hostile_{}", name.replace('-', "_")),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = artifacts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    guests::build(
        &manifest_dir.join("guests"),
        &["hostile"],
        &root.join("wit"),
        &pairs,
    );

    let mut constants = String::new();
    for name in HOSTILE {
        let ident = name.to_uppercase().replace('-', "_");
        writeln!(
            constants,
            "/// The `{name}` hostile guest (`tests/guests/hostile/{name}`).\n\
             pub const {ident}: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.wasm\"));"
        )
        .expect("writing to a String");
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("guests.rs"), constants).expect("write guests.rs");
}
