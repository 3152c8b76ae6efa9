//! With the `otel` feature (`cargo test -p wasmcache --features otel --test otel`): the
//! binary exports its spans over OTLP/HTTP to the endpoint `OTEL_EXPORTER_OTLP_ENDPOINT`
//! names. A collector stand-in here on a loopback port receives the export requests; a
//! reload done through `WASMCACHE.RELOAD` must arrive as `reload` and `handover` spans.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{request, serve_with_env};

/// Accepts OTLP/HTTP export requests and keeps (path, body) of each.
fn collector() -> (u16, Arc<Mutex<Vec<(String, Vec<u8>)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            keep.lock().expect("lock").push((path, body));
            let mut stream = stream;
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
            );
        }
    });
    (port, received)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_reload_is_exported_as_spans() {
    let (collector_port, received) = collector();
    let dir = tempfile::tempdir().expect("dir");
    let component = dir.path().join("lru.wasm");
    std::fs::write(&component, wasmcache::builtin::LRU).expect("component file");

    let (server, _, mut stream) = serve_with_env(
        &["--admin", "--shards", "1"],
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{collector_port}"),
            ),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ],
    );
    assert_eq!(request(&mut stream, &["SET", "k", "v"]), "+OK\r\n");
    let reply = request(
        &mut stream,
        &["WASMCACHE.RELOAD", component.to_str().expect("utf-8 path")],
    );
    assert!(!reply.starts_with('-'), "reload: {reply}");
    // A graceful stop sends what is still buffered.
    assert!(server.terminate().success());

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        {
            let received = received.lock().expect("lock");
            let traces: Vec<_> = received
                .iter()
                .filter(|(path, _)| path == "/v1/traces")
                .collect();
            let all = |name: &[u8]| traces.iter().any(|(_, body)| contains(body, name));
            if all(b"reload") && all(b"handover") {
                assert!(all(b"wasmcache"), "the service is named");
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no reload and handover spans arrived: {:?}",
            received
                .lock()
                .expect("lock")
                .iter()
                .map(|(path, body)| (path.clone(), body.len()))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
