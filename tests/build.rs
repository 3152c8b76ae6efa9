//! Builds the hostile test backends in `guests/` for `wasm32-wasip2` (see
//! `host/build/guests.rs`) and writes `guests.rs` with one constant per guest.

#[path = "../host/build/guests.rs"]
mod guests;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const HOSTILE: &[&str] = &[
    "always-trap",
    "deep-recursion",
    "init-never-returns",
    "init-refuses",
    "log-flood",
    "loop-get",
    "memory-bomb",
    "oversized-value",
    "stats-bad-name",
    "stats-huge-name",
    "stats-many-counters",
    "stdout-raw-write",
    "trap-mid-put",
    "trap-on-key",
    "unknown-import",
    "wasi-snooper",
    "wrong-version",
];

/// Well-behaved guests the tests need built from source: `v01-memory` is the `memory`
/// example as it was for contract 0.1, kept to prove 0.1 components are still served.
const FIXTURES: &[&str] = &["v01-memory"];

fn main() {
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = manifest_dir
        .parent()
        .expect("tests/ sits inside the repository root");
    let artifacts: Vec<(String, String)> = HOSTILE
        .iter()
        .map(|name| (*name, "hostile"))
        .chain(FIXTURES.iter().map(|name| (*name, "fixture")))
        .map(|(name, kind)| {
            (
                name.to_string(),
                format!("wasmcache_{kind}_{}", name.replace('-', "_")),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = artifacts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    // The hostile guests and the 0.1 fixture target contract 0.1: the host keeps serving it.
    let wit_v01 = root.join("wit").join("v0.1");
    guests::build(
        &manifest_dir.join("guests"),
        &["hostile", "fixtures"],
        &wit_v01,
        &pairs,
    );

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wat_guests = componentize_wat(
        &manifest_dir.join("guests").join("hostile-wat"),
        &wit_v01,
        &out_dir,
    );

    let mut constants = String::new();
    for name in HOSTILE
        .iter()
        .copied()
        .chain(wat_guests.iter().map(String::as_str))
    {
        let ident = name.to_uppercase().replace('-', "_");
        writeln!(
            constants,
            "/// The `{name}` hostile guest (`tests/guests/hostile/{name}`).\n\
             pub const {ident}: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.wasm\"));"
        )
        .expect("writing to a String");
    }
    std::fs::write(out_dir.join("guests.rs"), constants).expect("write guests.rs");
    let mut fixtures = String::new();
    for name in FIXTURES {
        let ident = name.to_uppercase().replace('-', "_");
        writeln!(
            fixtures,
            "/// The `{name}` fixture (`tests/guests/fixtures/{name}`).\n\
             pub const {ident}: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}.wasm\"));"
        )
        .expect("writing to a String");
    }
    std::fs::write(out_dir.join("fixtures.rs"), fixtures).expect("write fixtures.rs");
}

/// Wraps every hand-written core module `dir/*.wat` into a component of the
/// `cache-backend` world (what `wasm-tools component embed` and `component new` do) and
/// writes `OUT_DIR/<name>.wasm`. Returns the names.
fn componentize_wat(dir: &Path, wit: &Path, out_dir: &Path) -> Vec<String> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(wit)
        .unwrap_or_else(|e| panic!("parse {}: {e:#}", wit.display()));
    let world = resolve
        .select_world(&[package], Some("cache-backend"))
        .expect("the contract has a cache-backend world");
    let mut names = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wat"))
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file name")
            .to_string();
        let mut module =
            wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
        )
        .unwrap_or_else(|e| panic!("{}: embedding the world failed: {e:#}", path.display()));
        let component = wit_component::ComponentEncoder::default()
            .module(&module)
            .and_then(|encoder| encoder.validate(true).encode())
            .unwrap_or_else(|e| panic!("{}: making a component failed: {e:#}", path.display()));
        std::fs::write(out_dir.join(format!("{name}.wasm")), component).expect("write component");
        names.push(name);
    }
    names
}
