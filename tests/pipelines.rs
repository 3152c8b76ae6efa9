//! Pipelined commands through `wasmcache serve`: replies in request order whatever mix of
//! commands a pipeline holds, one backend call per shard for a run of GETs or SETs, and a
//! refused item failing only its own command.

use std::io::{Read, Write};
use std::sync::Arc;

use redis::Value;
use wasmcache::reload::Source;
use wasmcache::server::ServerConfig;
use wasmcache::{Limits, SizeLimits, SystemClock, builtin};
use wasmcache_tests::RunningServer;
use wasmcache_tests::counting::CountingFactory;

fn counting() -> (Arc<CountingFactory>, RunningServer) {
    let factory = Arc::new(CountingFactory::default());
    let server = RunningServer::start(
        Source::Factory(factory.clone()),
        SystemClock::shared(),
        Limits::default(),
        ServerConfig::default(),
    );
    (factory, server)
}

fn value(text: &str) -> Value {
    Value::BulkString(text.as_bytes().to_vec())
}

#[test]
fn a_run_of_gets_or_sets_crosses_once_per_shard() {
    let (factory, server) = counting();
    let mut con = server.client();
    let keys: Vec<String> = (0..64).map(|i| format!("key:{i}")).collect();
    // Loading ran the backends' self-check; count from here.
    let (start, start_keys) = factory.calls.read();

    let mut mset = redis::cmd("MSET");
    for key in &keys {
        mset.arg(key).arg(format!("v{key}"));
    }
    let () = mset.query(&mut con).expect("mset");
    let (crossings, carried) = factory.calls.read();
    assert_eq!(
        (crossings - start, carried - start_keys),
        (2, 64),
        "one put-many per shard (2 shards)"
    );
    let (start, start_keys) = (crossings, carried);

    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.get(key);
    }
    let values: Vec<String> = pipe.query(&mut con).expect("pipelined gets");
    let expected: Vec<String> = keys.iter().map(|k| format!("v{k}")).collect();
    assert_eq!(values, expected, "replies in request order");
    let (crossings, carried) = factory.calls.read();
    assert_eq!(
        carried - start_keys,
        64,
        "every GET reached the backend once"
    );
    // One read usually holds the whole pipeline (2 calls); a split read costs 2 more.
    let gets = crossings - start;
    assert!(gets <= 8, "{gets} crossings for 64 pipelined GETs");

    let mut sets = redis::pipe();
    for key in &keys {
        sets.set(key, "again").ignore();
    }
    let () = sets.query(&mut con).expect("pipelined sets");
    let (after, _) = factory.calls.read();
    assert!(
        after - crossings <= 8,
        "{} crossings for 64 pipelined SETs",
        after - crossings
    );
    let mut mget = redis::cmd("MGET");
    mget.arg(&keys);
    let again: Vec<String> = mget.query(&mut con).expect("mget");
    assert!(again.iter().all(|v| v == "again"));
}

#[test]
fn a_mixed_pipeline_answers_in_order() {
    let server = RunningServer::memory();
    let mut con = server.client();
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg("a")
        .arg("1")
        .cmd("GET")
        .arg("a")
        .cmd("SET")
        .arg("a")
        .arg("2")
        .cmd("GET")
        .arg("a")
        .cmd("DEL")
        .arg("a")
        .arg("a")
        .cmd("GET")
        .arg("a")
        .cmd("MSET")
        .arg("a")
        .arg("x")
        .arg("b")
        .arg("y")
        .arg("a")
        .arg("z")
        .cmd("MGET")
        .arg("a")
        .arg("b")
        .arg("c")
        .cmd("INCR")
        .arg("n")
        .cmd("GET")
        .arg("n")
        .cmd("SET")
        .arg("n")
        .arg("5")
        .cmd("INCR")
        .arg("n")
        .cmd("UNLINK")
        .arg("a")
        .arg("b")
        .arg("c")
        .cmd("EXISTS")
        .arg("a")
        .arg("b")
        .cmd("get")
        .arg("n");
    let replies: Vec<Value> = pipe.query(&mut con).expect("pipeline");
    assert_eq!(
        replies,
        [
            Value::Okay,
            value("1"),
            Value::Okay,
            value("2"),
            Value::Int(1),
            Value::Nil,
            Value::Okay,
            Value::Array(vec![value("z"), value("y"), Value::Nil]),
            Value::Int(1),
            value("1"),
            Value::Okay,
            Value::Int(6),
            Value::Int(2),
            Value::Int(0),
            value("6"),
        ]
    );
}

#[test]
fn a_refused_value_fails_only_its_own_command() {
    let limits = Limits {
        sizes: SizeLimits {
            max_key_bytes: 64,
            max_value_bytes: 16,
        },
        ..Limits::default()
    };
    let server = RunningServer::start(
        Source::bytes("memory", builtin::MEMORY),
        SystemClock::shared(),
        limits,
        ServerConfig::default(),
    );
    // Raw bytes, so every reply is seen (a client library turns a pipeline holding an
    // error reply into one error).
    let big = "x".repeat(17);
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    let request = format!(
        "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$5\r\nsmall\r\n\
         *3\r\n$3\r\nSET\r\n$1\r\nb\r\n$17\r\n{big}\r\n\
         *3\r\n$3\r\nSET\r\n$1\r\nc\r\n$4\r\nfine\r\n\
         *5\r\n$4\r\nMSET\r\n$1\r\nd\r\n$2\r\nok\r\n$1\r\ne\r\n$17\r\n{big}\r\n\
         *6\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !answer.ends_with(b"$-1\r\n") || answer.iter().filter(|&&b| b == b'\n').count() < 11 {
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..n]);
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let lines: Vec<&str> = answer.split("\r\n").collect();
    assert_eq!(lines[0], "+OK", "{answer}");
    assert!(
        lines[1].starts_with("-") && lines[1].contains("exceeds the limit of 16"),
        "{answer}"
    );
    assert_eq!(lines[2], "+OK", "{answer}");
    assert!(
        lines[3].starts_with("-") && lines[3].contains("exceeds the limit of 16"),
        "{answer}"
    );
    assert_eq!(
        &lines[4..],
        [
            "*5", "$5", "small", "$-1", "$4", "fine", "$2", "ok", "$-1", ""
        ],
        "the refused writes stored nothing; the rest of MSET did: {answer}"
    );
}

#[test]
fn an_over_long_key_fails_only_its_own_command_in_a_batch() {
    let server = RunningServer::memory();
    let mut con = server.client();
    let () = redis::cmd("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query(&mut con)
        .expect("mset");
    let long = "k".repeat(2000);
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    let request = format!(
        "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$2000\r\n{long}\r\n\
         *2\r\n$3\r\nGET\r\n$1\r\nb\r\n*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$2000\r\n{long}\r\n\
         *2\r\n$3\r\nGET\r\n$1\r\nb\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while answer.iter().filter(|&&b| b == b'\n').count() < 7 {
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..n]);
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let lines: Vec<&str> = answer.split("\r\n").collect();
    assert_eq!(&lines[..2], ["$1", "1"], "{answer}");
    assert!(
        lines[2].starts_with('-') && lines[2].contains("key of 2000 bytes"),
        "{answer}"
    );
    assert_eq!(
        &lines[3..5],
        ["$1", "2"],
        "the batch's other keys answered: {answer}"
    );
    assert!(
        lines[5].starts_with('-'),
        "DEL with an over-long key fails: {answer}"
    );
    assert_eq!(&lines[6..8], ["$1", "2"], "{answer}");
}
