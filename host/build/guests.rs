//! Building guest crates for `wasm32-wasip2` from a build script, shared by the host's
//! and the tests' build scripts (`#[path]`-included, so it has no crate of its own).
//!
//! A guest workspace is built by a nested `cargo build` into `<target>/wasm-guests`
//! (shared by every profile and both build scripts), and each artifact is copied into
//! `OUT_DIR`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// Builds the cargo workspace at `workspace` (whose members are the folders `members`)
/// and copies each `(name, crate_artifact)` to `OUT_DIR/<name>.wasm`. `wit` is watched too.
pub fn build(workspace: &Path, members: &[&str], wit: &Path, artifacts: &[(&str, &str)]) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for path in ["Cargo.toml", "Cargo.lock"].iter().chain(members) {
        println!("cargo:rerun-if-changed={}", workspace.join(path).display());
    }
    println!("cargo:rerun-if-changed={}", wit.display());

    let target_dir = shared_target_dir(&out_dir).join("wasm-guests");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
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
        let missing_target = stderr.contains("target may not be installed")
            || stderr.contains("can't find crate for `core`");
        let hint = if missing_target {
            format!(
                "\n\nThe `{TARGET}` target is missing. Install it with:\n    rustup target add {TARGET}\n"
            )
        } else {
            String::new()
        };
        panic!(
            "building the guests in {} for {TARGET} failed:\n{stderr}{hint}",
            workspace.display()
        );
    }

    for (name, artifact) in artifacts {
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
