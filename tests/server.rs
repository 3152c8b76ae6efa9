//! `wasmcache serve` driven by real Redis clients: the `redis` crate and `redis-cli`.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{Commands, RedisResult};
use wasmcache::reload::{CompactPolicy, Source};
use wasmcache::server::ServerConfig;
use wasmcache::{Limits, ManualClock, SizeLimits, SystemClock, builtin};
use wasmcache_tests::{RunningServer as Running, fixtures, hostile};

fn raw(con: &mut redis::Connection, args: &[&str]) -> RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con)
}

/// A server of the embedded component `bytes` on a clock the test moves.
fn on_manual_clock(bytes: &[u8]) -> (Arc<ManualClock>, Running) {
    let clock = Arc::new(ManualClock::new());
    let server = Running::start(
        Source::bytes("guest", bytes),
        clock.clone(),
        Limits::default(),
        ServerConfig::default(),
    );
    (clock, server)
}

fn error_text(result: RedisResult<redis::Value>) -> String {
    result.expect_err("an error reply").to_string()
}

#[test]
fn strings_and_their_options() {
    let (clock, server) = on_manual_clock(builtin::LRU);
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
    assert!(error_text(raw(&mut con, &["SET", "k", "v", "EX", "1.5"])).contains("not an integer"));
    assert!(error_text(raw(&mut con, &["SET", "k", "v", "EX", "5", "PX", "5"])).contains("syntax"));
}

/// Runs `args` and returns the integer reply.
fn int(con: &mut redis::Connection, args: &[&str]) -> i64 {
    match raw(con, args) {
        Ok(redis::Value::Int(n)) => n,
        other => panic!("{args:?}: expected an integer, got {other:?}"),
    }
}

/// Runs `args` and returns the bulk reply as text (`None` for nil).
fn text(con: &mut redis::Connection, args: &[&str]) -> Option<String> {
    match raw(con, args) {
        Ok(redis::Value::BulkString(bytes)) => Some(String::from_utf8(bytes).expect("utf-8")),
        Ok(redis::Value::SimpleString(s)) => Some(s),
        Ok(redis::Value::Okay) => Some("OK".into()),
        Ok(redis::Value::Nil) => None,
        other => panic!("{args:?}: expected a string, got {other:?}"),
    }
}

