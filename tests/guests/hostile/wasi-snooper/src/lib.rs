//! Hostile test backend: tries files, environment, arguments and sockets through WASI and reports what it got.

use exports::wasmcache::backend::backend::{BackendError, BackendStats, Guest, Key, Value};
use wasmcache::backend::host;

wit_bindgen::generate!({
    world: "cache-backend",
    path: "../../../../wit/v0.1",
});

/// One line per attempt: what it tried and what happened.
fn snoop() -> String {
    use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
    let mut report = Vec::new();
    for path in ["/etc/passwd", "/", ".", "/proc/self/environ"] {
        match std::fs::read_dir(path).map(|_| ()).or_else(|_| std::fs::read(path).map(|_| ())) {
            Ok(()) => report.push(format!("fs {path}: READ")),
            Err(e) => report.push(format!("fs {path}: denied ({e})")),
        }
    }
    match std::fs::write("escape.txt", b"x") {
        Ok(()) => report.push("fs write: WROTE".to_string()),
        Err(e) => report.push(format!("fs write: denied ({e})")),
    }
    report.push(format!("env: {} variables", std::env::vars().count()));
    report.push(format!("args: {} arguments", std::env::args().count()));
    match TcpStream::connect("127.0.0.1:6379") {
        Ok(_) => report.push("tcp: CONNECTED".to_string()),
        Err(e) => report.push(format!("tcp: denied ({e})")),
    }
    match UdpSocket::bind("127.0.0.1:0") {
        Ok(_) => report.push("udp: BOUND".to_string()),
        Err(e) => report.push(format!("udp: denied ({e})")),
    }
    match "localhost:80".to_socket_addrs().map(|addrs| addrs.count()) {
        Ok(0) => report.push("dns: denied (no addresses)".to_string()),
        Ok(_) => report.push("dns: RESOLVED".to_string()),
        Err(e) => report.push(format!("dns: denied ({e})")),
    }
    println!("snooper says hello on stdout");
    report.join("\n")
}

struct Hostile;

impl Guest for Hostile {
    fn init(options: Vec<(String, String)>) -> Result<(), BackendError> {
        common::init(&options).map_err(BackendError::InvalidConfig)?;
        common::put(b"report".to_vec(), snoop().into_bytes(), None, host::now_ms());
        Ok(())
    }
    fn get(key: Key) -> Option<Value> {
        common::get(&key, host::now_ms())
    }
    fn put(key: Key, value: Value, ttl_ms: Option<u64>) -> Result<(), BackendError> {
        common::put(key, value, ttl_ms, host::now_ms());
        Ok(())
    }
    fn invalidate(key: Option<Key>) {
        common::invalidate(key.as_deref())
    }
    fn stats() -> BackendStats {
        BackendStats { size: common::size(), counters: Vec::new() }
    }
}

export!(Hostile);
