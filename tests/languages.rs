//! The guest examples in other languages, each built from source with its own build
//! command, held to the whole conformance suite and driven through the cache layer.
//!
//! Their toolchains live under `target/toolchains` (`guest-examples/setup-toolchains.sh`);
//! a missing one fails these tests with the command that installs it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmcache::cache::Cache;
use wasmcache::{BackendComponent, Engine, EngineConfig, InitOptions, ManualClock, conformance};

/// One engine with a compile cache, so the large Python and JavaScript components are
/// compiled by Cranelift once, not on every run.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-compile-cache");
        Engine::new(EngineConfig {
            compile_cache: Some(cache),
            ..EngineConfig::default()
        })
        .expect("engine")
    })
}

fn example(lang: &str, name: &str) -> BackendComponent {
    let builds = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("guest-builds");
    let bytes = wasmcache_tests::build_example(lang, name, &builds);
    BackendComponent::from_bytes(engine(), &format!("{lang}/{name}"), &bytes)
        .unwrap_or_else(|e| panic!("{lang}/{name} loads: {e}"))
}

fn options(pairs: &[(&str, &str)]) -> InitOptions {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn conforms(component: &BackendComponent, pairs: &[(&str, &str)]) {
    let report = conformance::run(component, &options(pairs));
    assert_eq!(
        report.failed(),
        0,
        "{} with {pairs:?}:\n{report}",
        component.info().name
    );
    assert_eq!(report.passed(), conformance::cases().len());
}

/// The differential check against the native reference (`check --differential 2000`,
/// fixed seed); `exact` for a configuration with room for every key the sequences use.
fn agrees(component: &BackendComponent, pairs: &[(&str, &str)], exact: bool) {
    use wasmcache::conformance::differential::{self, Config};
    let config = Config {
        sequences: 2000,
        seed: 11,
        exact,
        ..Config::default()
    };
    let outcome = differential::run(component, &options(pairs), &config);
    assert!(
        outcome.divergence.is_none(),
        "{} with {pairs:?}: {outcome:#}",
        component.info().name
    );
}

/// The cache layer over the example: loads, hits, ttl, invalidation and eviction.
fn serves_a_cache(component: &BackendComponent, bound: (&str, &str)) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let clock = Arc::new(ManualClock::new());
    let cache: Cache<String, Vec<u32>> = Cache::builder("languages")
        .clock(clock.clone())
        .time_to_live(Duration::from_secs(10))
        .option(bound.0, bound.1)
        .build(component)
        .expect("the backend starts");
    runtime.block_on(async {
        for i in 0..20u32 {
            let value = cache
                .get_with(
                    &format!("k{i}"),
                    || async move { Ok::<_, String>(vec![i; 3]) },
                )
                .await;
            assert_eq!(value.expect("loaded"), vec![i; 3]);
        }
        let hit = cache
            .get_with(&"k19".to_string(), || async {
                Err::<Vec<u32>, _>("must not load".to_string())
            })
            .await;
        assert_eq!(hit.expect("a hit"), vec![19; 3]);
    });
    let stats = cache.stats();
    let backend = stats.backend.clone().expect("backend stats");
    assert_eq!((stats.loads, stats.hits), (20, 1), "{stats:?}");
    assert_eq!(backend.size, 8, "bounded to 8 entries: {backend:?}");
    assert_eq!(backend.counters.get("evictions"), Some(&12), "{backend:?}");
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        cache.get(&"k19".to_string()).expect("get"),
        None,
        "expired after the ttl"
    );
    cache
        .insert(&"fresh".to_string(), &vec![7])
        .expect("insert");
    cache.invalidate(&"fresh".to_string()).expect("invalidate");
    assert_eq!(cache.get(&"fresh".to_string()).expect("get"), None);
}

#[test]
fn python_lfu_conforms_and_serves() {
    let lfu = example("python", "lfu");
    assert!(
        lfu.info().uses_wasi(),
        "componentize-py components import WASI (linked deny-all)"
    );
    conforms(&lfu, &[]);
    conforms(&lfu, &[("max-entries", "100")]);
    agrees(&lfu, &[], true);
    agrees(&lfu, &[("max-entries", "3")], false);
    serves_a_cache(&lfu, ("max-entries", "8"));
}

#[test]
fn js_lru_conforms_and_serves() {
    let lru = example("js", "lru");
    assert!(
        !lru.info().uses_wasi(),
        "built with WASI features off: {:?}",
        lru.info().imports
    );
    conforms(&lru, &[]);
    conforms(&lru, &[("max-entries", "100")]);
    agrees(&lru, &[], true);
    agrees(&lru, &[("max-entries", "3")], false);
    serves_a_cache(&lru, ("max-entries", "8"));
}