#[test]
fn expiry_commands_read_and_change_a_ttl_as_redis_does() {
    let (clock, server) = on_manual_clock(builtin::LRU);
    let mut con = server.client();
    let _: () = con.set_ex("k", "v", 100).expect("set ex");
    assert_eq!(int(&mut con, &["TTL", "k"]), 100);
    assert_eq!(int(&mut con, &["PTTL", "k"]), 100_000);
    clock.advance(Duration::from_millis(1_400));
    assert_eq!(int(&mut con, &["TTL", "k"]), 99, "98.6 s rounds to 99");
    assert_eq!(
        (
            int(&mut con, &["TTL", "nokey"]),
            int(&mut con, &["PTTL", "nokey"])
        ),
        (-2, -2)
    );
    let _: () = con.set("forever", "v").expect("set");
    assert_eq!(int(&mut con, &["TTL", "forever"]), -1);
    assert_eq!(int(&mut con, &["EXPIRETIME", "forever"]), -1);
    // EXPIRE and its conditions.
    assert_eq!(
        int(&mut con, &["EXPIRE", "forever", "50", "XX"]),
        0,
        "XX needs an expiry"
    );
    assert_eq!(int(&mut con, &["EXPIRE", "forever", "50", "NX"]), 1);
    assert_eq!(int(&mut con, &["EXPIRE", "forever", "40", "GT"]), 0);
    assert_eq!(int(&mut con, &["EXPIRE", "forever", "60", "GT"]), 1);
    assert_eq!(int(&mut con, &["EXPIRE", "forever", "70", "LT"]), 0);
    assert_eq!(int(&mut con, &["TTL", "forever"]), 60);
    assert_eq!(int(&mut con, &["PEXPIRE", "forever", "1500"]), 1);
    assert_eq!(int(&mut con, &["PTTL", "forever"]), 1500);
    let soon = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 500)
        .to_string();
    assert_eq!(int(&mut con, &["EXPIREAT", "forever", &soon]), 1);
    let left = int(&mut con, &["TTL", "forever"]);
    assert!((499..=501).contains(&left), "{left}");
    assert_eq!(
        int(&mut con, &["EXPIRETIME", "forever"]).to_string(),
        soon,
        "EXPIRETIME gives the time back"
    );
    assert_eq!(int(&mut con, &["PERSIST", "forever"]), 1);
    assert_eq!(
        int(&mut con, &["PERSIST", "forever"]),
        0,
        "nothing left to remove"
    );
    assert_eq!(int(&mut con, &["TTL", "forever"]), -1);
    assert_eq!(int(&mut con, &["EXPIRE", "nokey", "10"]), 0);
    // A time in the past removes the key.
    assert_eq!(int(&mut con, &["EXPIRE", "forever", "-1"]), 1);
    assert_eq!(int(&mut con, &["EXISTS", "forever"]), 0);
    // The expiry really moved: the entry goes when the new ttl ends.
    assert_eq!(int(&mut con, &["PEXPIRE", "k", "250"]), 1);
    clock.advance(Duration::from_millis(250));
    assert_eq!(text(&mut con, &["GET", "k"]), None);
    assert!(error_text(raw(&mut con, &["EXPIRE", "k", "ten"])).contains("not an integer"));
    assert!(
        error_text(raw(&mut con, &["EXPIRE", "k", "10", "NX", "XX"])).contains("not compatible")
    );
    assert!(
        error_text(raw(&mut con, &["EXPIRE", "k", "9223372036854775807"]))
            .contains("invalid expire time in 'expire' command")
    );
    // SET's expiry options and GETEX.
    let _: () = con.set_ex("t", "v", 100).expect("set ex");
    assert_eq!(
        text(&mut con, &["SET", "t", "w", "KEEPTTL"]).as_deref(),
        Some("OK")
    );
    assert_eq!(int(&mut con, &["TTL", "t"]), 100, "KEEPTTL keeps it");
    assert_eq!(text(&mut con, &["SET", "t", "w"]).as_deref(), Some("OK"));
    assert_eq!(int(&mut con, &["TTL", "t"]), -1, "a plain SET clears it");
    let at = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
        + 30_000)
        .to_string();
    assert_eq!(
        text(&mut con, &["SET", "t", "w", "PXAT", &at]).as_deref(),
        Some("OK")
    );
    let left = int(&mut con, &["PTTL", "t"]);
    assert!((29_000..=30_000).contains(&left), "{left}");
    assert_eq!(
        text(&mut con, &["GETEX", "t", "PERSIST"]).as_deref(),
        Some("w")
    );
    assert_eq!(int(&mut con, &["TTL", "t"]), -1);
    assert_eq!(
        text(&mut con, &["GETEX", "t", "EX", "7"]).as_deref(),
        Some("w")
    );
    assert_eq!(int(&mut con, &["TTL", "t"]), 7);
    assert_eq!(
        text(&mut con, &["SETEX", "e", "5", "v"]).as_deref(),
        Some("OK")
    );
    assert_eq!(int(&mut con, &["TTL", "e"]), 5);
    assert!(
        error_text(raw(&mut con, &["SETEX", "e", "0", "v"]))
            .contains("invalid expire time in 'setex'")
    );
    assert_eq!(
        text(&mut con, &["PSETEX", "e", "1500", "v"]).as_deref(),
        Some("OK")
    );
    assert_eq!(int(&mut con, &["PTTL", "e"]), 1500);
}

