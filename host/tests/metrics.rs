//! `wasmcache serve --metrics`: the Prometheus endpoint as Prometheus's own tools see it.
//! `promtool check metrics` lints what it serves, and a real Prometheus started here on a
//! loopback port scrapes it and answers a query with what a known workload produced.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Running, free_port, request, require, serve};

/// The body of `GET path` on `port`, or `None` if nothing answers (yet).
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}

/// The value of the sample named exactly `series` (labels included) in `metrics`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
}

/// Scrapes `port` until `ready` holds for what it serves (the server publishes its gauges
/// every `--metrics-interval-ms`), at most 60 s.
fn scrape_until(port: u16, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(metrics) = http_get(port, "/metrics") {
            if ready(&metrics) {
                return metrics;
            }
            assert!(Instant::now() < deadline, "never ready: {metrics}");
        }
        assert!(
            Instant::now() < deadline,
            "the metrics endpoint never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `wasmcache serve --metrics` on free ports, with a known workload run: 3 SETs, GETs that
/// hit 4 times and miss 2 times. Returns the server and its metrics port.
fn served_with_workload(shards: &str) -> (common::Served, u16) {
    let metrics_port = free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let (server, _, mut stream) = serve(&[
        "--shards",
        shards,
        "--metrics",
        &metrics,
        "--metrics-interval-ms",
        "100",
    ]);
    for key in ["a", "b", "c"] {
        assert_eq!(request(&mut stream, &["SET", key, "v"]), "+OK\r\n");
    }
    for key in ["a", "b", "nope", "c", "a", "gone"] {
        request(&mut stream, &["GET", key]);
    }
    (server, metrics_port)
}

#[test]
fn the_endpoint_passes_promtool_and_counts_the_workload() {
    require("promtool");
    let (_server, port) = served_with_workload("2");
    let metrics = scrape_until(port, |m| {
        sample(m, r#"wasmcache_server_commands_total{command="get"}"#) == Some(6.0)
    });

    let mut lint = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    lint.stdin
        .take()
        .expect("stdin")
        .write_all(metrics.as_bytes())
        .expect("metrics to promtool");
    let lint = lint.wait_with_output().expect("promtool finishes");
    assert!(
        lint.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );

    let total = |name: &str| -> f64 {
        (0..2)
            .filter_map(|shard| {
                sample(
                    &metrics,
                    &format!(r#"{name}{{backend="memory",shard="{shard}"}}"#),
                )
            })
            .sum()
    };
    assert_eq!(total("wasmcache_backend_hits_total"), 4.0, "{metrics}");
    assert_eq!(total("wasmcache_backend_misses_total"), 2.0, "{metrics}");
    // Entries are published every 100 ms: wait for them rather than race.
    let metrics = scrape_until(port, |m| {
        (0..2)
            .filter_map(|s| {
                sample(
                    m,
                    &format!(r#"wasmcache_backend_entries{{backend="memory",shard="{s}"}}"#),
                )
            })
            .sum::<f64>()
            == 3.0
    });
    let get_calls: f64 = (0..2)
        .filter_map(|shard| {
            sample(
                &metrics,
                &format!(
                    r#"wasmcache_backend_calls_total{{backend="memory",shard="{shard}",op="get"}}"#
                ),
            )
        })
        .sum();
    assert_eq!(get_calls, 6.0, "every GET is one counted call: {metrics}");
    assert!(
        metrics.contains(
            r#"wasmcache_backend_info{backend="memory",shard="0",component="memory",digest=""#
        ),
        "what serves is on the info series: {metrics}"
    );
    assert!(
        sample(
            &metrics,
            r#"wasmcache_backend_memory_bytes{backend="memory",shard="0"}"#
        )
        .is_some_and(|bytes| bytes >= 65536.0),
        "a guest holds at least one page: {metrics}"
    );
    assert!(sample(&metrics, "wasmcache_server_received_bytes_total").is_some_and(|b| b > 0.0));
    assert!(!metrics.contains("key=\""), "no series is labelled by key");
}

#[test]
fn a_real_prometheus_scrapes_the_hit_counter() {
    require("prometheus");
    let (_server, metrics_port) = served_with_workload("1");
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: wasmcache\n    \
             static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n"
        ),
    )
    .expect("config");
    let web_port = free_port();
    let _prometheus = Running(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus starts"),
    );
    let query = "/api/v1/query?query=sum(wasmcache_backend_hits_total%7Bbackend%3D%22memory%22%7D)";
    let deadline = Instant::now() + Duration::from_secs(90);
    let answer = loop {
        let body = http_get(web_port, query).unwrap_or_default();
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&body)
            && let Some(value) = json["data"]["result"][0]["value"][1].as_str()
        {
            break value.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never had the hit counter: {body}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(answer, "4", "the workload hit 4 times");
    let up = http_get(
        web_port,
        "/api/v1/query?query=up%7Bjob%3D%22wasmcache%22%7D",
    )
    .unwrap_or_default();
    let up: serde_json::Value = serde_json::from_str(&up).expect("JSON");
    assert_eq!(
        up["data"]["result"][0]["value"][1], "1",
        "the scrape succeeded: {up}"
    );
}

#[test]
fn a_metrics_address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_wasmcache"))
        .args(["serve", "--listen", "127.0.0.1:0", "--metrics", &addr])
        .output()
        .expect("wasmcache runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot serve metrics on {addr}")),
        "{stderr}"
    );
}
