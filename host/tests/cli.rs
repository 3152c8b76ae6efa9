//! End-to-end tests of the `wasmcache` binary: exit codes, reports and error messages.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

use common::{request, serve};

fn wasmcache(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmcache"))
        .args(args)
        .output()
        .expect("the wasmcache binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes `bytes` to a file named `name` in a fresh temporary directory.
fn fixture(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

#[test]
fn check_passes_every_case_on_the_embedded_default() {
    let out = wasmcache(&["check"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("builtin:memory"), "{stdout}");
    assert!(stdout.contains("pass  ttl-expiry"), "{stdout}");
    assert!(
        stdout
            .lines()
            .last()
            .is_some_and(|l| l.ends_with(" passed, 0 failed")),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn check_passes_on_lru_with_options_and_on_native() {
    for args in [
        &["check", "builtin:lru", "--option", "max-entries=2000"][..],
        &["check", "native"],
    ] {
        let out = wasmcache(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains(" passed, 0 failed"));
    }
}

#[test]
fn check_json_reports_every_case() {
    let out = wasmcache(&["check", "builtin:lru", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["failed"], 0);
    let outcomes = report["outcomes"].as_array().expect("outcomes array");
    assert_eq!(report["passed"].as_u64(), Some(outcomes.len() as u64));
    assert!(outcomes.iter().any(|o| o["case"] == "value-size-limit"));
    assert_eq!(
        report["component"]["exports"][0]["name"],
        "wasmcache:backend/backend@0.2.0"
    );
}

#[test]
fn an_init_refusal_is_a_load_failure_with_the_backends_reason() {
    let out = wasmcache(&["check", "builtin:lru", "-o", "max-entries=zero"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("init failed") && stderr.contains("max-entries"),
        "{stderr}"
    );
}

/// A valid component that exports an unrelated interface.
const OTHER_WORLD: &str = r#"
(component
  (core module $m (func (export "hello")))
  (core instance $i (instantiate $m))
  (func $hello (canon lift (core func $i "hello")))
  (instance $api (export "hello" (func $hello)))
  (export "acme:greeter/greet@1.0.0" (instance $api))
)"#;

#[test]
fn bad_inputs_fail_with_a_clear_message_and_exit_code_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let random: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let core_module = wat::parse_str("(module (func (export \"get\")))").expect("valid WAT");
    let other_world = wat::parse_str(OTHER_WORLD).expect("valid component WAT");
    let memory_guest = wasmcache::builtin::MEMORY;
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty.wasm", b"", "the file is empty"),
        ("random.wasm", &random, "not a WebAssembly binary"),
        (
            "core.wasm",
            &core_module,
            "core WebAssembly module, not a component",
        ),
        (
            "other.wasm",
            &other_world,
            "does not export `wasmcache:backend/backend@0.2.0` or `wasmcache:backend/backend@0.1.0`",
        ),
        (
            "truncated.wasm",
            &memory_guest[..memory_guest.len() / 2],
            "invalid component",
        ),
    ];
    for (name, bytes, expected) in cases {
        let path = fixture(&dir, name, bytes);
        let out = wasmcache(&["check", arg(&path)]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{name}: {stderr}");
        assert!(
            stderr.contains(name),
            "{name}: the message names the file: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{name}: expected `{expected}` in: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{name}: nothing on stdout: {}",
            text(&out.stdout)
        );
    }
    let other = fixture(&dir, "other.wasm", &other_world);
    let out = wasmcache(&["check", arg(&other)]);
    assert!(
        text(&out.stderr).contains("acme:greeter/greet@1.0.0"),
        "lists what it does export"
    );
}

#[test]
fn a_missing_file_names_the_path() {
    let out = wasmcache(&["check", "/nonexistent/backend.wasm"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("/nonexistent/backend.wasm"));
}

#[test]
fn inspect_describes_both_guests() {
    for (name, export_fns) in [
        ("builtin:memory", "init, get, put, invalidate, stats"),
        ("builtin:lru", "init, get, put"),
    ] {
        let out = wasmcache(&["inspect", name]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(
            stdout.contains("world       wasmcache:backend/cache-backend@0.2.0"),
            "{stdout}"
        );
        assert!(stdout.contains("contract    0.2.0"), "{stdout}");
        assert!(stdout.contains("wasmcache:backend/host@0.2.0"), "{stdout}");
        assert!(stdout.contains(export_fns), "{stdout}");
        assert!(stdout.contains("backend     valid"), "{stdout}");
    }
}

#[test]
fn inspect_json_and_an_invalid_component() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = fixture(
        &dir,
        "other.wasm",
        &wat::parse_str(OTHER_WORLD).expect("valid WAT"),
    );
    let out = wasmcache(&["inspect", arg(&other), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["valid_backend"], false);
    assert_eq!(json["exports"][0]["name"], "acme:greeter/greet@1.0.0");
    assert!(
        json["problem"]
            .as_str()
            .is_some_and(|p| p.contains("does not export"))
    );

    let out = wasmcache(&["inspect", "builtin:memory", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["valid_backend"], true);
    assert_eq!(json["uses_wasi"], true);
    assert_eq!(json["sha256"].as_str().map(str::len), Some(64));
}

#[test]
fn help_explains_the_component_argument_and_exit_codes() {
    let out = wasmcache(&["check", "--help"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("builtin:lru") && stdout.contains("KEY=VALUE"),
        "{stdout}"
    );
    let out = wasmcache(&["--help"]);
    assert!(text(&out.stdout).contains("Exit codes"));
}

#[test]
fn bench_measures_the_backend_beside_the_native_one() {
    let out = wasmcache(&[
        "bench",
        "builtin:lru",
        "--sizes",
        "64,512",
        "--keys",
        "200",
        "--ops",
        "2000",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(rows.len(), 2 * 3 * 2, "2 sizes x 3 operations x 2 backends");
    for row in &rows {
        assert!(
            row["ops_per_second"].as_f64().is_some_and(|v| v > 0.0),
            "{row}"
        );
        assert!(row["p50_ns"].as_u64().is_some_and(|v| v > 0), "{row}");
        assert!(row["p99_ns"].as_u64() >= row["p50_ns"].as_u64(), "{row}");
        assert_eq!(row["calls"], 2000);
        assert_eq!(
            row["missed"], 0,
            "200 keys fit the lru's default bound: {row}"
        );
        if row["backend"] == "native" {
            assert_eq!(row["p50_vs_native"], 1.0);
        }
    }
    let text_out = wasmcache(&["bench", "--sizes", "64", "--keys", "50", "--ops", "500"]);
    let table = text(&text_out.stdout);
    assert!(
        text_out.status.success() && table.contains("get-miss") && table.contains("builtin:memory"),
        "{table}"
    );
}

/// Every guest example in `guest-examples/` other than Rust (which `builtin:` covers),
/// built with its own build command, passes `wasmcache check`. Needs the toolchains from
/// `guest-examples/setup-toolchains.sh`; a missing one fails with that command.
#[test]
fn check_passes_on_every_guest_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root");
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasm-compile-cache");
    let cache = arg(&cache).to_string();
    for (example, options) in [
        ("python/lfu", &["-o", "max-entries=500"][..]),
        ("js/lru", &[][..]),
        ("c/clock", &["-o", "capacity=2000"][..]),
        ("wat/ring", &[][..]),
    ] {
        let out_file = dir
            .path()
            .join(format!("{}.wasm", example.replace('/', "-")));
        let built = Command::new(root.join("guest-examples").join(example).join("build.sh"))
            .arg(&out_file)
            .output()
            .expect("build.sh runs");
        let stderr = text(&built.stderr);
        assert_ne!(
            built.status.code(),
            Some(127),
            "{example}: the toolchain is missing:\n{stderr}"
        );
        assert!(built.status.success(), "{example}: build failed:\n{stderr}");
        let mut args = vec!["check", arg(&out_file), "--compile-cache", &cache];
        args.extend_from_slice(options);
        let out = wasmcache(&args);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{example}:\n{stdout}{}",
            text(&out.stderr)
        );
        assert!(
            stdout.trim_end().ends_with(" passed, 0 failed"),
            "{example}:\n{stdout}"
        );
    }
}

#[test]
fn serve_native_answers_set_get_and_del_over_resp() {
    // Two shards served by one connection thread.
    let (_server, _, mut stream) = serve(&["native", "--shards", "2", "--threads", "1"]);
    assert_eq!(request(&mut stream, &["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(request(&mut stream, &["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(request(&mut stream, &["DEL", "k"]), ":1\r\n");
    assert_eq!(request(&mut stream, &["GET", "k"]), "$-1\r\n");
    let info = request(&mut stream, &["INFO"]);
    assert!(info.contains("component:memory (native)"), "{info}");
    assert!(info.contains("sha256:none (native)"), "{info}");
}

/// Resident memory of a process, in bytes.
#[cfg(target_os = "linux")]
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// Lets this process (and the server it starts) open a few thousand sockets.
#[cfg(target_os = "linux")]
fn allow_open_files(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn memory_of_closed_connections_goes_back() {
    const CONNECTIONS: usize = 2000;
    allow_open_files(CONNECTIONS as u64 + 200);
    let (server, listen, mut first) = serve(&["native"]);
    assert_eq!(request(&mut first, &["PING"]), "+PONG\r\n");
    let start = resident_bytes(server.0.id());
    let mut clients: Vec<std::net::TcpStream> = (0..CONNECTIONS)
        .map(|_| std::net::TcpStream::connect(&listen).expect("connect"))
        .collect();
    for client in &mut clients {
        client.write_all(b"PING\r\n").expect("ping");
    }
    for client in &mut clients {
        let mut pong = [0u8; 7];
        client.read_exact(&mut pong).expect("pong");
    }
    let open = resident_bytes(server.0.id());
    drop(clients);
    // The server gives memory back within seconds of the connections closing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let allowed = start + (16 << 20);
    let mut closed = resident_bytes(server.0.id());
    while closed > allowed && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(250));
        closed = resident_bytes(server.0.id());
    }
    let mib = |b: u64| b >> 20;
    assert!(
        closed <= allowed,
        "resident {} MiB at start, {} MiB with {CONNECTIONS} connections, {} MiB after they closed",
        mib(start),
        mib(open),
        mib(closed)
    );
    assert_eq!(request(&mut first, &["PING"]), "+PONG\r\n", "still serving");
}