#[test]
fn c_clock_conforms_and_serves() {
    let clock = example("c", "clock");
    assert!(
        !clock.info().uses_wasi(),
        "plain C with wasi-libc needs no WASI: {:?}",
        clock.info().imports
    );
    conforms(&clock, &[]);
    conforms(&clock, &[("capacity", "100")]);
    agrees(&clock, &[], true);
    agrees(&clock, &[("capacity", "3")], false);
    serves_a_cache(&clock, ("capacity", "8"));
}

/// The C example's committed bindings are what `wit-bindgen c` 0.63 makes of today's WIT.
/// After changing the WIT, regenerate them with
/// `WASMCACHE_BLESS=1 cargo test -p wasmcache-tests --test languages c_bindings`.
#[test]
fn c_bindings_match_the_contract() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository root");
    let mut resolve = wit_bindgen_core::wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(root.join("wit")).expect("the WIT parses");
    let world = resolve
        .select_world(&[package], Some("cache-backend-with-listing"))
        .expect("world");
    let mut files = wit_bindgen_core::Files::default();
    let options = wit_bindgen_c::Opts {
        no_object_file: true,
        ..Default::default()
    };
    options
        .build()
        .generate(&mut resolve, world, &mut files)
        .expect("bindings generate");
    let bindings = root.join("guest-examples/c/clock/bindings");
    let bless = std::env::var_os("WASMCACHE_BLESS").is_some();
    for (name, generated) in files.iter() {
        let path = bindings.join(name);
        if bless {
            std::fs::write(&path, generated).expect("write bindings");
            continue;
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: regenerate the C bindings with \
             `WASMCACHE_BLESS=1 cargo test -p wasmcache-tests --test languages c_bindings`",
            path.display()
        );
    }
}

#[test]
fn wat_ring_conforms_and_serves_without_any_bindings_generator() {
    let ring = example("wat", "ring");
    assert!(!ring.info().uses_wasi());
    assert!(
        ring.info().size_bytes < 16 * 1024,
        "a hand-written module stays tiny: {} bytes",
        ring.info().size_bytes
    );
    conforms(&ring, &[]);
    agrees(&ring, &[], true);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let cache: Cache<u32, String> = Cache::builder("ring").build(&ring).expect("starts");
    runtime.block_on(async {
        for i in 0..100u32 {
            let value = cache
                .get_with(&i, || async move { Ok::<_, String>(format!("v{i}")) })
                .await;
            assert_eq!(value.expect("loaded"), format!("v{i}"));
        }
    });
    let backend = cache.stats().backend.expect("backend stats");
    assert_eq!(
        (backend.size, backend.counters.get("evictions")),
        (64, Some(&36)),
        "64 slots, oldest overwritten: {backend:?}"
    );
    assert_eq!(cache.get(&99).expect("get").as_deref(), Some("v99"));
    assert_eq!(
        cache.get(&0).expect("get"),
        None,
        "the oldest was overwritten"
    );
}

/// Each example also serves Redis clients through `wasmcache serve`'s server.
#[test]
fn every_example_serves_redis_clients() {
    use redis::Commands;
    use wasmcache::reload::Source;
    use wasmcache::server::ServerConfig;
    use wasmcache::{Limits, SystemClock};

    for (lang, name) in [
        ("python", "lfu"),
        ("js", "lru"),
        ("c", "clock"),
        ("wat", "ring"),
    ] {
        let component = example(lang, name);
        let server = wasmcache_tests::RunningServer::start_on(
            engine(),
            Source::factory(component),
            SystemClock::shared(),
            Limits::default(),
            ServerConfig::default(),
        );
        let mut con = server.client();
        let _: () = con.set("greeting", "hello").expect("set");
        let _: () = redis::cmd("SET")
            .arg("short")
            .arg("s")
            .arg("PX")
            .arg(60_000)
            .query(&mut con)
            .expect("set px");
        assert_eq!(
            con.get::<_, Option<String>>("greeting")
                .expect("get")
                .as_deref(),
            Some("hello"),
            "{lang}/{name}"
        );
        assert_eq!(
            con.get::<_, Option<String>>("absent").expect("get"),
            None,
            "{lang}/{name}"
        );
        let removed: i64 = redis::cmd("DEL")
            .arg("greeting")
            .arg("absent")
            .query(&mut con)
            .expect("del");
        assert_eq!(removed, 1, "{lang}/{name}");
        assert_eq!(
            redis::cmd("DBSIZE").query::<i64>(&mut con).expect("dbsize"),
            1,
            "{lang}/{name}"
        );
        let info: String = redis::cmd("INFO").query(&mut con).expect("info");
        assert!(info.contains(&format!("component:{lang}/{name}")), "{info}");
    }
}
