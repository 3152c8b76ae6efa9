//! What a backend author does first, end to end through the binary: `wasmcache new` in
//! each template language, the project's own `./build.sh`, then `wasmcache check` of
//! what it built (with the differential check). The toolchains are the project-local
//! ones (`guest-examples/setup-toolchains.sh`); a missing one fails the test with the
//! command that installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn wasmcache(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmcache"))
        .args(args)
        .current_dir(cwd)
        // Python and JavaScript components are large: compile each once across runs.
        .env(
            "WASMCACHE_COMPILE_CACHE",
            target_dir().join("wasm-compile-cache"),
        )
        .output()
        .expect("the wasmcache binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The cargo target directory (where `CARGO_TARGET_TMPDIR` is).
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .to_path_buf()
}

/// `wasmcache new x --lang LANG && (cd x && ./build.sh) && wasmcache check x/*.wasm`.
fn new_build_check(lang: &str) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let made = wasmcache(&["new", "x", "--lang", lang], scratch.path());
    assert!(made.status.success(), "new: {}", text(&made.stderr));
    let project = scratch.path().join("x");

    let mut build = Command::new("./build.sh");
    build.current_dir(&project);
    // The Rust template reuses the compiled dependencies of the guests the build scripts
    // make; settings meant for the host build must not reach the guest build.
    build.env("CARGO_TARGET_DIR", target_dir().join("wasm-guests"));
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        build.env_remove(var);
    }
    let built = build.output().expect("build.sh runs");
    let stderr = text(&built.stderr);
    if built.status.code() == Some(127) {
        panic!("the {lang} toolchain is missing:\n{stderr}");
    }
    assert!(
        built.status.success(),
        "{lang}: build.sh failed:\n{}{stderr}",
        text(&built.stdout)
    );

    let wasm: Vec<PathBuf> = std::fs::read_dir(&project)
        .expect("read the project")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .collect();
    assert_eq!(wasm.len(), 1, "{lang}: one component built: {wasm:?}");
    let wasm = wasm[0].to_str().expect("utf-8 path");
    let out = wasmcache(
        &["check", wasm, "--differential", "300", "--seed", "1"],
        scratch.path(),
    );
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{lang}: check failed:\n{stdout}{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("29 passed, 0 failed"), "{lang}:\n{stdout}");
    assert!(
        stdout.contains("pass  differential: 300 random sequences"),
        "{lang}:\n{stdout}"
    );
}

#[test]
fn a_new_rust_project_builds_and_passes_check() {
    new_build_check("rust");
}

#[test]
fn a_new_python_project_builds_and_passes_check() {
    new_build_check("python");
}

#[test]
fn a_new_js_project_builds_and_passes_check() {
    new_build_check("js");
}

#[test]
fn a_new_c_project_builds_and_passes_check() {
    new_build_check("c");
}

#[test]
fn new_refuses_a_bad_name_an_unknown_language_and_a_full_folder() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let bad = wasmcache(&["new", "Bad_Name", "--lang", "rust"], scratch.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("cannot name a project"),
        "{}",
        text(&bad.stderr)
    );
    let cobol = wasmcache(&["new", "x", "--lang", "cobol"], scratch.path());
    assert_eq!(cobol.status.code(), Some(2));
    assert!(text(&cobol.stderr).contains("rust, python, js, c"));
    std::fs::create_dir(scratch.path().join("x")).expect("mkdir");
    std::fs::write(scratch.path().join("x/keep"), "mine").expect("write");
    let full = wasmcache(&["new", "x", "--lang", "c"], scratch.path());
    assert_eq!(full.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(scratch.path().join("x/keep")).expect("kept"),
        "mine"
    );
}

#[test]
fn check_shows_values_as_text_and_runs_one_case_or_the_differential() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let one = wasmcache(&["check", "--case", "ttl-expiry"], scratch.path());
    let stdout = text(&one.stdout);
    assert!(one.status.success(), "{stdout}");
    assert!(
        stdout.contains("pass  ttl-expiry") && stdout.contains("1 passed, 0 failed"),
        "{stdout}"
    );
    let unknown = wasmcache(&["check", "--case", "nope"], scratch.path());
    assert_eq!(unknown.status.code(), Some(2));
    // A bounded backend with room for 3 keys forgets, which the oracle allows.
    let lru_differential = |extra: &[&str]| {
        let base = [
            "check",
            "builtin:lru",
            "-o",
            "max-entries=3",
            "--case",
            "differential",
            "--differential",
            "500",
            "--seed",
            "9",
        ];
        wasmcache(&[&base[..], extra].concat(), scratch.path())
    };
    let bounded = lru_differential(&[]);
    let stdout = text(&bounded.stdout);
    assert!(bounded.status.success(), "{stdout}");
    assert!(
        stdout.contains("pass  differential: 500 random sequences"),
        "{stdout}"
    );
    // ... unless forgetting is asked to count: then the shortest sequence is printed.
    let exact = lru_differential(&["--exact"]);
    let stdout = text(&exact.stdout);
    assert_eq!(exact.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL  differential: seed 9: sequence"),
        "{stdout}"
    );
    assert!(stdout.contains("  1. put \"k"), "{stdout}");
    assert!(
        stdout.contains("expected a hit with")
            || stdout.contains("expected no expiry, got no entry"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("0 passed, 0 failed"),
        "only the differential: {stdout}"
    );
}

#[test]
fn bench_fails_when_a_get_hit_row_never_hits() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let small = ["--keys", "100", "--ops", "20", "--sizes", "64"];
    let mut args = vec!["bench", "builtin:lru", "-o", "max-entries=1"];
    args.extend(small);
    let never = wasmcache(&args, scratch.path());
    let stderr = text(&never.stderr);
    assert_eq!(never.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "backend get-hit at 64 B is not a measurement of a get-hit: all 20 calls missed"
        ),
        "{stderr}"
    );
    let mut args = vec!["bench", "builtin:memory"];
    args.extend(small);
    let honest = wasmcache(&args, scratch.path());
    assert!(honest.status.success(), "{}", text(&honest.stderr));
    assert!(!text(&honest.stderr).contains("not a measurement"));
}
