//! The near cache over a real Redis: standalone and a 3-master cluster, started by the
//! tests on loopback ports. Two "application nodes" are two `Tier`s, each with its own
//! near cache, over the same upstream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmcache::tier::{Tier, TierConfig, Tiered, WhenDown};
use wasmcache::{Backend, Expiry, MemoryBackend, SystemClock};
use wasmcache_tests::RunningServer;
use wasmcache_tests::redis_servers::{RedisCluster, RedisServer};

/// How long another node may take to see a write (the invalidation's trip), with room
/// for a busy machine.
const BOUND: Duration = Duration::from_secs(2);

struct Node {
    tier: Arc<Tier>,
    near: Arc<MemoryBackend>,
    cache: Tiered,
}

fn node(config: TierConfig) -> Node {
    let tier = Tier::connect(config).expect("connects");
    let near = Arc::new(MemoryBackend::new(SystemClock::shared()));
    let cache = tier.near_cache(near.clone());
    let deadline = Instant::now() + BOUND * 5;
    while !tier.is_tracking() {
        assert!(
            Instant::now() < deadline,
            "invalidation tracking never came up"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Node { tier, near, cache }
}

/// Waits until `check` holds (at most `BOUND`); how long it took.
fn within(what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < BOUND, "{what}: not within {BOUND:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    start.elapsed()
}

#[test]
fn two_nodes_over_one_redis_see_each_others_writes_and_removals() {
    let redis = RedisServer::start();
    let (a, b) = (
        node(TierConfig::new(redis.url())),
        node(TierConfig::new(redis.url())),
    );

    a.cache
        .put(b"user:1", b"ada", None)
        .expect("write through a");
    assert_eq!(
        b.cache.get(b"user:1").expect("read"),
        Some(b"ada".to_vec()),
        "b fills from redis"
    );
    // A fill is not kept while the invalidation of a's own write may still be on its way
    // (the ticket sees it land); a read after it has arrived is kept near.
    within("b keeps the value near after a read", || {
        b.cache.get(b"user:1").expect("read");
        b.near.get(b"user:1").expect("near") == Some(b"ada".to_vec())
    });
    assert_eq!(b.cache.get(b"user:1").expect("read"), Some(b"ada".to_vec()));

    a.cache
        .put(b"user:1", b"grace", None)
        .expect("overwrite through a");
    within("b sees a's overwrite", || {
        b.cache.get(b"user:1").expect("read") == Some(b"grace".to_vec())
    });

    // A write by any Redis client is seen too.
    let () = redis::cmd("SET")
        .arg("user:1")
        .arg("linus")
        .query(&mut redis.client())
        .expect("set");
    within("a and b see a third client's write", || {
        a.cache.get(b"user:1").expect("read") == Some(b"linus".to_vec())
            && b.cache.get(b"user:1").expect("read") == Some(b"linus".to_vec())
    });

    assert!(b.cache.remove(b"user:1").expect("remove through b"));
    within("a sees b's removal", || {
        a.cache.get(b"user:1").expect("read").is_none()
    });
    assert_eq!(a.near.get(b"user:1").expect("near"), None);
    assert!(!b.cache.remove(b"user:1").expect("already gone"));
    assert!(
        b.tier
            .counters()
            .iter()
            .any(|(name, n)| name == "tier_invalidations" && *n > 0)
    );
}

#[test]
fn expiry_set_through_one_node_is_honoured_by_the_other() {
    let redis = RedisServer::start();
    expiry_is_shared(TierConfig::new(redis.url()));
}

#[test]
fn expiry_is_honoured_across_nodes_over_a_cluster() {
    let cluster = RedisCluster::start(3);
    expiry_is_shared(TierConfig {
        cluster: true,
        ..TierConfig::new(cluster.url())
    });
}

/// Two nodes over the upstream `config` names agree on every entry's expiry.
fn expiry_is_shared(config: TierConfig) {
    let (a, b) = (node(config.clone()), node(config));
    a.cache
        .put(b"session", b"token", Some(600))
        .expect("write with ttl");
    assert_eq!(
        b.cache.get(b"session").expect("read"),
        Some(b"token".to_vec())
    );
    match b.cache.ttl(b"session").expect("ttl") {
        Some(Expiry::InMs(ms)) => assert!(ms <= 600, "{ms}"),
        other => panic!("expected a ttl, got {other:?}"),
    }
    // The near copy expires with the upstream one, not later.
    within("the entry expires on both nodes", || {
        b.cache.get(b"session").expect("read").is_none()
            && b.near.get(b"session").expect("near").is_none()
    });

    a.cache.put(b"k", b"v", None).expect("write");
    assert_eq!(b.cache.ttl(b"k").expect("ttl"), Some(Expiry::Persistent));
    assert!(
        b.cache
            .set_ttl(b"k", Some(50_000))
            .expect("expire through b")
    );
    let ttl = a.cache.ttl(b"k").expect("ttl");
    assert!(
        matches!(ttl, Some(Expiry::InMs(ms)) if ms <= 50_000 && ms > 40_000),
        "{ttl:?}"
    );
    assert!(a.cache.set_ttl(b"k", None).expect("persist through a"));
    assert_eq!(b.cache.ttl(b"k").expect("ttl"), Some(Expiry::Persistent));
    a.cache
        .put(b"gone", b"v", Some(0))
        .expect("a ttl of 0 removes");
    assert_eq!(b.cache.get(b"gone").expect("read"), None);
}

#[test]
fn a_dropped_tracking_connection_flushes_the_near_cache_and_recovers() {
    let redis = RedisServer::start();
    let a = node(TierConfig::new(redis.url()));
    for i in 0..20 {
        a.cache
            .put(format!("k{i}").as_bytes(), b"v", None)
            .expect("write");
        a.cache.get(format!("k{i}").as_bytes()).expect("read");
    }
    within("the near cache holds entries", || {
        a.near.size().expect("size") > 0
    });
    // Kill every connection that tracks keys (flag `t`): invalidations may be lost now.
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut redis.client())
        .expect("list");
    let tracking: Vec<&str> = clients
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .any(|f| f.starts_with("flags=") && f.contains('t'))
        })
        .filter_map(|line| line.split_whitespace().next()?.strip_prefix("id="))
        .collect();
    assert!(
        !tracking.is_empty(),
        "no tracking connection in:\n{clients}"
    );
    for id in tracking {
        let _: redis::RedisResult<()> = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("ID")
            .arg(id)
            .query(&mut redis.client());
    }
    within("the near cache is flushed", || {
        a.near.size().expect("size") == 0
    });
    within("tracking comes back", || a.tier.is_tracking());
    assert_eq!(
        a.cache.get(b"k3").expect("read"),
        Some(b"v".to_vec()),
        "reads go upstream meanwhile"
    );
}

