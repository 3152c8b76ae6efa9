//! Warm restarts of the `wasmcache` binary: `serve --snapshot FILE` saves on SIGTERM, SAVE
//! and BGSAVE, restores at start, and refuses a damaged or foreign file whole.

mod common;

use std::path::Path;
use std::process::Command;

use common::{request, serve};

fn integer(reply: &str) -> i64 {
    reply
        .trim()
        .strip_prefix(':')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {reply:?}"))
}

/// `wasmcache serve --snapshot PATH ...` that must fail to start; its stderr.
fn refused_start(path: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_wasmcache"))
        .args(["serve", "--listen", "127.0.0.1:0", "--snapshot"])
        .arg(path)
        .output()
        .expect("runs");
    assert!(!output.status.success(), "started on a bad snapshot");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_restart_keeps_every_entry_and_its_ttl() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("cache.snap");
    let snapshot = file.to_str().expect("utf-8 path");
    let (server, _, mut con) = serve(&["--snapshot", snapshot, "--shards", "2"]);
    assert_eq!(request(&mut con, &["SET", "plain", "1"]), "+OK\r\n");
    assert_eq!(
        request(&mut con, &["SET", "lasting", "2", "EX", "100"]),
        "+OK\r\n"
    );
    assert_eq!(
        request(&mut con, &["SET", "brief", "3", "PX", "300"]),
        "+OK\r\n"
    );
    let mut mset = vec!["MSET".to_string()];
    for i in 0..500 {
        mset.push(format!("k{i}"));
        mset.push(format!("v{i}"));
    }
    let mset: Vec<&str> = mset.iter().map(String::as_str).collect();
    assert_eq!(request(&mut con, &mset), "+OK\r\n");
    drop(con);
    let status = server.terminate();
    assert!(
        status.success(),
        "a graceful stop that saved exits 0: {status}"
    );
    assert!(file.exists(), "saved on SIGTERM");
    // Long enough for `brief` to expire while the server is down.
    std::thread::sleep(std::time::Duration::from_millis(400));

    // Fewer or more shards than before: keys go to whichever shard owns them now.
    for shards in ["3", "1"] {
        let (server, _, mut con) = serve(&["--snapshot", snapshot, "--shards", shards]);
        assert_eq!(request(&mut con, &["GET", "plain"]), "$1\r\n1\r\n");
        assert_eq!(request(&mut con, &["GET", "k499"]), "$4\r\nv499\r\n");
        let ttl = integer(&request(&mut con, &["TTL", "lasting"]));
        assert!((95..=100).contains(&ttl), "ttl {ttl} after a restart");
        assert_eq!(integer(&request(&mut con, &["TTL", "plain"])), -1);
        assert_eq!(
            request(&mut con, &["GET", "brief"]),
            "$-1\r\n",
            "expired while down"
        );
        assert_eq!(integer(&request(&mut con, &["DBSIZE"])), 502);
        drop(con);
        assert!(server.terminate().success());
    }
}

#[test]
fn save_bgsave_and_lastsave_write_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("cache.snap");
    let snapshot = file.to_str().expect("utf-8 path");
    let (_server, _, mut con) = serve(&["--snapshot", snapshot]);
    let started = integer(&request(&mut con, &["LASTSAVE"]));
    assert_eq!(request(&mut con, &["SET", "a", "1"]), "+OK\r\n");
    assert_eq!(request(&mut con, &["SAVE"]), "+OK\r\n");
    assert!(file.exists());
    assert!(integer(&request(&mut con, &["LASTSAVE"])) >= started);
    let first = std::fs::read(&file).expect("snapshot");

    assert_eq!(request(&mut con, &["SET", "b", "2"]), "+OK\r\n");
    assert_eq!(
        request(&mut con, &["BGSAVE"]),
        "+Background saving started\r\n"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read(&file).expect("snapshot") == first {
        assert!(std::time::Instant::now() < deadline, "BGSAVE never wrote");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let info = request(&mut con, &["INFO"]);
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["cache.snap"], "no temporary file left behind");

    let (_plain, _, mut other) = serve(&[]);
    let refused = request(&mut other, &["SAVE"]);
    assert!(refused.starts_with("-ERR no snapshot file"), "{refused}");
}

#[test]
fn a_damaged_or_foreign_snapshot_stops_the_start_and_loads_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("cache.snap");
    let snapshot = file.to_str().expect("utf-8 path");
    let (_server, _, mut con) = serve(&["--snapshot", snapshot]);
    for i in 0..50 {
        let key = format!("k{i}");
        assert_eq!(request(&mut con, &["SET", &key, "value"]), "+OK\r\n");
    }
    assert_eq!(request(&mut con, &["SAVE"]), "+OK\r\n");
    let good = std::fs::read(&file).expect("snapshot");

    std::fs::write(&file, &good[..good.len() - 10]).expect("cut");
    let said = refused_start(&file);
    assert!(
        said.contains("damaged") && said.contains("move the file away"),
        "{said}"
    );

    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 1;
    std::fs::write(&file, &flipped).expect("flip");
    assert!(refused_start(&file).contains("checksum does not match"));

    std::fs::write(&file, "appendonly yes\n").expect("foreign");
    assert!(refused_start(&file).contains("not a wasmcache snapshot"));
}
