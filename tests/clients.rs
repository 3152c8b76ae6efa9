//! Real client libraries, with their defaults, against the server: redis-py 8 (sync and
//! asyncio) speaks RESP3 through `HELLO 3 AUTH`, wraps its pipelines in MULTI/EXEC and
//! uses WATCH (`tests/clients/redis_py_defaults.py`).

use std::path::Path;
use std::process::Command;

use wasmcache::reload::Source;
use wasmcache::server::ServerConfig;
use wasmcache::{Limits, SystemClock, builtin};
use wasmcache_tests::RunningServer;

/// The project's Python with the client libraries, or a panic saying how to install them.
fn python_with_clients() -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root");
    let python = root.join("target/toolchains/venv/bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import redis"])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        ready,
        "redis-py is missing from {}: run `guest-examples/setup-toolchains.sh redis`",
        python.display()
    );
    python
}

#[test]
fn redis_py_defaults_connect_authenticate_pipeline_and_watch() {
    let python = python_with_clients();
    let server = RunningServer::start(
        Source::bytes("memory", builtin::MEMORY),
        SystemClock::shared(),
        Limits::default(),
        ServerConfig {
            password: Some(b"s3cret pass".to_vec()),
            ..ServerConfig::default()
        },
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/redis_py_defaults.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(server.addr.port().to_string())
        .arg("s3cret pass")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("sync: ok") && stdout.contains("asyncio: ok"),
        "{stdout}"
    );
}