#[test]
fn string_commands_read_modify_and_write_as_redis_does() {
    let (_clock, server) = on_manual_clock(builtin::MEMORY);
    let mut con = server.client();
    assert_eq!(int(&mut con, &["INCR", "n"]), 1);
    assert_eq!(int(&mut con, &["INCRBY", "n", "10"]), 11);
    assert_eq!(int(&mut con, &["DECR", "n"]), 10);
    assert_eq!(int(&mut con, &["DECRBY", "n", "-5"]), 15);
    assert_eq!(
        text(&mut con, &["INCRBYFLOAT", "f", "10.5"]).as_deref(),
        Some("10.5")
    );
    assert_eq!(
        text(&mut con, &["INCRBYFLOAT", "f", "0.1"]).as_deref(),
        Some("10.6")
    );
    assert_eq!(
        text(&mut con, &["INCRBYFLOAT", "g", "5.0e3"]).as_deref(),
        Some("5000")
    );
    let _: () = con.set("s", "abc").expect("set");
    assert!(error_text(raw(&mut con, &["INCR", "s"])).contains("not an integer"));
    let _: () = con.set("max", i64::MAX.to_string()).expect("set");
    assert!(error_text(raw(&mut con, &["INCR", "max"])).contains("overflow"));
    assert!(error_text(raw(&mut con, &["INCRBYFLOAT", "f", "x"])).contains("not a valid float"));
    // INCR keeps the ttl, as Redis does.
    let _: () = con.set_ex("counter", "5", 100).expect("set ex");
    assert_eq!(int(&mut con, &["INCR", "counter"]), 6);
    assert_eq!(int(&mut con, &["TTL", "counter"]), 100);
    // APPEND, STRLEN, GETRANGE, SETRANGE.
    assert_eq!(int(&mut con, &["APPEND", "a", "Hello"]), 5);
    assert_eq!(int(&mut con, &["APPEND", "a", " World"]), 11);
    assert_eq!(int(&mut con, &["STRLEN", "a"]), 11);
    assert_eq!(int(&mut con, &["STRLEN", "nokey"]), 0);
    assert_eq!(
        text(&mut con, &["GETRANGE", "a", "0", "4"]).as_deref(),
        Some("Hello")
    );
    assert_eq!(
        text(&mut con, &["GETRANGE", "a", "-5", "-1"]).as_deref(),
        Some("World")
    );
    assert_eq!(int(&mut con, &["SETRANGE", "a", "6", "Redis"]), 11);
    assert_eq!(
        text(&mut con, &["GET", "a"]).as_deref(),
        Some("Hello Redis")
    );
    assert_eq!(int(&mut con, &["SETRANGE", "pad", "3", "x"]), 4);
    assert_eq!(text(&mut con, &["GET", "pad"]).as_deref(), Some("\0\0\0x"));
    assert_eq!(int(&mut con, &["SETRANGE", "none", "5", ""]), 0);
    assert_eq!(
        int(&mut con, &["EXISTS", "none"]),
        0,
        "an empty SETRANGE creates nothing"
    );
    // SETNX, GETSET, GETDEL, MSETNX.
    assert_eq!(int(&mut con, &["SETNX", "a", "x"]), 0);
    assert_eq!(int(&mut con, &["SETNX", "new", "x"]), 1);
    assert_eq!(
        text(&mut con, &["GETSET", "new", "y"]).as_deref(),
        Some("x")
    );
    assert_eq!(text(&mut con, &["GETDEL", "new"]).as_deref(), Some("y"));
    assert_eq!(text(&mut con, &["GETDEL", "new"]), None);
    assert_eq!(int(&mut con, &["MSETNX", "m1", "1", "m2", "2"]), 1);
    assert_eq!(
        int(&mut con, &["MSETNX", "m2", "x", "m3", "3"]),
        0,
        "all or nothing"
    );
    assert_eq!(int(&mut con, &["EXISTS", "m3", "m1", "m1"]), 2);
    // DEL counts through the contract; TYPE and TOUCH.
    assert_eq!(int(&mut con, &["DEL", "m1", "m2", "m3", "nokey"]), 2);
    assert_eq!(text(&mut con, &["TYPE", "a"]).as_deref(), Some("string"));
    assert_eq!(text(&mut con, &["TYPE", "nokey"]).as_deref(), Some("none"));
    assert_eq!(int(&mut con, &["TOUCH", "a", "nokey"]), 1);
    // RENAME, RENAMENX and COPY carry the ttl.
    let _: () = con.set_ex("src", "v", 100).expect("set ex");
    assert_eq!(
        text(&mut con, &["RENAME", "src", "dst"]).as_deref(),
        Some("OK")
    );
    assert_eq!(
        (
            int(&mut con, &["EXISTS", "src"]),
            int(&mut con, &["TTL", "dst"])
        ),
        (0, 100)
    );
    assert!(error_text(raw(&mut con, &["RENAME", "src", "x"])).contains("no such key"));
    assert_eq!(int(&mut con, &["RENAMENX", "dst", "a"]), 0, "a exists");
    assert_eq!(int(&mut con, &["COPY", "dst", "twin"]), 1);
    assert_eq!(
        int(&mut con, &["COPY", "dst", "twin"]),
        0,
        "without REPLACE"
    );
    assert_eq!(text(&mut con, &["GET", "twin"]).as_deref(), Some("v"));
    assert_eq!(int(&mut con, &["TTL", "twin"]), 100);
    // Bits.
    assert_eq!(int(&mut con, &["SETBIT", "bits", "7", "1"]), 0);
    assert_eq!(int(&mut con, &["SETBIT", "bits", "7", "0"]), 1);
    assert_eq!(int(&mut con, &["SETBIT", "bits", "9", "1"]), 0);
    assert_eq!(
        (
            int(&mut con, &["GETBIT", "bits", "9"]),
            int(&mut con, &["GETBIT", "bits", "100"])
        ),
        (1, 0)
    );
    assert_eq!(int(&mut con, &["BITCOUNT", "bits"]), 1);
    assert!(
        error_text(raw(&mut con, &["SETBIT", "bits", "1", "2"])).contains("bit is not an integer")
    );
}

