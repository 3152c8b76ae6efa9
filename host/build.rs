//! Builds the Rust example backends in `guest-examples/rust` for `wasm32-wasip2` so the
//! binary can embed them (the `memory` example is the default backend).
//!
//! The guests are their own cargo workspace. They are built by a nested `cargo build` into
//! `<target>/wasm-guests` (shared by every profile, so a release build reuses a debug
//! build's guests), then copied into `OUT_DIR`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const GUESTS: &[(&str, &str)] = &[
    ("memory", "wasmcache_guest_memory"),
    ("lru", "wasmcache_guest_lru"),
];
const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("host/ sits inside the repository root");
    let guests = root.join("guest-examples").join("rust");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    for path in ["Cargo.toml", "Cargo.lock", "memory", "lru"] {
        println!("cargo:rerun-if-changed={}", guests.join(path).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let target_dir = shared_target_dir(&out_dir).join("wasm-guests");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&guests)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "--target-dir",
        ])
        .arg(&target_dir);
    // Settings meant for the host build must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the guests: {e}"));
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`")
        {
            format!(
                "\n\nThe `{TARGET}` target is missing. Install it with:\n    rustup target add {TARGET}\n"
            )
        } else {
            String::new()
        };
        panic!(
            "building the Rust guest examples for {TARGET} failed (cargo build in {}):\n{stderr}{hint}",
            guests.display()
        );
    }

    for (name, artifact) in GUESTS {
        let built = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{artifact}.wasm"));
        let dest = out_dir.join(format!("{name}.wasm"));
        std::fs::copy(&built, &dest).unwrap_or_else(|e| {
            panic!("cannot copy {} to {}: {e}", built.display(), dest.display())
        });
    }
}

/// The cargo target directory `out_dir` lives in: the nearest ancestor holding the
/// `CACHEDIR.TAG` cargo writes there. Falls back to `out_dir` itself.
fn shared_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .unwrap_or(out_dir)
        .to_path_buf()
}