#[test]
fn an_unreachable_upstream_gives_errors_or_near_answers_as_configured_and_recovers() {
    let mut redis = RedisServer::start();
    let config = |when_down| TierConfig {
        timeout: Duration::from_millis(200),
        when_down,
        ..TierConfig::new(redis.url())
    };
    let (strict, lenient) = (
        node(config(WhenDown::Fail)),
        node(config(WhenDown::ServeNear)),
    );
    strict.cache.put(b"a", b"1", None).expect("write");
    assert_eq!(lenient.cache.get(b"a").expect("read"), Some(b"1".to_vec()));
    redis.kill();
    let error = strict.cache.get(b"missing").expect_err("no upstream");
    assert!(error.to_string().contains("shared tier"), "{error}");
    assert_eq!(lenient.cache.get(b"missing").expect("a miss"), None);
    assert!(
        strict.cache.put(b"b", b"2", None).is_err(),
        "a write the upstream did not take fails"
    );
    // Never a wrong value: what is answered is what was written.
    for node in [&strict, &lenient] {
        if let Ok(Some(value)) = node.cache.get(b"a") {
            assert_eq!(value, b"1");
        }
    }
    redis.restart();
    within("the tier recovers without a restart", || {
        strict.cache.put(b"b", b"2", None).is_ok() && strict.tier.is_tracking()
    });
    assert_eq!(lenient.cache.get(b"b").expect("read"), Some(b"2".to_vec()));
}

