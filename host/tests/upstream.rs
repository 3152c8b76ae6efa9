//! `wasmcache serve --upstream`: the binary as a near cache in front of a real
//! `redis-server` started here, and the errors of a wrong upstream.

mod common;

use std::process::{Command, Stdio};

use common::{request, serve};

/// A `redis-server` on a free loopback port, killed when dropped.
struct Redis {
    child: std::process::Child,
    port: u16,
    /// Its working directory, removed when dropped.
    _dir: tempfile::TempDir,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis() -> Redis {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = tempfile::tempdir().expect("dir");
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed (guest-examples/setup-toolchains.sh redis)");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server never listened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Redis {
        child,
        port,
        _dir: dir,
    }
}

#[test]
fn serve_upstream_writes_through_to_redis_and_reads_back() {
    let upstream = redis();
    let url = format!("redis://127.0.0.1:{}", upstream.port);
    let (_server, _, mut con) = serve(&["--upstream", &url, "--shards", "2"]);
    let mut direct = std::net::TcpStream::connect(("127.0.0.1", upstream.port)).expect("connect");
    assert_eq!(
        request(&mut con, &["SET", "k", "v", "EX", "100"]),
        "+OK\r\n"
    );
    assert_eq!(
        request(&mut direct, &["GET", "k"]),
        "$1\r\nv\r\n",
        "written through"
    );
    assert_eq!(request(&mut direct, &["SET", "k", "w"]), "+OK\r\n");
    // Another client's write reaches the near cache as an invalidation.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while request(&mut con, &["GET", "k"]) != "$1\r\nw\r\n" {
        assert!(
            std::time::Instant::now() < deadline,
            "never saw the upstream write"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(request(&mut con, &["DBSIZE"]), ":1\r\n");
}

#[test]
fn an_unreachable_upstream_stops_the_start_with_its_address() {
    let output = Command::new(env!("CARGO_BIN_EXE_wasmcache"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "redis://127.0.0.1:1",
        ])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("cannot connect to redis://127.0.0.1:1"),
        "{said}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_wasmcache"))
        .args(["serve", "--cluster"])
        .output()
        .expect("runs");
    assert!(!output.status.success(), "--cluster needs --upstream");
    let output = Command::new(env!("CARGO_BIN_EXE_wasmcache"))
        .args([
            "serve",
            "--upstream",
            "redis://127.0.0.1:1",
            "--snapshot",
            "x.snap",
        ])
        .output()
        .expect("runs");
    assert!(
        !output.status.success(),
        "--snapshot does not go with --upstream"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be used with"));
}
