//! The cache layer's behaviour, run against the native backend and a wasm guest alike.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use wasmcache::cache::Cache;
use wasmcache::{
    Backend, BackendFactory, BackendStats, Error, InitOptions, Limits, ManualClock, MemoryBackend,
    MemoryBackendFactory, SharedClock, SizeLimits, builtin,
};
use wasmcache::{BreakerConfig, BreakerState};
use wasmcache_tests::{component, hostile};

type Loaded = Result<String, std::io::Error>;

/// The native backend and the `memory` guest: every behaviour test runs on both.
fn factories() -> Vec<(&'static str, Arc<dyn BackendFactory>)> {
    vec![
        ("native", Arc::new(MemoryBackendFactory::default())),
        ("wasm", Arc::new(component("memory", builtin::MEMORY))),
    ]
}

fn cache_on(factory: &dyn BackendFactory, clock: &Arc<ManualClock>) -> Cache<str, String> {
    Cache::builder("users")
        .clock(clock.clone())
        .build(factory)
        .expect("backend starts")
}

fn ok(value: &str) -> Loaded {
    Ok(value.to_string())
}

#[tokio::test]
async fn a_miss_runs_the_loader_and_a_hit_does_not() {
    for (kind, factory) in factories() {
        let cache = cache_on(&*factory, &Arc::new(ManualClock::new()));
        let value = cache.get_with("ada", || async { ok("Ada Lovelace") }).await;
        assert_eq!(value.expect("loaded"), "Ada Lovelace", "{kind}");
        // Write-through: visible to a plain get as soon as get_with returned.
        assert_eq!(
            cache.get("ada").expect("get"),
            Some("Ada Lovelace".to_string()),
            "{kind}"
        );
        let again = cache
            .get_with("ada", || async {
                panic!("{kind}: a hit must not run the loader")
            })
            .await;
        assert_eq!(
            again
                .map_err(|e: Arc<std::io::Error>| e.to_string())
                .expect("hit"),
            "Ada Lovelace"
        );
        let stats = cache.stats();
        assert_eq!(
            (stats.loads, stats.misses, stats.hits),
            (1, 1, 2),
            "{kind}: {stats:?}"
        );
    }
}

#[tokio::test]
async fn unit_and_plain_values_are_cached() {
    for (kind, factory) in factories() {
        let clock = Arc::new(ManualClock::new());
        let units: Cache<u32, ()> = Cache::builder("units")
            .clock(clock.clone())
            .build(&*factory)
            .expect("starts");
        units
            .get_with(&1, || async { Ok::<_, std::io::Error>(()) })
            .await
            .expect("loaded");
        units
            .get_with(&1, || async { panic!("{kind}: unit is cached") })
            .await
            .map_err(|_: Arc<std::io::Error>| ())
            .expect("hit");
        assert_eq!(
            units.get(&1).expect("get"),
            Some(()),
            "{kind}: a stored unit is a hit"
        );
        let numbers: Cache<(u8, bool), Vec<i64>> = Cache::builder("numbers")
            .clock(clock)
            .build(&*factory)
            .expect("starts");
        numbers
            .insert(&(1, true), &vec![-1, 0, i64::MAX])
            .expect("insert");
        assert_eq!(
            numbers.get(&(1, true)).expect("get"),
            Some(vec![-1, 0, i64::MAX]),
            "{kind}"
        );
        assert_eq!(numbers.get(&(1, false)).expect("get"), None, "{kind}");
    }
}

#[tokio::test]
async fn errors_are_returned_and_never_stored() {
    for (kind, factory) in factories() {
        let cache = cache_on(&*factory, &Arc::new(ManualClock::new()));
        let calls = AtomicUsize::new(0);
        for _ in 0..2 {
            let result = cache
                .get_with("flaky", || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err::<String, _>(std::io::Error::other("database down"))
                })
                .await;
            assert_eq!(
                result.expect_err("the error comes back").to_string(),
                "database down",
                "{kind}"
            );
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "{kind}: the loader ran again"
        );
        assert_eq!(cache.get("flaky").expect("get"), None, "{kind}");
        let stats = cache.stats();
        assert_eq!((stats.loads, stats.load_errors), (2, 2), "{kind}");
        assert_eq!(stats.backend.expect("backend stats").size, 0, "{kind}");
    }
}