#[test]
fn two_nodes_over_a_three_master_cluster() {
    let cluster = RedisCluster::start(3);
    let config = || TierConfig {
        cluster: true,
        ..TierConfig::new(cluster.url())
    };
    let (a, b) = (node(config()), node(config()));
    for i in 0..300 {
        let key = format!("item:{i}");
        a.cache
            .put(key.as_bytes(), key.as_bytes(), None)
            .expect("write");
    }
    for (index, master) in cluster.nodes.iter().enumerate() {
        let keys: u64 = redis::cmd("DBSIZE")
            .query(&mut master.client())
            .expect("dbsize");
        assert!(keys > 30, "master {index} holds {keys} of 300 keys");
    }
    assert_eq!(a.cache.size().expect("size"), 300);
    for i in 0..300 {
        let key = format!("item:{i}");
        assert_eq!(
            b.cache.get(key.as_bytes()).expect("read"),
            Some(key.clone().into_bytes())
        );
    }
    for i in (0..300).step_by(7) {
        let key = format!("item:{i}");
        a.cache
            .put(key.as_bytes(), b"changed", None)
            .expect("overwrite");
    }
    within("b sees every overwrite on every master", || {
        (0..300).step_by(7).all(|i| {
            b.cache.get(format!("item:{i}").as_bytes()).expect("read") == Some(b"changed".to_vec())
        })
    });
    assert!(b.cache.remove(b"item:1").expect("remove"));
    within("a sees the removal", || {
        a.cache.get(b"item:1").expect("read").is_none()
    });
}

#[test]
fn two_servers_over_one_redis_serve_one_keyspace() {
    let redis = RedisServer::start();
    let (a, b) = (
        node(TierConfig::new(redis.url())),
        node(TierConfig::new(redis.url())),
    );
    let (server_a, server_b) = (
        RunningServer::over(a.tier.clone()),
        RunningServer::over(b.tier.clone()),
    );
    let (mut con_a, mut con_b) = (server_a.client(), server_b.client());
    let () = redis::cmd("SET")
        .arg("shared")
        .arg("1")
        .arg("EX")
        .arg(100)
        .query(&mut con_a)
        .expect("set");
    let value: Option<String> = redis::cmd("GET")
        .arg("shared")
        .query(&mut con_b)
        .expect("get");
    assert_eq!(value.as_deref(), Some("1"));
    let ttl: i64 = redis::cmd("TTL")
        .arg("shared")
        .query(&mut con_b)
        .expect("ttl");
    assert!((99..=100).contains(&ttl), "{ttl}");
    let () = redis::cmd("SET")
        .arg("shared")
        .arg("2")
        .query(&mut con_b)
        .expect("set");
    within("server a sees server b's write", || {
        redis::cmd("GET")
            .arg("shared")
            .query::<Option<String>>(&mut con_a)
            .expect("get")
            .as_deref()
            == Some("2")
    });
    let n: i64 = redis::cmd("INCR")
        .arg("counter")
        .query(&mut con_a)
        .expect("incr");
    let m: i64 = redis::cmd("INCR")
        .arg("counter")
        .query(&mut con_b)
        .expect("incr");
    assert_eq!((n, m), (1, 2), "read-modify-writes meet in the shared tier");
    let direct: Option<String> = redis::cmd("GET")
        .arg("counter")
        .query(&mut redis.client())
        .expect("get");
    assert_eq!(
        direct.as_deref(),
        Some("2"),
        "the shared tier holds the truth"
    );
    let size: i64 = redis::cmd("DBSIZE").query(&mut con_b).expect("dbsize");
    assert_eq!(size, 2);
    let info: String = redis::cmd("INFO").query(&mut con_a).expect("info");
    assert!(
        info.contains("tier_fills=") && info.contains("tier_near_hits="),
        "{info}"
    );
}

