//! `wasmcache serve` driven by real Redis clients: the `redis` crate and `redis-cli`.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{Commands, RedisResult};
use wasmcache::reload::{CompactPolicy, Source};
use wasmcache::server::ServerConfig;
use wasmcache::{Limits, ManualClock, SizeLimits, SystemClock, builtin};
use wasmcache_tests::{RunningServer as Running, hostile};

fn raw(con: &mut redis::Connection, args: &[&str]) -> RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con)
}

fn error_text(result: RedisResult<redis::Value>) -> String {
    result.expect_err("an error reply").to_string()
}

#[test]
fn strings_and_their_options() {
    let clock = Arc::new(ManualClock::new());
    let server = Running::start(
        Source::bytes("lru", builtin::LRU),
        clock.clone(),
        Limits::default(),
        ServerConfig::default(),
    );
    let mut con = server.client();
    assert_eq!(
        raw(&mut con, &["PING"]).expect("ping"),
        redis::Value::SimpleString("PONG".into())
    );
    let echoed: String = redis::cmd("ECHO")
        .arg("hello")
        .query(&mut con)
        .expect("echo");
    assert_eq!(echoed, "hello");

    let _: () = con.set("k", "v1").expect("set");
    assert_eq!(
        con.get::<_, Option<String>>("k").expect("get").as_deref(),
        Some("v1")
    );
    assert_eq!(con.get::<_, Option<String>>("absent").expect("get"), None);

    // NX, XX and GET are atomic read-then-write.
    let nx: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("v2")
        .arg("NX")
        .query(&mut con)
        .expect("set nx");
    assert_eq!(nx, None, "NX on an existing key does nothing");
    let xx: Option<String> = redis::cmd("SET")
        .arg("new")
        .arg("x")
        .arg("XX")
        .query(&mut con)
        .expect("set xx");
    assert_eq!(xx, None, "XX on an absent key does nothing");
    assert_eq!(con.get::<_, Option<String>>("new").expect("get"), None);
    let old: Option<String> = redis::cmd("SET")
        .arg("k")
        .arg("v3")
        .arg("GET")
        .query(&mut con)
        .expect("set get");
    assert_eq!(old.as_deref(), Some("v1"));

    // EX and PX expire on the backend's clock, which this test moves.
    let _: () = redis::cmd("SET")
        .arg("short")
        .arg("s")
        .arg("PX")
        .arg(1500)
        .query(&mut con)
        .expect("set px");
    let _: () = redis::cmd("SET")
        .arg("long")
        .arg("l")
        .arg("EX")
        .arg(10)
        .query(&mut con)
        .expect("set ex");
    clock.advance(Duration::from_millis(1499));
    assert_eq!(
        con.get::<_, Option<String>>("short")
            .expect("get")
            .as_deref(),
        Some("s")
    );
    clock.advance(Duration::from_millis(1));
    assert_eq!(con.get::<_, Option<String>>("short").expect("get"), None);
    assert_eq!(
        con.get::<_, Option<String>>("long")
            .expect("get")
            .as_deref(),
        Some("l")
    );
    clock.advance(Duration::from_secs(10));
    assert_eq!(con.get::<_, Option<String>>("long").expect("get"), None);

    assert!(
        error_text(raw(&mut con, &["SET", "k", "v", "EX", "0"])).contains("invalid expire time")
    );
    assert!(error_text(raw(&mut con, &["SET", "k", "v", "NX", "XX"])).contains("syntax error"));
    assert!(error_text(raw(&mut con, &["SET", "k", "v", "KEEPTTL"])).contains("KEEPTTL"));
}