#[test]
fn scan_keys_and_randomkey_list_every_shard() {
    let server = Running::memory();
    let mut con = server.client();
    let mut want = std::collections::BTreeSet::new();
    for i in 0..500 {
        let key = format!("user:{i}");
        let _: () = con.set(&key, i).expect("set");
        want.insert(key);
    }
    let _: () = con.set("other", 1).expect("set");
    // SCAN with MATCH and COUNT, through both shards, each key once.
    let mut seen = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("user:*")
            .arg("COUNT")
            .arg(37)
            .query(&mut con)
            .expect("scan");
        seen.extend(keys);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let unique: std::collections::BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique, want);
    assert_eq!(seen.len(), want.len(), "no key twice while nothing changed");
    // The redis crate's own iterator walks the same cursors.
    let iterated: std::collections::BTreeSet<String> = con
        .scan_match("user:4*")
        .expect("scan iter")
        .collect::<Result<_, _>>()
        .expect("every page");
    assert_eq!(iterated.len(), 111, "user:4, user:40..49, user:400..499");
    let mut keys: Vec<String> = con.keys("user:1?").expect("keys");
    keys.sort();
    assert_eq!(
        keys,
        (10..20).map(|i| format!("user:{i}")).collect::<Vec<_>>()
    );
    let random: Option<String> = redis::cmd("RANDOMKEY").query(&mut con).expect("randomkey");
    assert!(random.is_some_and(|k| k == "other" || want.contains(&k)));
    assert!(error_text(raw(&mut con, &["SCAN", "987654321"])).contains("invalid cursor"));
    let _: () = redis::cmd("FLUSHALL").query(&mut con).expect("flush");
    let random: Option<String> = redis::cmd("RANDOMKEY").query(&mut con).expect("randomkey");
    assert_eq!(random, None);
}

#[test]
fn a_contract_0_1_backend_answers_what_it_can_and_says_why_not() {
    let server = Running::start(
        Source::bytes("v01-memory", fixtures::V01_MEMORY),
        SystemClock::shared(),
        Limits::default(),
        ServerConfig::default(),
    );
    let mut con = server.client();
    let _: () = con.set_ex("k", "5", 100).expect("set ex");
    let why = error_text(raw(&mut con, &["TTL", "k"]));
    assert!(why.contains("time to live") && why.contains("0.1"), "{why}");
    // What the host can build on 0.1's five callbacks works.
    assert_eq!(int(&mut con, &["EXPIRE", "k", "50"]), 1);
    assert_eq!(int(&mut con, &["EXISTS", "k", "nokey"]), 1);
    assert_eq!(int(&mut con, &["DEL", "k", "nokey"]), 1);
    assert_eq!(
        int(&mut con, &["INCR", "fresh"]),
        1,
        "an absent key has no ttl to keep"
    );
    assert!(error_text(raw(&mut con, &["INCR", "fresh"])).contains("0.1"));
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
    assert_eq!(cli(&["TTL", "greeting"]), "-1");
    assert_eq!(cli(&["SET", "k", "v", "EX", "100"]), "OK");
    let ttl = cli(&["TTL", "k"]);
    assert!(ttl == "100" || ttl == "99", "{ttl}");
    assert_eq!(cli(&["CONFIG", "GET", "maxclients"]), "maxclients\n10000");
    assert!(cli(&["LPUSH", "l", "x"]).contains("does not support"));
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
