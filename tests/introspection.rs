//! What `wasmcache serve` says about itself and its clients: `COMMAND` (COUNT, LIST, INFO,
//! DOCS) with Redis's reply shapes, `CLIENT LIST`/`INFO`, and `LCS`.

use redis::Value;
use wasmcache_tests::RunningServer;

fn query(con: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<Value> {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(con)
}

fn text(value: &Value) -> String {
    match value {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".to_string(),
        other => panic!("not a string: {other:?}"),
    }
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn items(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) => items,
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn command_describes_every_command_as_redis_does() {
    let server = RunningServer::memory();
    let mut con = server.client();
    let count = int(&query(&mut con, &["COMMAND", "COUNT"]).unwrap());
    let list = query(&mut con, &["COMMAND", "LIST"]).unwrap();
    let names: Vec<String> = items(&list).iter().map(text).collect();
    assert_eq!(names.len() as i64, count);
    for expected in ["get", "set", "lcs", "client", "exec", "copy", "setbit"] {
        assert!(
            names.contains(&expected.to_string()),
            "no {expected} in {names:?}"
        );
    }
    // Every listed command is one the server answers: none is an unknown command.
    for name in names
        .iter()
        .filter(|n| !matches!(n.as_str(), "quit" | "multi"))
    {
        if let Err(error) = query(&mut con, &[name]) {
            assert!(
                !error.to_string().contains("unknown command"),
                "{name}: {error}"
            );
        }
    }

    let info = query(&mut con, &["COMMAND", "INFO", "get", "MSET", "nosuch"]).unwrap();
    let [get, mset, nosuch] = items(&info) else {
        panic!("three entries: {info:?}")
    };
    let get = items(get);
    assert_eq!(
        get.len(),
        10,
        "name, arity, flags, keys (3), categories, tips, specs, subcommands"
    );
    assert_eq!(text(&get[0]), "get");
    assert_eq!(int(&get[1]), 2);
    let flags: Vec<String> = items(&get[2]).iter().map(text).collect();
    assert_eq!(flags, ["readonly", "fast"]);
    assert_eq!((int(&get[3]), int(&get[4]), int(&get[5])), (1, 1, 1));
    let mset = items(mset);
    assert_eq!(
        (int(&mset[1]), int(&mset[3]), int(&mset[4]), int(&mset[5])),
        (-3, 1, -1, 2)
    );
    assert_eq!(*nosuch, Value::Nil);
    assert_eq!(
        items(&query(&mut con, &["COMMAND"]).unwrap()).len() as i64,
        count
    );

    let docs = query(&mut con, &["COMMAND", "DOCS", "ttl"]).unwrap();
    let docs = items(&docs);
    assert_eq!(text(&docs[0]), "ttl");
    let fields: Vec<String> = items(&docs[1]).iter().map(text).collect();
    assert_eq!(fields[0], "summary");
    assert!(fields.contains(&"group".to_string()) && fields.contains(&"generic".to_string()));

    // The table's arity holds before a command runs, and inside MULTI it fails the EXEC.
    let error = query(&mut con, &["TTL", "a", "b"]).unwrap_err().to_string();
    assert!(
        error.contains("wrong number of arguments for 'ttl'"),
        "{error}"
    );
    assert_eq!(text(&query(&mut con, &["MULTI"]).unwrap()), "OK");
    assert!(query(&mut con, &["SET", "k"]).is_err());
    let exec = query(&mut con, &["EXEC"]).unwrap_err().to_string();
    assert!(exec.contains("Transaction discarded"), "{exec}");
    assert_eq!(query(&mut con, &["GET", "k"]).unwrap(), Value::Nil);
}

#[test]
fn client_list_shows_every_open_connection_until_it_closes() {
    let server = RunningServer::memory();
    let mut me = server.client();
    let mut other = server.client();
    query(&mut other, &["CLIENT", "SETNAME", "worker-7"]).unwrap();
    query(&mut other, &["GET", "x"]).unwrap();
    let my_id = int(&query(&mut me, &["CLIENT", "ID"]).unwrap());
    let other_id = int(&query(&mut other, &["CLIENT", "ID"]).unwrap());
    query(&mut other, &["SET", "x", "1"]).unwrap();

    let list = text(&query(&mut me, &["CLIENT", "LIST"]).unwrap());
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let mine = lines
        .iter()
        .find(|l| l.starts_with(&format!("id={my_id} ")))
        .expect("mine");
    let theirs = lines
        .iter()
        .find(|l| l.starts_with(&format!("id={other_id} ")))
        .expect("theirs");
    for field in [
        "addr=127.0.0.1:",
        "laddr=127.0.0.1:",
        "db=0",
        "flags=N",
        "user=default",
        "resp=2",
    ] {
        assert!(
            mine.contains(field) && theirs.contains(field),
            "{field} in\n{list}"
        );
    }
    assert!(mine.contains(" cmd=client|list "), "{mine}");
    assert!(
        theirs.contains(" name=worker-7 ") && theirs.contains(" cmd=set "),
        "{theirs}"
    );

    let only = text(&query(&mut me, &["CLIENT", "LIST", "ID", &other_id.to_string()]).unwrap());
    assert_eq!(only.lines().count(), 1);
    assert!(only.starts_with(&format!("id={other_id} ")));
    assert_eq!(
        text(&query(&mut me, &["CLIENT", "LIST", "TYPE", "pubsub"]).unwrap()),
        ""
    );
    assert!(query(&mut me, &["CLIENT", "LIST", "ID", "zero"]).is_err());

    let forged = query(&mut me, &["HELLO", "2", "SETNAME", "a\nid=0 addr=forged"]).unwrap_err();
    assert!(
        forged.to_string().contains("cannot contain spaces"),
        "{forged}"
    );
    let info = text(&query(&mut me, &["CLIENT", "INFO"]).unwrap());
    assert!(
        info.starts_with(&format!("id={my_id} ")) && info.contains("cmd=client|info"),
        "{info}"
    );

    drop(other);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let list = text(&query(&mut me, &["CLIENT", "LIST"]).unwrap());
        if list.lines().count() == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a closed connection is still listed:\n{list}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn lcs_answers_the_subsequence_its_length_and_its_runs() {
    let server = RunningServer::memory();
    let mut con = server.client();
    query(&mut con, &["SET", "a", "ohmytext"]).unwrap();
    query(&mut con, &["SET", "b", "mynewtext"]).unwrap();
    assert_eq!(
        text(&query(&mut con, &["LCS", "a", "b"]).unwrap()),
        "mytext"
    );
    assert_eq!(int(&query(&mut con, &["LCS", "a", "b", "LEN"]).unwrap()), 6);
    assert_eq!(
        text(&query(&mut con, &["LCS", "a", "missing"]).unwrap()),
        ""
    );
    let idx = query(&mut con, &["LCS", "a", "b", "IDX", "WITHMATCHLEN"]).unwrap();
    let idx = items(&idx);
    assert_eq!(text(&idx[0]), "matches");
    let runs: Vec<Vec<i64>> = items(&idx[1])
        .iter()
        .map(|run| {
            let run = items(run);
            let mut flat: Vec<i64> = run[..2]
                .iter()
                .flat_map(|r| items(r).iter().map(int))
                .collect();
            flat.push(int(&run[2]));
            flat
        })
        .collect();
    assert_eq!(runs, [vec![4, 7, 5, 8, 4], vec![2, 3, 0, 1, 2]]);
    assert_eq!((text(&idx[2]).as_str(), int(&idx[3])), ("len", 6));
    let long = query(&mut con, &["LCS", "a", "b", "IDX", "MINMATCHLEN", "3"]).unwrap();
    assert_eq!(items(&items(&long)[1]).len(), 1);
    let both = query(&mut con, &["LCS", "a", "b", "LEN", "IDX"])
        .unwrap_err()
        .to_string();
    assert!(both.contains("just use IDX"), "{both}");
}

/// The `field:value` lines of an INFO reply.
fn fields(info: &str) -> std::collections::HashMap<String, String> {
    info.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn config_resetstat_starts_the_stats_again() {
    let server = RunningServer::memory();
    let mut con = server.client();
    query(&mut con, &["SET", "a", "1"]).unwrap();
    query(&mut con, &["GET", "a"]).unwrap();
    query(&mut con, &["GET", "nope"]).unwrap();
    let before = fields(&text(&query(&mut con, &["INFO", "stats"]).unwrap()));
    assert_eq!(before["keyspace_hits"], "1");
    assert_eq!(
        text(&query(&mut con, &["CONFIG", "RESETSTAT"]).unwrap()),
        "OK"
    );
    let stats = fields(&text(&query(&mut con, &["INFO", "stats"]).unwrap()));
    assert_eq!(stats["keyspace_hits"], "0");
    assert_eq!(stats["keyspace_misses"], "0");
    let commands = text(&query(&mut con, &["INFO", "commandstats"]).unwrap());
    assert!(!commands.contains("cmdstat_get:"), "{commands}");
    assert!(
        commands.contains("cmdstat_info:calls=1,"),
        "only INFO since: {commands}"
    );
    assert_eq!(
        query(&mut con, &["GET", "a"]).unwrap(),
        Value::BulkString(b"1".to_vec()),
        "the data is untouched"
    );
}

#[test]
fn info_answers_the_sections_asked_with_the_counts_of_a_known_workload() {
    let server = RunningServer::memory();
    let mut con = server.client();
    query(&mut con, &["SET", "a", "1"]).unwrap();
    query(&mut con, &["SET", "b", "2"]).unwrap();
    let mut pipe = redis::pipe();
    pipe.cmd("GET")
        .arg("a")
        .cmd("GET")
        .arg("missing")
        .cmd("MGET")
        .arg("a")
        .arg("b")
        .arg("nope");
    let _: Vec<Value> = pipe.query(&mut con).unwrap();
    query(&mut con, &["GET", "b"]).unwrap();
    assert!(query(&mut con, &["GET"]).is_err(), "a refused call");

    let all = text(&query(&mut con, &["INFO", "all"]).unwrap());
    let f = fields(&all);
    assert_eq!(f["keyspace_hits"], "4", "a, a, b, b:\n{all}");
    assert_eq!(f["keyspace_misses"], "2", "missing, nope");
    assert_eq!(f["redis_version"], "7.0.0");
    assert_eq!(f["role"], "master");
    assert_eq!(f["db0"], "keys=2,expires=0,avg_ttl=0");
    assert!(f["tcp_port"].parse::<u16>().unwrap() > 0);
    assert!(
        f.contains_key("used_memory")
            && f.contains_key("used_cpu_user")
            && f.contains_key("guest_memory")
    );
    assert!(
        f["cmdstat_get"].starts_with("calls=3,"),
        "{}",
        f["cmdstat_get"]
    );
    assert!(
        f["cmdstat_get"].contains("rejected_calls=1,"),
        "{}",
        f["cmdstat_get"]
    );
    assert!(f["cmdstat_set"].starts_with("calls=2,"));
    assert!(f["cmdstat_mget"].starts_with("calls=1,"));
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Commandstats",
        "# Keyspace",
        "# Wasmcache",
    ] {
        assert_eq!(
            all.matches(section).count(),
            1,
            "{section} once in INFO all"
        );
    }

    let default = text(&query(&mut con, &["INFO"]).unwrap());
    assert!(!default.contains("# Commandstats") && default.contains("# Keyspace"));
    let cpu = text(&query(&mut con, &["INFO", "CPU"]).unwrap());
    assert!(
        cpu.starts_with("# CPU") && !cpu.contains("used_memory"),
        "{cpu}"
    );
    let two = text(&query(&mut con, &["INFO", "clients", "keyspace"]).unwrap());
    assert!(
        two.contains("connected_clients:1") && two.contains("db0:keys=2"),
        "{two}"
    );
    assert_eq!(text(&query(&mut con, &["INFO", "nosuch"]).unwrap()), "");
}

#[test]
fn slowlog_and_latency_histograms_answer_in_redis_shapes() {
    let server = RunningServer::memory();
    let mut con = server.client();
    let mut other = server.client();
    query(&mut other, &["CLIENT", "SETNAME", "slowpoke"]).unwrap();
    assert_eq!(
        int(&query(&mut con, &["SLOWLOG", "LEN"]).unwrap()),
        0,
        "10 ms by default"
    );
    query(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).unwrap();
    let config = query(&mut con, &["CONFIG", "GET", "slowlog*"]).unwrap();
    let config: Vec<String> = items(&config).iter().map(text).collect();
    assert_eq!(
        config,
        ["slowlog-log-slower-than", "0", "slowlog-max-len", "128"]
    );
    query(&mut other, &["SET", "slow-key", "v"]).unwrap();
    query(&mut other, &["GET", "slow-key"]).unwrap();

    let log = query(&mut con, &["SLOWLOG", "GET", "2"]).unwrap();
    let [newest, older] = items(&log) else {
        panic!("two entries: {log:?}")
    };
    let newest = items(newest);
    assert_eq!(newest.len(), 6, "id, time, micros, args, addr, name");
    assert!(int(&newest[0]) > int(&items(older)[0]), "newest first");
    assert!(int(&newest[1]) > 1_700_000_000, "a Unix time");
    let args: Vec<String> = items(&newest[3]).iter().map(text).collect();
    assert_eq!(args, ["GET", "slow-key"]);
    assert!(text(&newest[4]).starts_with("127.0.0.1:"));
    assert_eq!(text(&newest[5]), "slowpoke");
    let set_args: Vec<String> = items(&items(older)[3]).iter().map(text).collect();
    assert_eq!(set_args, ["SET", "slow-key", "v"]);

    query(&mut con, &["CONFIG", "SET", "slowlog-max-len", "1"]).unwrap();
    assert_eq!(int(&query(&mut con, &["SLOWLOG", "LEN"]).unwrap()), 1);
    query(
        &mut con,
        &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
    )
    .unwrap();
    query(&mut con, &["SLOWLOG", "RESET"]).unwrap();
    query(&mut other, &["GET", "slow-key"]).unwrap();
    assert_eq!(
        int(&query(&mut con, &["SLOWLOG", "LEN"]).unwrap()),
        0,
        "-1 logs nothing"
    );
    let refused = query(&mut con, &["CONFIG", "SET", "maxmemory", "1"]).unwrap_err();
    assert!(refused.to_string().contains("serve` flags"), "{refused}");

    let histogram = query(&mut con, &["LATENCY", "HISTOGRAM", "get", "set"]).unwrap();
    let histogram = items(&histogram);
    assert_eq!(histogram.len(), 4, "two commands: {histogram:?}");
    let get_at = if text(&histogram[0]) == "get" { 1 } else { 3 };
    let get = items(&histogram[get_at]);
    assert_eq!((text(&get[0]).as_str(), int(&get[1])), ("calls", 2));
    assert_eq!(text(&get[2]), "histogram_usec");
    let buckets = items(&get[3]);
    assert_eq!(
        int(&buckets[buckets.len() - 1]),
        2,
        "cumulative: every call by the last bucket"
    );
    assert_eq!(
        items(&query(&mut con, &["LATENCY", "LATEST"]).unwrap()).len(),
        0
    );
}