#[test]
fn multi_key_commands_size_flush_and_info() {
    let server = Running::memory();
    let mut con = server.client();
    let _: () = redis::cmd("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .arg("c")
        .arg("3")
        .query(&mut con)
        .expect("mset");
    let values: Vec<Option<String>> = redis::cmd("MGET")
        .arg("a")
        .arg("b")
        .arg("zz")
        .query(&mut con)
        .expect("mget");
    assert_eq!(values, [Some("1".to_string()), Some("2".to_string()), None]);
    let exists: i64 = redis::cmd("EXISTS")
        .arg("a")
        .arg("zz")
        .arg("a")
        .query(&mut con)
        .expect("exists");
    assert_eq!(exists, 2, "counted per argument, as Redis does");
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).expect("dbsize");
    assert_eq!(size, 3, "summed over both shards");
    let removed: i64 = redis::cmd("DEL")
        .arg("a")
        .arg("zz")
        .query(&mut con)
        .expect("del");
    assert_eq!(removed, 1);
    let info: String = redis::cmd("INFO").query(&mut con).expect("info");
    for field in [
        "shards:2",
        "generation:1",
        "component:memory",
        "max_value_bytes:1048576",
        "shard1:size=",
    ] {
        assert!(info.contains(field), "INFO lacks {field}:\n{info}");
    }
    let _: () = redis::cmd("FLUSHALL").query(&mut con).expect("flushall");
    assert_eq!(
        redis::cmd("DBSIZE").query::<i64>(&mut con).expect("dbsize"),
        0
    );
    let _: () = redis::cmd("FLUSHDB")
        .arg("ASYNC")
        .query(&mut con)
        .expect("flushdb");

    let _: () = redis::cmd("SELECT")
        .arg(0)
        .query(&mut con)
        .expect("select 0");
    assert!(error_text(raw(&mut con, &["SELECT", "1"])).contains("out of range"));
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("tester")
        .query(&mut con)
        .expect("setname");
    let name: String = redis::cmd("CLIENT")
        .arg("GETNAME")
        .query(&mut con)
        .expect("getname");
    assert_eq!(name, "tester");
    assert!(error_text(raw(&mut con, &["TTL", "a"])).contains("remaining ttl"));
    assert!(error_text(raw(&mut con, &["KEYS", "*"])).contains("list keys"));
    assert!(error_text(raw(&mut con, &["LPUSH", "l", "x"])).contains("only string values"));
    assert!(error_text(raw(&mut con, &["NOSUCH"])).contains("unknown command"));
    assert!(error_text(raw(&mut con, &["GET"])).contains("wrong number of arguments"));
    assert!(error_text(raw(&mut con, &["WASMCACHE.RELOAD", "x.wasm"])).contains("disabled"));
}

#[test]
fn values_are_binary_safe_and_bounded() {
    let limits = Limits {
        sizes: SizeLimits {
            max_key_bytes: 64,
            max_value_bytes: 4096,
        },
        ..Limits::default()
    };
    let server = Running::start(
        Source::bytes("memory", builtin::MEMORY),
        SystemClock::shared(),
        limits,
        ServerConfig::default(),
    );
    let mut con = server.client();
    let binary: Vec<u8> = (0..=255u8).chain([b'\r', b'\n', 0, b'$', b'*']).collect();
    let _: () = con.set(&binary[..10], &binary).expect("set binary");
    assert_eq!(con.get::<_, Vec<u8>>(&binary[..10]).expect("get"), binary);
    let at_limit = vec![7u8; 4096];
    let _: () = con.set("big", &at_limit).expect("a value at the limit");
    assert_eq!(con.get::<_, Vec<u8>>("big").expect("get"), at_limit);
    let over: RedisResult<()> = con.set("big", vec![7u8; 4097]);
    assert!(
        over.expect_err("one byte over")
            .to_string()
            .contains("exceeds the limit of 4096")
    );
    let long_key: RedisResult<()> = con.set(vec![b'k'; 65], "v");
    assert!(
        long_key
            .expect_err("key over the limit")
            .to_string()
            .contains("key of 65 bytes")
    );
    assert_eq!(
        con.get::<_, Vec<u8>>("big").expect("get"),
        at_limit,
        "the refused write changed nothing"
    );
}

#[test]
fn pipelines_are_answered_in_order() {
    let server = Running::memory();
    let mut con = server.client();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.set(format!("p{i}"), i).ignore();
    }
    for i in 0..2000 {
        pipe.get(format!("p{i}"));
    }
    let values: Vec<i64> = pipe.query(&mut con).expect("pipeline");
    assert_eq!(values, (0..2000).collect::<Vec<i64>>());
}

