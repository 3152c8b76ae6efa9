//! `wasmcache serve` seen by Redis's monitoring tools: Debian's
//! `prometheus-redis-exporter`, pointed at the server, reads INFO and reports what a known
//! workload produced.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wasmcache_tests::RunningServer;
use wasmcache_tests::redis_servers::require;

/// A process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The body of `GET /metrics` on `port`, or `None` if nothing answers yet.
fn scrape(port: u16) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    Some(body.to_string())
}

/// The value of the sample named exactly `series` (with its labels) in `metrics`.
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

#[test]
fn redis_exporter_reports_the_workload() {
    let exporter_binary = "prometheus-redis-exporter";
    require(exporter_binary);

    let server = RunningServer::memory();
    let mut con = server.client();
    for (args, _) in [
        (vec!["SET", "a", "1"], ()),
        (vec!["SET", "b", "2"], ()),
        (vec!["GET", "a"], ()),
        (vec!["GET", "missing"], ()),
        (vec!["MGET", "a", "b", "nope"], ()),
    ] {
        let mut cmd = redis::cmd(args[0]);
        for arg in &args[1..] {
            cmd.arg(*arg);
        }
        let _: redis::Value = cmd.query(&mut con).expect("workload");
    }

    let port = free_port();
    let _exporter = Running(
        Command::new(exporter_binary)
            .arg("-redis.addr")
            .arg(format!("redis://{}", server.addr))
            .arg("-web.listen-address")
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the exporter starts"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let metrics = loop {
        if let Some(metrics) = scrape(port).filter(|m| m.contains("redis_up")) {
            break metrics;
        }
        assert!(Instant::now() < deadline, "the exporter never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(sample(&metrics, "redis_up"), Some(1.0), "{metrics}");
    assert_eq!(
        sample(&metrics, r#"redis_exporter_last_scrape_error{err=""}"#),
        Some(0.0),
        "every command the exporter sends is answered: {metrics}"
    );
    assert_eq!(
        sample(&metrics, "redis_keyspace_hits_total"),
        Some(3.0),
        "a, a, b"
    );
    assert_eq!(
        sample(&metrics, "redis_keyspace_misses_total"),
        Some(2.0),
        "missing, nope"
    );
    assert_eq!(sample(&metrics, r#"redis_db_keys{db="db0"}"#), Some(2.0));
    assert_eq!(
        sample(&metrics, "redis_connected_clients").map(|n| n >= 1.0),
        Some(true)
    );
    assert!(sample(&metrics, "redis_commands_processed_total").is_some_and(|n| n >= 5.0));
    assert!(
        metrics.contains(r#"redis_commands_total{cmd="get"}"#),
        "commandstats become per-command series"
    );
}