#[test]
fn killing_a_master_mid_load_never_yields_a_wrong_value_and_the_tier_recovers() {
    let mut cluster = RedisCluster::start(3);
    let config = |when_down| TierConfig {
        cluster: true,
        timeout: Duration::from_millis(300),
        when_down,
        ..TierConfig::new(cluster.url())
    };
    let (writer, reader) = (
        node(config(WhenDown::Fail)),
        node(config(WhenDown::ServeNear)),
    );
    const KEYS: u64 = 60;
    // The highest version written (attempted: a timed-out write may still have landed)
    // for each key; values are `key:version`.
    let mut written = vec![0u64; KEYS as usize];
    let check = |written: &[u64]| {
        for k in 0..KEYS {
            let key = format!("key{k}");
            // A miss or an error while the master is down is allowed; a value must be one
            // that was written to this key.
            if let Ok(Some(value)) = reader.cache.get(key.as_bytes()) {
                let value = String::from_utf8(value).expect("utf-8");
                let (name, version) = value.split_once(':').expect("key:version");
                let version: u64 = version.parse().expect("a version");
                assert_eq!(name, key, "another key's value");
                assert!(
                    version <= written[k as usize],
                    "a value never written: {value}"
                );
            }
        }
    };
    let write_round = |written: &mut [u64], round: u64| -> u64 {
        let mut failures = 0;
        for k in 0..KEYS {
            let key = format!("key{k}");
            written[k as usize] = round;
            let value = format!("{key}:{round}");
            if writer
                .cache
                .put(key.as_bytes(), value.as_bytes(), None)
                .is_err()
            {
                failures += 1;
            }
        }
        failures
    };
    assert_eq!(write_round(&mut written, 1), 0);
    check(&written);
    // The node both tiers were given as their seed: the rest are found without it.
    cluster.nodes[0].kill();
    let mut failed = 0;
    for round in 2..6 {
        failed += write_round(&mut written, round);
        check(&written);
    }
    assert!(
        failed > 0,
        "writes to the dead master's slots must fail, not vanish"
    );
    cluster.nodes[0].restart();
    cluster.wait_ok();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 100;
    while write_round(&mut written, round) > 0 {
        assert!(Instant::now() < deadline, "the tier never recovered");
        std::thread::sleep(Duration::from_millis(100));
        round += 1;
    }
    within("tracking comes back on every master", || {
        reader.tier.is_tracking()
    });
    within("the reader sees the latest writes", || {
        (0..KEYS).all(|k| {
            reader
                .cache
                .get(format!("key{k}").as_bytes())
                .ok()
                .flatten()
                == Some(format!("key{k}:{round}").into_bytes())
        })
    });
}

#[test]
fn typed_caches_on_two_nodes_share_their_upstream() {
    let redis = RedisServer::start();
    let cache = |tier| -> wasmcache::cache::Cache<u64, String> {
        wasmcache::cache::Cache::builder("users")
            .upstream(tier)
            .build_with_backend(Arc::new(MemoryBackend::new(SystemClock::shared())))
    };
    let a = cache(node(TierConfig::new(redis.url())).tier);
    let b = cache(node(TierConfig::new(redis.url())).tier);
    a.insert(&7, &"ada".to_string()).expect("insert");
    let keys: u64 = redis::cmd("DBSIZE")
        .query(&mut redis.client())
        .expect("dbsize");
    assert_eq!(keys, 1, "the entry is in redis");
    assert_eq!(b.get(&7).expect("get").as_deref(), Some("ada"));
    a.insert(&7, &"grace".to_string()).expect("insert");
    within("the other node's cache sees the overwrite", || {
        b.get(&7).expect("get").as_deref() == Some("grace")
    });
}

#[test]
fn a_server_over_the_tier_answers_a_large_cold_mget_and_reports_a_dead_upstream() {
    let mut redis = RedisServer::start();
    let a = node(TierConfig {
        timeout: Duration::from_millis(300),
        ..TierConfig::new(redis.url())
    });
    let server = RunningServer::over(a.tier.clone());
    let mut con = server.client();
    // 500 keys none of which is near: 500 round trips from one server worker's task.
    let mut direct = redis.client();
    for i in 0..500 {
        let () = redis::cmd("SET")
            .arg(format!("cold:{i}"))
            .arg(i)
            .query(&mut direct)
            .expect("set");
    }
    let keys: Vec<String> = (0..500).map(|i| format!("cold:{i}")).collect();
    let values: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut con).expect("mget");
    assert_eq!(values.len(), 500);
    assert!(
        values
            .iter()
            .enumerate()
            .all(|(i, v)| v.as_deref() == Some(i.to_string().as_str()))
    );
    let again: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut con).expect("mget");
    assert_eq!(values, again, "now near");

    redis.kill();
    let error = redis::cmd("GET")
        .arg("not-near")
        .query::<Option<String>>(&mut con)
        .expect_err("--when-upstream-down fail answers an error, not a miss");
    assert!(error.to_string().contains("shared tier"), "{error}");
}