#[test]
fn redis_cli_works_against_the_server() {
    let server = Running::memory();
    let port = server.addr.port().to_string();
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("redis-cli is missing ({e}); install it with: apt-get install redis-tools")
            });
        assert!(
            out.status.success(),
            "redis-cli {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(cli(&["PING"]), "PONG");
    assert_eq!(cli(&["SET", "greeting", "hello world"]), "OK");
    assert_eq!(cli(&["GET", "greeting"]), "hello world");
    assert_eq!(cli(&["DBSIZE"]), "1");
    assert!(cli(&["INFO"]).contains("generation:1"));
    assert!(cli(&["TTL", "greeting"]).contains("does not support"));
}

#[test]
fn a_backend_swap_under_load_fails_no_command() {
    let server = Running::memory();
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (mut con, stop, failed, done) =
                (server.client(), stop.clone(), failed.clone(), done.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("c{c}-{}", i % 100);
                    let set: RedisResult<()> = con.set(&key, i);
                    let got: RedisResult<Option<u64>> = con.get(&key);
                    match (set, got) {
                        (Ok(()), Ok(Some(_)) | Ok(None)) => {}
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    done.fetch_add(2, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    for round in 0..10 {
        let (name, bytes) = builtin::ALL[round % 2];
        server
            .shards
            .reload(Source::bytes(name, bytes))
            .expect("reload");
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client");
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(
        done.load(Ordering::Relaxed) > 100,
        "commands ran during the swaps"
    );
    let mut con = server.client();
    let info: String = redis::cmd("INFO").query(&mut con).expect("info");
    assert!(info.contains("generation:11"), "{info}");
}

#[test]
fn a_hostile_backend_does_not_take_the_server_down() {
    let limits = Limits {
        restart_backoff: Duration::ZERO,
        ..Limits::default()
    };
    let server = Running::start(
        Source::bytes("trap-on-key", hostile::TRAP_ON_KEY),
        SystemClock::shared(),
        limits,
        ServerConfig::default(),
    );
    let mut bad = server.client();
    let mut good = server.client();
    for i in 0..20 {
        assert_eq!(
            bad.get::<_, Option<String>>("trap-me")
                .expect("a fault reads as a miss"),
            None
        );
        let refused: RedisResult<()> = bad.set("trap-me", "x");
        assert!(
            refused
                .expect_err("a fault on write is an error")
                .to_string()
                .contains("backend unavailable")
        );
        // The other connection is answered normally throughout.
        let _: () = good
            .set(format!("fine-{i}"), i)
            .expect("set on the other connection");
        assert_eq!(
            good.get::<_, Option<i64>>(format!("fine-{i}"))
                .expect("get"),
            Some(i)
        );
        assert_eq!(
            raw(&mut good, &["PING"]).expect("ping"),
            redis::Value::SimpleString("PONG".into())
        );
    }
    let info: String = redis::cmd("INFO").query(&mut good).expect("info");
    assert!(info.contains("backend_faults:40"), "{info}");
}

#[test]
fn protocol_errors_close_only_that_connection() {
    use std::io::{Read, Write};
    let server = Running::memory();
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    stream.write_all(b"*1\r\n$-7\r\n").expect("write garbage");
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .expect("read until closed");
    assert!(reply.starts_with("-ERR Protocol error"), "{reply}");
    let mut con = server.client();
    assert_eq!(
        raw(&mut con, &["PING"]).expect("the server is alive"),
        redis::Value::SimpleString("PONG".into())
    );
}

#[test]
fn shutdown_finishes_what_was_sent() {
    let mut server = Running::memory();
    let mut con = server.client();
    let _: () = con.set("before", "shutdown").expect("set");
    server.stop();
    assert!(
        std::net::TcpStream::connect(server.addr).is_err(),
        "no longer accepting"
    );
}

#[test]
fn the_admin_reload_command_swaps_every_shard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("lru.wasm");
    std::fs::write(&file, builtin::LRU).expect("write");
    let config = ServerConfig {
        admin: true,
        ..ServerConfig::default()
    };
    let server = Running::start(
        Source::bytes("memory", builtin::MEMORY),
        SystemClock::shared(),
        Limits::default(),
        config,
    );
    let mut con = server.client();
    let _: () = con.set("kept", "across the reload").expect("set");
    let reply: String = redis::cmd("WASMCACHE.RELOAD")
        .arg(file.to_str().expect("utf-8 path"))
        .query(&mut con)
        .expect("reload");
    assert_eq!(reply, "OK generation 2");
    assert_eq!(
        con.get::<_, Option<String>>("kept")
            .expect("get")
            .as_deref(),
        Some("across the reload"),
        "handed over"
    );
    for handle in server.shards.group().handles() {
        assert_eq!(handle.status().component, "lru.wasm");
    }
    let bad = dir.path().join("garbage.wasm");
    std::fs::write(&bad, b"not wasm").expect("write");
    let refused = error_text(raw(
        &mut con,
        &["WASMCACHE.RELOAD", bad.to_str().expect("utf-8 path")],
    ));
    assert!(
        refused.contains("rejected at the compile step"),
        "{refused}"
    );
    assert_eq!(
        con.get::<_, Option<String>>("kept")
            .expect("get")
            .as_deref(),
        Some("across the reload")
    );
}

#[test]
fn client_limits_idle_timeout_and_quit() {
    use std::io::{Read, Write};
    let config = ServerConfig {
        max_clients: 1,
        idle_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let server = Running::start(
        Source::bytes("memory", builtin::MEMORY),
        SystemClock::shared(),
        Limits::default(),
        config,
    );
    let read_all = |stream: &mut std::net::TcpStream| {
        let mut reply = String::new();
        stream
            .read_to_string(&mut reply)
            .expect("read until closed");
        reply
    };

    let mut first = std::net::TcpStream::connect(server.addr).expect("connect");
    first.write_all(b"PING\r\n").expect("write");
    let mut pong = [0u8; 7];
    first.read_exact(&mut pong).expect("pong");
    assert_eq!(&pong, b"+PONG\r\n");
    // A second client while the first is connected is over the limit.
    let mut second = std::net::TcpStream::connect(server.addr).expect("connect");
    assert_eq!(
        read_all(&mut second),
        "-ERR max number of clients reached\r\n"
    );
    // The first goes quiet and is closed after the idle timeout.
    assert_eq!(read_all(&mut first), "-ERR idle timeout\r\n");

    // Its slot is free again; QUIT answers and closes.
    let mut third = std::net::TcpStream::connect(server.addr).expect("connect");
    third
        .write_all(b"SET q 1\r\nQUIT\r\nGET q\r\n")
        .expect("write");
    assert_eq!(
        read_all(&mut third),
        "+OK\r\n+OK\r\n",
        "nothing after QUIT is answered"
    );
}

#[test]
fn a_request_larger_than_the_limit_is_refused_without_buffering_it() {
    use std::io::{Read, Write};
    let protocol = wasmcache::server::ProtocolLimits {
        max_request_bytes: 1 << 20,
        ..Default::default()
    };
    let config = ServerConfig {
        protocol,
        ..ServerConfig::default()
    };
    let server = Running::start(
        Source::bytes("memory", builtin::MEMORY),
        SystemClock::shared(),
        Limits::default(),
        config,
    );
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    // An MSET announcing 1000 well-formed pairs with 512 KiB values: the request can only
    // complete after 500 MiB, far past the 1 MiB limit.
    let value = vec![b'x'; 512 << 10];
    let mut sent = b"*2001\r\n$4\r\nMSET\r\n".to_vec();
    for _ in 0..4 {
        sent.extend_from_slice(format!("$1\r\nk\r\n${}\r\n", value.len()).as_bytes());
        sent.extend_from_slice(&value);
        sent.extend_from_slice(b"\r\n");
    }
    // The server may close the connection before it has read everything.
    let _ = stream.write_all(&sent);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.starts_with("-ERR Protocol error: request too large"),
        "{reply}"
    );
    let mut con = server.client();
    assert_eq!(
        redis::cmd("DBSIZE")
            .query::<i64>(&mut con)
            .expect("the server is alive"),
        0
    );
}

#[test]
fn an_oversized_value_is_refused_and_the_connection_stays_usable() {
    let server = Running::memory();
    let mut con = server.client();
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("keeps-its-name")
        .query(&mut con)
        .expect("setname");
    let big = vec![b'x'; 4 << 20];
    let refused: RedisResult<()> = con.set("big", big);
    let message = refused.expect_err("over the value limit").to_string();
    assert!(message.contains("exceeds the limit"), "{message}");
    // The same connection: the name is still there, and commands still work.
    let name: Option<String> = redis::cmd("CLIENT")
        .arg("GETNAME")
        .query(&mut con)
        .expect("getname");
    assert_eq!(name.as_deref(), Some("keeps-its-name"));
    let _: () = con.set("small", "fine").expect("set after the refusal");
    assert_eq!(
        con.get::<_, Option<String>>("small")
            .expect("get")
            .as_deref(),
        Some("fine")
    );
}

#[test]
fn an_expire_time_redis_cannot_hold_is_refused() {
    let server = Running::memory();
    let mut con = server.client();
    for args in [
        &["SET", "k", "v", "EX", "10000000000000000"][..],
        &["SET", "k", "v", "PX", "9223372036854775807"],
    ] {
        let text = error_text(raw(&mut con, args));
        assert!(text.contains("invalid expire time"), "{args:?}: {text}");
    }
    assert_eq!(
        raw(&mut con, &["EXISTS", "k"]).expect("exists"),
        redis::Value::Int(0),
        "nothing stored"
    );
}

#[test]
fn inline_commands_honour_quotes() {
    use std::io::{BufRead, BufReader, Write};
    let server = Running::memory();
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    stream
        .write_all(b"set \"a b\" 'c d'\r\nget \"a b\"\r\n")
        .expect("write");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        reader.read_line(&mut line).expect("reply");
        lines.push(line);
    }
    assert_eq!(lines, ["+OK\r\n", "$3\r\n", "c d\r\n"]);
    stream.write_all(b"set \"unbalanced v\r\n").expect("write");
    let mut line = String::new();
    reader.read_line(&mut line).expect("reply");
    assert!(line.contains("unbalanced quotes"), "{line}");
}

#[test]
fn guest_counter_names_never_forge_info_lines() {
    let server = Running::start(
        Source::bytes("stats-bad-name", hostile::STATS_BAD_NAME),
        SystemClock::shared(),
        Limits::default(),
        ServerConfig::default(),
    );
    let mut con = server.client();
    let _: () = con.set("k", "v").expect("set");
    let info: String = redis::cmd("INFO").query(&mut con).expect("info");
    assert!(!info.contains("generation:999"), "{info}");
    assert!(!info.contains("shard9"), "{info}");
    assert!(info.contains("generation:1"), "{info}");
    assert!(
        info.contains("not kebab-case"),
        "the violation is reported: {info}"
    );
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).expect("dbsize");
    assert_eq!(size, 1, "DBSIZE reads only the size");
}

#[test]
fn the_server_compacts_a_shard_whose_memory_is_sparse() {
    let config = ServerConfig {
        compact: Some(CompactPolicy {
            min_held_bytes: 16 << 20,
            ..CompactPolicy::default()
        }),
        ..ServerConfig::default()
    };
    let server = Running::start(
        Source::bytes("memory", builtin::MEMORY),
        SystemClock::shared(),
        Limits::default(),
        config,
    );
    let mut con = server.client();
    let value = "v".repeat(4096);
    let mut load = redis::pipe();
    for i in 0..12_000 {
        load.set(format!("key:{i}"), &value).ignore();
    }
    let _: () = load.query(&mut con).expect("load");
    let mut remove = redis::pipe();
    for i in 10..12_000 {
        remove.del(format!("key:{i}")).ignore();
    }
    let _: () = remove.query(&mut con).expect("delete");
    // Housekeeping looks every 5 s; give it a few rounds on a busy machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    let compactions = || -> u64 {
        server
            .shards
            .group()
            .handles()
            .iter()
            .map(|h| h.status().compactions)
            .sum()
    };
    while compactions() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(compactions(), 2, "both shards compacted");
    let info: String = redis::cmd("INFO").query(&mut con).expect("info");
    assert!(info.contains("compactions:2\r\n"), "{info}");
    for i in 0..10 {
        let got: Option<String> = con.get(format!("key:{i}")).expect("get");
        assert_eq!(got.as_deref(), Some(value.as_str()), "key:{i}");
    }
    let size: u64 = redis::cmd("DBSIZE").query(&mut con).expect("dbsize");
    assert_eq!(size, 10);
}
