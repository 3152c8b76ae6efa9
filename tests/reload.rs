//! Hot reload: swaps under load, handover of entries and ttl, rejected reloads, watching.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wasmcache::cache::Cache;
use wasmcache::reload::{BackendHandle, CompactPolicy, ReloadStep, Source, WatchConfig};
use wasmcache::{
    Backend, ComponentLoader, Engine, EngineConfig, Limits, ManualClock, MemoryBackendFactory,
    SharedClock, SystemClock, builtin,
};
use wasmcache_tests::hostile;

/// A dedicated engine (so live-instance counts are this test's own) with a compile cache.
fn engine_with_cache(dir: &Path) -> Engine {
    Engine::new(EngineConfig {
        compile_cache: Some(dir.join("compiled")),
        ..EngineConfig::default()
    })
    .expect("engine")
}

fn limits() -> Limits {
    Limits {
        init_timeout: Duration::from_millis(200),
        ..Limits::default()
    }
}

/// A handle serving `source`, compiled on `engine` under [`limits`], on `clock`.
fn handle_on(engine: &Engine, source: impl Into<Source>, clock: SharedClock) -> BackendHandle {
    let loader = ComponentLoader::new(engine, limits()).expect("limits fit the engine");
    BackendHandle::builder()
        .loader(loader)
        .clock(clock)
        .load(source)
        .expect("loads")
}

/// A handle serving the `memory` guest on `engine`, on the system clock.
fn memory_handle(engine: &Engine) -> BackendHandle {
    handle_on(engine, memory(), SystemClock::shared())
}

fn memory() -> Source {
    Source::bytes("memory", builtin::MEMORY)
}

fn lru() -> Source {
    Source::bytes("lru", builtin::LRU)
}

