//! A hostile backend's faults in the metrics: two servers in one process, each of metered
//! shards, behind one Prometheus recorder. The hostile guest (it traps on keys containing
//! `trap` and spins on keys containing `spin`, and behaves otherwise, so it passes the
//! self-check at load) shows its traps, timeouts and restarts under its own `backend`
//! label, while the well-behaved one keeps answering and shows none.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use wasmcache::reload::{BackendGroup, BackendHandle, Source};
use wasmcache::server::{ServerConfig, Shards};
use wasmcache::{ComponentLoader, Limits, builtin};
use wasmcache_tests::{RunningServer, engine, hostile};

fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("_seconds".into()),
                wasmcache::telemetry::LATENCY_BUCKETS,
            )
            .expect("buckets")
            .install_recorder()
            .expect("the only recorder in this process");
        wasmcache::telemetry::describe();
        handle
    })
}

/// A server of two metered shards of `bytes`, called `name`, publishing every 50 ms.
fn metered(name: &str, bytes: &'static [u8], limits: Limits) -> RunningServer {
    recorder();
    let loader = ComponentLoader::new(engine(), limits).expect("limits fit the engine");
    let group = BackendGroup::load(
        BackendHandle::builder().loader(loader),
        Source::bytes(name, bytes),
        2,
    )
    .expect("shards load");
    let shards = Arc::new(Shards::new(group).metered(name));
    RunningServer::serve(
        shards,
        ServerConfig {
            metrics: Some(Duration::from_millis(50)),
            ..ServerConfig::default()
        },
    )
}

/// The sum over shards of `metric{backend="<backend>"<extra>}` in the rendered metrics.
fn total(rendered: &str, metric: &str, backend: &str, extra: &str) -> f64 {
    let prefix = format!("{metric}{{backend=\"{backend}\",shard=\"");
    rendered
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter(|rest| extra.is_empty() || rest.contains(extra))
        .filter_map(|rest| rest.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Renders until `ready` holds (the publisher runs every 50 ms), at most 60 s.
fn rendered_when(ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rendered = recorder().render();
        if ready(&rendered) {
            return rendered;
        }
        assert!(Instant::now() < deadline, "never ready:\n{rendered}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn hostile_backends_faults_show_under_their_own_names() {
    let good = metered("well-behaved", builtin::MEMORY, Limits::default());
    let hostile = metered(
        "trap-on-key",
        hostile::TRAP_ON_KEY,
        Limits {
            call_timeout: Duration::from_millis(50),
            restart_backoff: Duration::ZERO,
            ..Limits::default()
        },
    );

    let mut good_client = good.client();
    let mut hostile_client = hostile.client();
    for i in 0..6 {
        let key = format!("k{i}");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("v")
            .query(&mut good_client)
            .expect("stored");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("v")
            .query(&mut hostile_client)
            .expect("stored");
        // Faults on reads are misses to the client.
        for bad in [format!("trap{i}"), format!("spin{i}")] {
            let got: Option<String> = redis::cmd("GET")
                .arg(&bad)
                .query(&mut hostile_client)
                .expect("a miss");
            assert_eq!(got, None);
        }
        // Hit or miss, depending on whether its shard restarted since the SET.
        let _: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query(&mut hostile_client)
            .expect("an answer");
        let got: Option<String> = redis::cmd("GET")
            .arg(&key)
            .query(&mut good_client)
            .expect("a hit");
        assert_eq!(
            got.as_deref(),
            Some("v"),
            "the good backend keeps answering"
        );
    }

    let faults = "wasmcache_backend_faults_total";
    let name = "trap-on-key";
    // Each server publishes on its own 50 ms rounds: wait until both have published
    // everything the workload did (the counts below only grow), then check them exactly.
    let answered = |r: &str| {
        total(r, "wasmcache_backend_hits_total", name, "")
            + total(r, "wasmcache_backend_misses_total", name, "")
    };
    let rendered = rendered_when(|r| {
        total(r, "wasmcache_backend_restarts_total", name, "") >= 12.0
            && total(r, "wasmcache_backend_hits_total", "well-behaved", "") >= 6.0
            && answered(r) >= 6.0
    });
    assert_eq!(
        total(&rendered, faults, name, "kind=\"trap\""),
        6.0,
        "{rendered}"
    );
    assert_eq!(
        total(&rendered, faults, name, "kind=\"timeout\""),
        6.0,
        "{rendered}"
    );
    assert_eq!(
        total(&rendered, faults, "well-behaved", ""),
        0.0,
        "no fault is put on the good backend:\n{rendered}"
    );
    assert_eq!(
        total(
            &rendered,
            "wasmcache_backend_hits_total",
            "well-behaved",
            ""
        ),
        6.0
    );
    // A fault on a read is a fault, never a hit or a miss.
    assert_eq!(
        answered(&rendered),
        6.0,
        "only the six plain keys were answered: {rendered}"
    );
    assert!(
        rendered.contains(
            "wasmcache_backend_info{backend=\"trap-on-key\",shard=\"0\",component=\"trap-on-key\""
        ),
        "{rendered}"
    );
}