#[tokio::test]
async fn entries_expire_after_the_time_to_live() {
    for (kind, factory) in factories() {
        let clock = Arc::new(ManualClock::new());
        let cache: Cache<str, String> = Cache::builder("ttl")
            .clock(clock.clone())
            .time_to_live(Duration::from_millis(100))
            .build(&*factory)
            .expect("starts");
        cache
            .get_with("k", || async { ok("first") })
            .await
            .expect("loaded");
        clock.advance(Duration::from_millis(99));
        let hit = cache
            .get_with("k", || async { ok("second") })
            .await
            .expect("hit");
        assert_eq!(hit, "first", "{kind}: 1 ms before expiry");
        clock.advance(Duration::from_millis(1));
        let reloaded = cache
            .get_with("k", || async { ok("second") })
            .await
            .expect("reloaded");
        assert_eq!(
            reloaded, "second",
            "{kind}: at expiry the loader runs again"
        );
        // A per-call ttl overrides the default.
        cache
            .get_with_ttl("long", Some(Duration::from_secs(10)), || async {
                ok("long")
            })
            .await
            .expect("loaded");
        cache
            .insert_with_ttl("forever", &"f".to_string(), None)
            .expect("insert");
        clock.advance(Duration::from_secs(5));
        assert_eq!(
            cache.get("long").expect("get").as_deref(),
            Some("long"),
            "{kind}"
        );
        clock.advance(Duration::from_secs(3600));
        assert_eq!(cache.get("long").expect("get"), None, "{kind}");
        assert_eq!(
            cache.get("forever").expect("get").as_deref(),
            Some("f"),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn invalidation_and_size() {
    for (kind, factory) in factories() {
        let cache = cache_on(&*factory, &Arc::new(ManualClock::new()));
        let size = |c: &Cache<str, String>| c.stats().backend.expect("backend stats").size;
        assert_eq!(size(&cache), 0, "{kind}");
        cache.insert("a", &"1".to_string()).expect("insert");
        assert_eq!(size(&cache), 1, "{kind}");
        cache
            .get_with("b", || async { ok("2") })
            .await
            .expect("loaded");
        assert_eq!(size(&cache), 2, "{kind}");
        cache.invalidate("a").expect("invalidate");
        assert_eq!(cache.get("a").expect("get"), None, "{kind}");
        assert_eq!(
            cache.get("b").expect("get").as_deref(),
            Some("2"),
            "{kind}: other keys stay"
        );
        cache.insert("c", &"3".to_string()).expect("insert");
        cache.invalidate_all().expect("invalidate all");
        assert_eq!(size(&cache), 0, "{kind}");
        assert_eq!(cache.get("b").expect("get"), None, "{kind}");
    }
}

/// Waits until `n` callers are coalesced on a flight.
async fn until_waiting(cache: &Cache<str, String>, n: u64) {
    while cache.stats().coalesced_waits < n {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_misses_run_the_loader_once() {
    for (kind, factory) in factories() {
        let cache = cache_on(&*factory, &Arc::new(ManualClock::new()));
        let release = Arc::new(Notify::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (cache, release, calls) = (cache.clone(), release.clone(), calls.clone());
                tokio::spawn(async move {
                    cache
                        .get_with("cold", || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            release.notified().await;
                            ok("loaded once")
                        })
                        .await
                })
            })
            .collect();
        until_waiting(&cache, 99).await;
        release.notify_one();
        for task in tasks {
            assert_eq!(
                task.await.expect("task").expect("value"),
                "loaded once",
                "{kind}"
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{kind}");
        let stats = cache.stats();
        assert_eq!(
            (stats.loads, stats.coalesced_waits),
            (1, 99),
            "{kind}: {stats:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_or_cancelled_leader_hands_the_key_over() {
    for (kind, factory) in factories() {
        for cancel in [false, true] {
            let cache = cache_on(&*factory, &Arc::new(ManualClock::new()));
            let release = Arc::new(Notify::new());
            let leader = {
                let (cache, release) = (cache.clone(), release.clone());
                tokio::spawn(async move {
                    cache
                        .get_with("key", || async move {
                            release.notified().await;
                            if true {
                                panic!("the loader panics");
                            }
                            ok("never")
                        })
                        .await
                })
            };
            while cache.stats().loads == 0 {
                tokio::task::yield_now().await;
            }
            let waiter = {
                let cache = cache.clone();
                tokio::spawn(async move {
                    cache
                        .get_with("key", || async { ok("from the waiter") })
                        .await
                })
            };
            until_waiting(&cache, 1).await;
            if cancel {
                leader.abort();
            } else {
                release.notify_one();
            }
            assert!(
                leader.await.is_err(),
                "{kind}: the leader panicked or was cancelled"
            );
            assert_eq!(
                waiter.await.expect("waiter").expect("value"),
                "from the waiter",
                "{kind} cancel={cancel}"
            );
            assert_eq!(
                cache.get("key").expect("get").as_deref(),
                Some("from the waiter"),
                "{kind}"
            );
        }
    }
}

/// A native backend that fails like a trapping guest for keys containing `trap`.
struct Faulty(MemoryBackend);

impl Faulty {
    fn check(key: &[u8]) -> wasmcache::Result<()> {
        if key.windows(4).any(|w| w == b"trap") {
            return Err(Error::Trap {
                message: "asked to trap".into(),
            });
        }
        Ok(())
    }
}

impl Backend for Faulty {
    fn get(&self, key: &[u8]) -> wasmcache::Result<Option<Vec<u8>>> {
        Self::check(key)?;
        self.0.get(key)
    }
    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> wasmcache::Result<()> {
        Self::check(key)?;
        self.0.put(key, value, ttl_ms)
    }
    fn invalidate(&self, key: Option<&[u8]>) -> wasmcache::Result<()> {
        self.0.invalidate(key)
    }
    fn stats(&self) -> wasmcache::Result<BackendStats> {
        self.0.stats()
    }
    fn size_limits(&self) -> SizeLimits {
        self.0.size_limits()
    }
}

struct FaultyFactory;

impl BackendFactory for FaultyFactory {
    fn name(&self) -> &str {
        "faulty (native)"
    }
    fn init(
        &self,
        _options: &InitOptions,
        clock: SharedClock,
    ) -> wasmcache::Result<Box<dyn Backend>> {
        Ok(Box::new(Faulty(MemoryBackend::new(clock))))
    }
}

/// Backends that fault on keys containing `trap`: native, and the `trap-on-key` guest.
/// The guest restarts without back-off, so every call reaches it and fault counts are
/// exact.
fn faulty_factories() -> Vec<(&'static str, Arc<dyn BackendFactory>)> {
    let limits = Limits {
        restart_backoff: Duration::ZERO,
        ..Limits::default()
    };
    let guest = component("trap-on-key", hostile::TRAP_ON_KEY)
        .with_limits(limits)
        .expect("limits");
    vec![
        ("native", Arc::new(FaultyFactory)),
        ("wasm", Arc::new(guest)),
    ]
}

#[tokio::test]
async fn a_backend_fault_still_yields_the_loaders_value() {
    for (kind, factory) in faulty_factories() {
        let cache = cache_on(&*factory, &Arc::new(ManualClock::new()));
        let value = cache
            .get_with("trap-now", || async { ok("computed") })
            .await;
        assert_eq!(value.expect("fail-open"), "computed", "{kind}");
        assert_eq!(
            cache.get("trap-now").expect("a fault reads as a miss"),
            None,
            "{kind}"
        );
        let stats = cache.stats();
        // get, put and the second get each faulted.
        assert_eq!(
            (stats.backend_faults, stats.loads),
            (3, 1),
            "{kind}: {stats:?}"
        );
        // Other keys are served normally (a wasm guest restarted behind the scenes).
        cache
            .get_with("fine", || async { ok("stored") })
            .await
            .expect("loaded");
        assert_eq!(
            cache.get("fine").expect("get").as_deref(),
            Some("stored"),
            "{kind}"
        );
    }
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_faults_and_closes_after_a_good_probe() {
    for (kind, factory) in faulty_factories() {
        let clock = Arc::new(ManualClock::new());
        let breaker = BreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(1),
        };
        let cache: Cache<str, String> = Cache::builder("breaker")
            .clock(clock.clone())
            .breaker(breaker)
            .build(&*factory)
            .expect("starts");
        cache.insert("good", &"g".to_string()).expect("insert");
        for i in 0..3 {
            assert_eq!(
                cache.get(&format!("trap-{i}")).expect("fail-open"),
                None,
                "{kind}"
            );
        }
        let stats = cache.stats();
        assert_eq!(
            (stats.breaker, stats.backend_faults),
            (BreakerState::Open, 3),
            "{kind}: {stats:?}"
        );
        // Open: the backend is bypassed, even for a key it could serve.
        assert_eq!(cache.get("good").expect("bypassed"), None, "{kind}");
        let value = cache
            .get_with("good", || async { ok("computed while open") })
            .await
            .expect("fail-open");
        assert_eq!(value, "computed while open", "{kind}");
        assert!(cache.stats().bypassed >= 2, "{kind}");
        assert!(
            cache.insert("x", &"y".to_string()).is_err(),
            "{kind}: inserts report the open breaker"
        );
        // After the cool-down a good call probes and closes it. (A guest lost "good" when
        // it trapped, so the probe may well be a miss; it must not be a bypass.)
        clock.advance(Duration::from_secs(1));
        let bypassed = cache.stats().bypassed;
        cache.get("good").expect("probe");
        let stats = cache.stats();
        assert_eq!(
            (stats.breaker, stats.bypassed),
            (BreakerState::Closed, bypassed),
            "{kind}: {stats:?}"
        );
        cache
            .insert("good", &"again".to_string())
            .expect("insert after closing");
        assert_eq!(
            cache.get("good").expect("get").as_deref(),
            Some("again"),
            "{kind}"
        );
    }
}

/// Records the `wasmcache::cache` events: message, cache name and key fields.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(String, String, String)>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields(String, String, String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                let text = format!("{value:?}").trim_matches('"').to_string();
                match field.name() {
                    "message" => self.0 = text,
                    "cache" => self.1 = text,
                    "key" => self.2 = text,
                    _ => {}
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                self.record_debug(field, &value);
            }
        }
        if event.metadata().target() == "wasmcache::cache" {
            let mut fields = Fields::default();
            event.record(&mut fields);
            self.0
                .lock()
                .expect("events")
                .push((fields.0, fields.1, fields.2));
        }
    }
}

/// The events of every cache in this test binary. One global subscriber, set once: a
/// thread-scoped one (`with_default`) races with callsite registration on other test threads
/// and can miss an event whose callsite another thread registered first.
fn recorded_events() -> &'static Events {
    static EVENTS: std::sync::OnceLock<Events> = std::sync::OnceLock::new();
    EVENTS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let events = Events::default();
        let subscriber = tracing_subscriber::registry()
            .with(events.clone())
            .with(tracing_subscriber::filter::LevelFilter::TRACE);
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        events
    })
}

#[test]
fn hit_and_miss_events_carry_the_cache_name_and_key() {
    let recorded = recorded_events();
    for (kind, factory) in factories() {
        for raw in [false, true] {
            // A name of its own, so events of other tests' caches are told apart.
            let name = format!("users-{kind}-{raw}");
            let cache: Cache<str, String> = Cache::builder(&name)
                .log_raw_keys(raw)
                .build(&*factory)
                .expect("starts");
            assert_eq!(cache.get("ada").expect("get"), None);
            cache.insert("ada", &"x".to_string()).expect("insert");
            assert!(cache.get("ada").expect("get").is_some());
            let events: Vec<_> = recorded
                .0
                .lock()
                .expect("events")
                .iter()
                .filter(|e| e.1 == name)
                .cloned()
                .collect();
            let find = |message: &str| events.iter().find(|e| e.0 == message).cloned();
            // Found by their `cache` field: that is the check that they carry the name.
            let (_, _, miss_key) =
                find("miss").unwrap_or_else(|| panic!("{kind}: a miss event in {events:?}"));
            let (_, _, hit_key) =
                find("hit").unwrap_or_else(|| panic!("{kind}: a hit event in {events:?}"));
            assert_eq!(
                miss_key, hit_key,
                "{kind}: the same key is labelled the same way"
            );
            if raw {
                assert!(
                    hit_key.ends_with("ada"),
                    "{kind}: raw key shown when opted in: {hit_key}"
                );
            } else {
                assert_eq!(hit_key.len(), 16, "{kind}: a 64-bit digest: {hit_key}");
                assert!(!hit_key.contains("ada"), "{kind}");
            }
            assert!(find("put").is_some(), "{kind}: a put event");
        }
    }
}

#[tokio::test]
async fn the_tower_layer_caches_a_service_by_key() {
    use std::future::Ready;
    use std::task::{Context, Poll};
    use tower_layer::Layer;
    use tower_service::Service;
    use wasmcache::cache::CacheLayer;

    #[derive(Clone)]
    struct Lookup(Arc<AtomicUsize>);
    impl Service<(u32, bool)> for Lookup {
        type Response = String;
        type Error = String;
        type Future = Ready<Result<String, String>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), String>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, (id, fail): (u32, bool)) -> Self::Future {
            self.0.fetch_add(1, Ordering::SeqCst);
            std::future::ready(if fail {
                Err(format!("no user {id}"))
            } else {
                Ok(format!("user {id}"))
            })
        }
    }

    for (kind, factory) in factories() {
        let calls = Arc::new(AtomicUsize::new(0));
        let cache: Cache<u32, String> = Cache::builder("tower").build(&*factory).expect("starts");
        let mut service =
            CacheLayer::new(cache, |request: &(u32, bool)| request.0).layer(Lookup(calls.clone()));
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .expect("ready");
        assert_eq!(
            service.call((7, false)).await.expect("ok"),
            "user 7",
            "{kind}"
        );
        assert_eq!(
            service.call((7, false)).await.expect("ok"),
            "user 7",
            "{kind}"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "{kind}: the second call was a hit"
        );
        assert_eq!(
            *service.call((8, true)).await.expect_err("err"),
            "no user 8",
            "{kind}"
        );
        assert!(service.call((8, true)).await.is_err(), "{kind}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "{kind}: errors are not cached"
        );
    }
}