#[test]
fn a_reload_storm_under_load_loses_no_call_and_mixes_no_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_with_cache(dir.path());
    let handle = memory_handle(&engine);
    let cache: Cache<u32, String> =
        Cache::builder("storm").build_with_backend(Arc::new(handle.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(Mutex::new(Vec::<String>::new()));
    let calls = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8u32)
        .map(|task| {
            let (cache, stop, failed, wrong, calls) = (
                cache.clone(),
                stop.clone(),
                failed.clone(),
                wrong.clone(),
                calls.clone(),
            );
            runtime.spawn(async move {
                let check = |key: u32, value: &str| {
                    if !value.starts_with(&format!("k{key}:")) {
                        wrong
                            .lock()
                            .expect("lock")
                            .push(format!("key {key} read {value}"));
                    }
                };
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let key = (n * 7 + task) % 64;
                    match cache
                        .get_with(&key, || async move {
                            Ok::<_, String>(format!("k{key}:loaded-by-{task}"))
                        })
                        .await
                    {
                        Ok(value) => check(key, &value),
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    if cache
                        .insert(
                            &((key + 1) % 64),
                            &format!("k{}:inserted-by-{task}-{n}", (key + 1) % 64),
                        )
                        .is_err()
                    {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    match cache.get(&((key + 2) % 64)) {
                        Ok(Some(value)) => check((key + 2) % 64, &value),
                        Ok(None) => {}
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    calls.fetch_add(3, Ordering::Relaxed);
                    n += 1;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    let mut good = 0;
    let mut bad = 0;
    for round in 0..100 {
        let (source, expect_ok) = match round % 10 {
            3 => (Source::bytes("garbage", garbage.clone()), false),
            5 => (
                Source::bytes("wrong-version", hostile::WRONG_VERSION),
                false,
            ),
            7 => (Source::bytes("init-refuses", hostile::INIT_REFUSES), false),
            9 => (
                Source::bytes("init-never-returns", hostile::INIT_NEVER_RETURNS),
                false,
            ),
            r if r % 2 == 0 => (lru(), true),
            _ => (memory(), true),
        };
        match handle.reload_blocking(source) {
            Ok(_) if expect_ok => good += 1,
            Err(_) if !expect_ok => bad += 1,
            Ok(report) => panic!("round {round}: a bad component was accepted: {report:?}"),
            Err(error) => panic!("round {round}: a good component was rejected: {error}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    runtime.block_on(async {
        for worker in workers {
            worker.await.expect("worker");
        }
    });

    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed calls");
    assert_eq!(
        *wrong.lock().expect("lock"),
        Vec::<String>::new(),
        "wrong values"
    );
    assert!(
        calls.load(Ordering::Relaxed) > 1000,
        "the workers were busy: {}",
        calls.load(Ordering::Relaxed)
    );
    assert_eq!((good, bad), (60, 40));
    let status = handle.status();
    assert_eq!(
        (status.generation, status.reloads, status.rejected),
        (61, 60, 40),
        "{status:?}"
    );
    drop(cache);
    assert_eq!(
        engine.live_instances(),
        1,
        "only the serving instance is alive"
    );
}

#[test]
fn entries_and_their_remaining_ttl_survive_a_reload() {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let clock = Arc::new(ManualClock::new());
    let handle = handle_on(&engine, memory(), clock.clone());
    for i in 0..500u32 {
        let ttl = if i % 2 == 0 { Some(10_000) } else { None };
        handle
            .put(
                format!("key-{i}").as_bytes(),
                format!("value-{i}").as_bytes(),
                ttl,
            )
            .expect("put");
    }
    clock.advance(Duration::from_millis(4_000));
    for (source, name) in [(lru(), "lru"), (memory(), "memory")] {
        let report = handle.reload_blocking(source).expect("reload");
        assert_eq!(report.component.name, name);
        assert!(
            report.handover.supported && !report.handover.truncated,
            "{:?}",
            report.handover
        );
        assert_eq!(report.handover.entries, 500, "{:?}", report.handover);
    }
    assert_eq!(handle.status().generation, 3);
    clock.advance(Duration::from_millis(5_999));
    for i in 0..500u32 {
        assert_eq!(
            handle.get(format!("key-{i}").as_bytes()).expect("get"),
            Some(format!("value-{i}").into_bytes()),
            "key-{i}"
        );
    }
    clock.advance(Duration::from_millis(1));
    for i in 0..500u32 {
        let expected = (i % 2 == 1).then(|| format!("value-{i}").into_bytes());
        assert_eq!(
            handle.get(format!("key-{i}").as_bytes()).expect("get"),
            expected,
            "key-{i} at its original expiry"
        );
    }
}

#[test]
fn writes_during_a_handover_are_not_lost() {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let handle = memory_handle(&engine);
    for i in 0..30_000u32 {
        handle
            .put(format!("old-{i}").as_bytes(), &i.to_le_bytes(), None)
            .expect("put");
    }
    let stop = AtomicBool::new(false);
    let (written, report) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut written = Vec::new();
            let mut i = 0u32;
            // Bounded, so a reload slowed by a busy machine does not let the writer fill
            // the guest's memory; the first writes race the copy either way.
            while !stop.load(Ordering::Relaxed) {
                if i >= 200_000 {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                let key = format!("new-{i}");
                handle
                    .put(key.as_bytes(), &i.to_le_bytes(), None)
                    .expect("put during the reload");
                if i.is_multiple_of(3) {
                    handle
                        .invalidate(Some(format!("old-{i}").as_bytes()))
                        .expect("invalidate during the reload");
                }
                written.push(i);
                i += 1;
            }
            written
        });
        let report = handle.reload_blocking(memory()).expect("reload");
        std::thread::sleep(Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        (writer.join().expect("writer"), report)
    });
    assert!(
        report.handover.replayed > 0,
        "writes raced the copy: {:?}",
        report.handover
    );
    let invalidated: HashSet<u32> = written
        .iter()
        .copied()
        .filter(|i| i.is_multiple_of(3))
        .collect();
    for i in &written {
        assert_eq!(
            handle.get(format!("new-{i}").as_bytes()).expect("get"),
            Some(i.to_le_bytes().to_vec()),
            "new-{i} (of {} written); {report:?}",
            written.len()
        );
    }
    for i in 0..30_000u32 {
        let expected = (!invalidated.contains(&i)).then(|| i.to_le_bytes().to_vec());
        assert_eq!(
            handle.get(format!("old-{i}").as_bytes()).expect("get"),
            expected,
            "old-{i}"
        );
    }
}

#[test]
fn a_rejected_reload_leaves_the_old_backend_serving_its_entries() {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let handle = handle_on(&engine, lru(), SystemClock::shared());
    handle.put(b"kept", b"value", None).expect("put");
    let garbage = Source::bytes("garbage.wasm", vec![1, 2, 3]);
    let cases = [
        (garbage, ReloadStep::Compile),
        (
            Source::bytes("wrong-version", hostile::WRONG_VERSION),
            ReloadStep::Compile,
        ),
        (
            Source::bytes("init-refuses", hostile::INIT_REFUSES),
            ReloadStep::Init,
        ),
        (
            Source::bytes("init-never-returns", hostile::INIT_NEVER_RETURNS),
            ReloadStep::Init,
        ),
        (
            Source::bytes("always-trap", hostile::ALWAYS_TRAP),
            ReloadStep::SelfCheck,
        ),
        (
            Source::from(Path::new("/nonexistent/backend.wasm")),
            ReloadStep::Read,
        ),
    ];
    let rejected = cases.len() as u64;
    for (source, step) in cases {
        let error = handle.reload_blocking(source).expect_err("rejected");
        assert_eq!(error.step, step, "{error}");
        assert_eq!(
            handle.get(b"kept").expect("get").as_deref(),
            Some(&b"value"[..]),
            "after {error}"
        );
    }
    let status = handle.status();
    assert_eq!(
        (
            status.generation,
            status.rejected,
            status.component.as_str()
        ),
        (1, rejected, "lru")
    );
    assert!(
        status
            .last_error
            .is_some_and(|e| e.contains("/nonexistent/backend.wasm"))
    );
    assert_eq!(
        engine.live_instances(),
        1,
        "rejected instances were dropped"
    );
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_watched_file_reloads_once_per_complete_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("backend.wasm");
    std::fs::write(&file, builtin::MEMORY).expect("write");
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let handle = handle_on(&engine, file.as_path(), SystemClock::shared());
    let config = WatchConfig {
        debounce: Duration::from_millis(50),
        backoff: Duration::from_millis(10),
        ..WatchConfig::default()
    };
    let _watcher = handle.watch(&file, config).expect("watch");
    let quiet = || std::thread::sleep(Duration::from_millis(400));

    std::fs::write(&file, builtin::LRU).expect("write lru");
    wait_for("the lru version", || handle.status().generation == 2);
    assert_eq!(handle.current().component.name, "backend.wasm");

    // Half a file: rejected by validation, the lru keeps serving.
    std::fs::write(&file, &builtin::MEMORY[..builtin::MEMORY.len() / 2]).expect("write half");
    wait_for("the half-written file's rejection", || {
        handle.status().rejected == 1
    });
    // Completed: picked up.
    std::fs::write(&file, builtin::MEMORY).expect("complete it");
    wait_for("the completed version", || handle.status().generation == 3);

    // The same content again, and a deleted file, change nothing.
    std::fs::write(&file, builtin::MEMORY).expect("rewrite the same");
    quiet();
    std::fs::remove_file(&file).expect("delete");
    quiet();
    let status = handle.status();
    assert_eq!(
        (status.generation, status.reloads, status.rejected),
        (3, 2, 1),
        "{status:?}"
    );
    handle.put(b"still", b"serving", None).expect("put");
    assert_eq!(
        handle.get(b"still").expect("get").as_deref(),
        Some(&b"serving"[..])
    );
}

#[test]
fn the_compile_cache_makes_a_known_component_load_without_cranelift() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_with_cache(dir.path());
    let handle = memory_handle(&engine);
    let cold = handle.reload_blocking(lru()).expect("reload");
    assert!(!cold.component.from_cache);
    let warm = handle.reload_blocking(lru()).expect("reload");
    assert!(
        warm.component.from_cache,
        "the second load of the same bytes comes from the cache"
    );

    // A cache directory others can write to is refused: compiled code is trusted.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let open = dir.path().join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let refused = Engine::new(EngineConfig {
            compile_cache: Some(open),
            ..EngineConfig::default()
        });
        assert!(refused.is_err_and(|e| e.to_string().contains("others may write")));
    }
}

/// A native factory whose `init` fails on the `fail_on`-th call (counting from 1).
struct FailsOnce {
    calls: std::sync::atomic::AtomicUsize,
    fail_on: usize,
}

impl wasmcache::BackendFactory for FailsOnce {
    fn name(&self) -> &str {
        "fails-once"
    }

    fn init(
        &self,
        options: &wasmcache::InitOptions,
        clock: SharedClock,
    ) -> wasmcache::Result<Box<dyn Backend>> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_on {
            return Err(wasmcache::Refusal::Internal("this instance refuses".into()).into());
        }
        wasmcache::MemoryBackendFactory::default().init(options, clock)
    }
}

#[test]
fn a_group_reload_is_all_or_nothing() {
    use wasmcache::reload::BackendGroup;
    let native = Source::factory(wasmcache::MemoryBackendFactory::default());
    let group = BackendGroup::load(BackendHandle::builder(), native.clone(), 4).expect("loads");
    for (i, handle) in group.handles().iter().enumerate() {
        handle.put(b"k", &[i as u8], None).expect("put");
    }
    // The third of four shards refuses: nothing may swap.
    let third_fails = Source::factory(FailsOnce {
        calls: Default::default(),
        fail_on: 3,
    });
    let error = group.reload_blocking(third_fails).expect_err("rejected");
    assert_eq!(error.step, ReloadStep::Init, "{error}");
    for (i, handle) in group.handles().iter().enumerate() {
        let status = handle.status();
        assert_eq!(
            (status.generation, status.rejected),
            (1, 1),
            "shard {i}: {status:?}"
        );
        assert!(status.last_error.is_some_and(|e| e.contains("refuses")));
        assert_eq!(handle.get(b"k").expect("get"), Some(vec![i as u8]));
    }
    // A version every shard accepts moves them all, entries and all.
    let reports = group.reload_blocking(native).expect("reloads");
    assert_eq!(reports.len(), 4);
    for (i, handle) in group.handles().iter().enumerate() {
        assert_eq!(handle.status().generation, 2, "shard {i}");
        assert_eq!(handle.get(b"k").expect("get"), Some(vec![i as u8]));
    }
}

#[test]
fn a_sparse_backend_is_compacted_keeping_its_entries_and_generation() {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let handle = memory_handle(&engine);
    let value = vec![7u8; 4096];
    for i in 0..16_000u32 {
        handle.put(&i.to_le_bytes(), &value, None).expect("put");
    }
    // Remove all but ten: the entries need ~40 KiB, the guest still holds its peak.
    for i in 10..16_000u32 {
        handle
            .invalidate(Some(&i.to_le_bytes()))
            .expect("invalidate");
    }
    let before = handle
        .memory_use()
        .expect("memory use")
        .expect("a wasm guest");
    assert!(before.held_bytes >= 64 << 20, "{before:?}");
    assert!(before.live_bytes < 1 << 20, "{before:?}");
    let policy = CompactPolicy {
        min_held_bytes: 32 << 20,
        ..CompactPolicy::default()
    };
    let report = handle
        .compact_if_sparse(&policy)
        .expect("compacts")
        .expect("the memory is sparse");
    assert_eq!(report.handover.entries, 10);
    assert_eq!(report.generation, 1, "a compaction is not a new version");
    let status = handle.status();
    assert_eq!((status.compactions, status.reloads), (1, 0));
    let after = handle
        .memory_use()
        .expect("memory use")
        .expect("a wasm guest");
    assert!(
        after.held_bytes * 8 < before.held_bytes,
        "{before:?} -> {after:?}"
    );
    for i in 0..10u32 {
        assert_eq!(
            handle.get(&i.to_le_bytes()).expect("get").as_deref(),
            Some(&value[..])
        );
    }
    assert_eq!(handle.size().expect("size"), 10);
    assert!(handle.compact_if_sparse(&policy).expect("checks").is_none());
}

#[test]
fn backends_that_cannot_hand_over_are_never_compacted() {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    // A native backend holds nothing a compaction would give back.
    let native = BackendHandle::builder()
        .load(Source::Factory(Arc::new(MemoryBackendFactory::default())))
        .expect("loads");
    let every = CompactPolicy {
        min_held_bytes: 0,
        max_held_per_live: 1,
    };
    assert!(native.compact_if_sparse(&every).expect("checks").is_none());
    // A component without `handover` would start empty: refused, the old one serves on.
    let handle = handle_on(
        &engine,
        Source::bytes("trap-on-key", hostile::TRAP_ON_KEY),
        SystemClock::shared(),
    );
    handle.put(b"k", b"v", None).expect("put");
    assert!(handle.compact_if_sparse(&every).expect("checks").is_none());
    let error = handle.compact_blocking().expect_err("refused");
    assert_eq!(error.step, ReloadStep::Handover, "{error}");
    assert!(
        error.to_string().contains("cannot list its entries"),
        "{error}"
    );
    assert_eq!(handle.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
    assert_eq!(handle.status().compactions, 0);
}

#[test]
fn a_first_load_that_fails_says_load_not_reload_and_names_the_step() {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let loader = ComponentLoader::new(&engine, limits()).expect("limits fit the engine");
    for (name, bytes, step, wording) in [
        (
            "always-trap",
            hostile::ALWAYS_TRAP,
            ReloadStep::SelfCheck,
            "self-check",
        ),
        (
            "init-refuses",
            hostile::INIT_REFUSES,
            ReloadStep::Init,
            "init",
        ),
        (
            "wrong-version",
            hostile::WRONG_VERSION,
            ReloadStep::Compile,
            "compile",
        ),
    ] {
        let error = BackendHandle::builder()
            .loader(loader.clone())
            .load(Source::bytes(name, bytes))
            .expect_err("the first load fails");
        assert!(error.first_load && error.step == step, "{error}");
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("loading {name} failed at the {wording} step: ")),
            "{text}"
        );
        assert!(!text.contains("reload"), "{text}");
    }
    // The same failure on a reload says so.
    let handle = handle_on(&engine, lru(), SystemClock::shared());
    let error = handle
        .reload_blocking(Source::bytes("always-trap", hostile::ALWAYS_TRAP))
        .expect_err("rejected");
    assert!(!error.first_load);
    assert!(
        error
            .to_string()
            .starts_with("reload of always-trap rejected at the self-check step: "),
        "{error}"
    );
}
