//! The hostile-guest suite: each guest misbehaves in one way. For each, the host reports a
//! typed error, stays up, a healthy backend in the same process keeps answering during and
//! after, and the cache layer still answers with the loader's value.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmcache::cache::Cache;
use wasmcache::{
    Backend, BackendComponent, BackendFactory, Error, Limits, LoadError, ManualClock, SizeLimits,
    SystemClock, builtin,
};
use wasmcache_tests::{component, engine, hostile};

/// Short deadlines keep the suite fast; the defaults are tested by the CLI tests.
fn limits() -> Limits {
    Limits {
        call_timeout: Duration::from_millis(50),
        init_timeout: Duration::from_millis(300),
        max_memory_bytes: 32 << 20,
        ..Limits::default()
    }
}

fn hostile_component(name: &str, bytes: &[u8]) -> BackendComponent {
    component(name, bytes)
        .with_limits(limits())
        .expect("limits fit the engine")
}

fn start(component: &BackendComponent) -> wasmcache::WasmBackend {
    component
        .instantiate(&Vec::new(), SystemClock::shared())
        .unwrap_or_else(|e| panic!("{} starts: {e}", component.info().name))
}

/// Runs `hostile_work` while a healthy guest in the same process answers calls in another
/// thread; checks the healthy guest answered correctly during and after.
fn beside_a_healthy_backend<R>(hostile_work: impl FnOnce() -> R) -> R {
    let healthy = start(&component("memory", builtin::MEMORY));
    healthy.put(b"steady", b"value", None).expect("healthy put");
    let stop = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        let neighbour = scope.spawn(|| {
            let mut answered = 0u64;
            while !stop.load(Ordering::Relaxed) || answered == 0 {
                let key = format!("k{}", answered % 64);
                healthy
                    .put(key.as_bytes(), &answered.to_le_bytes(), None)
                    .expect("healthy put during");
                assert_eq!(
                    healthy.get(key.as_bytes()).expect("healthy get during"),
                    Some(answered.to_le_bytes().to_vec())
                );
                assert_eq!(
                    healthy
                        .get(b"steady")
                        .expect("healthy get during")
                        .as_deref(),
                    Some(&b"value"[..])
                );
                answered += 1;
            }
            answered
        });
        let result = hostile_work();
        stop.store(true, Ordering::Relaxed);
        let answered = neighbour
            .join()
            .expect("the healthy neighbour never panicked");
        assert!(answered > 0);
        result
    });
    assert_eq!(
        healthy
            .get(b"steady")
            .expect("healthy get after")
            .as_deref(),
        Some(&b"value"[..])
    );
    assert_eq!(
        healthy.restarts(),
        0,
        "the healthy backend was never disturbed"
    );
    result
}

/// A cache over `factory` answers `get_with` with the loader's value and counts `faults`.
fn the_layer_answers_anyway(factory: &dyn BackendFactory, min_faults: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let cache: Cache<str, String> = Cache::builder("hostile")
        .build(factory)
        .expect("backend starts");
    for round in 0..2 {
        let value = runtime.block_on(cache.get_with("key", || async {
            Ok::<_, std::io::Error>("loaded".to_string())
        }));
        assert_eq!(
            value.expect("the loader's value"),
            "loaded",
            "round {round}"
        );
    }
    let stats = cache.stats();
    assert!(stats.backend_faults >= min_faults, "{stats:?}");
    assert!(stats.loads >= 1, "{stats:?}");
}

#[test]
fn an_infinite_loop_in_get_times_out() {
    let component = hostile_component("loop-get", hostile::LOOP_GET);
    let backend = start(&component);
    let started = Instant::now();
    let error =
        beside_a_healthy_backend(|| backend.get(b"key").expect_err("the loop is interrupted"));
    assert!(
        matches!(error, Error::Timeout { limit } if limit == Duration::from_millis(50)),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "interrupted near its deadline"
    );
    // The next call gets a fresh instance that works for the calls it does not sabotage.
    backend
        .put(b"key", b"v", None)
        .expect("a fresh instance serves put");
    assert_eq!(backend.restarts(), 1);
    assert_eq!(
        backend.stats().expect("stats").counters["sandbox-timeouts"],
        1
    );
    the_layer_answers_anyway(&component, 1);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    // A generous deadline, so that on a loaded machine the memory limit, not the clock,
    // is what stops the bomb.
    let limits = Limits {
        call_timeout: Duration::from_secs(5),
        ..limits()
    };
    let component = component("memory-bomb", hostile::MEMORY_BOMB)
        .with_limits(limits)
        .expect("limits");
    let backend = start(&component);
    let error = beside_a_healthy_backend(|| {
        backend
            .put(b"key", b"value", None)
            .expect_err("the bomb is stopped")
    });
    assert!(
        matches!(error, Error::OutOfMemory { limit } if limit == 32 << 20),
        "{error:?}"
    );
    assert_eq!(backend.get(b"key").expect("a fresh instance answers"), None);
    the_layer_answers_anyway(&component, 1);
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let component = hostile_component("deep-recursion", hostile::DEEP_RECURSION);
    let backend = start(&component);
    let error = beside_a_healthy_backend(|| backend.get(b"key").expect_err("recursion is stopped"));
    assert!(matches!(error, Error::StackOverflow), "{error:?}");
    the_layer_answers_anyway(&component, 1);
}

#[test]
fn a_trap_in_the_middle_of_put_loses_the_instance_not_the_host() {
    let component = hostile_component("trap-mid-put", hostile::TRAP_MID_PUT);
    let backend = start(&component);
    let error =
        beside_a_healthy_backend(|| backend.put(b"key", b"value", None).expect_err("put traps"));
    match &error {
        // The guest's panic message (written to stderr before it trapped) is in the error.
        Error::Trap { message } => assert!(
            message.contains("trap in the middle of put for a key of 3 bytes"),
            "{message}"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
    // The half-written entry died with the instance.
    assert_eq!(backend.get(b"key").expect("fresh instance"), None);
    let stats = backend.stats().expect("stats");
    assert_eq!(
        (
            stats.size,
            stats.counters["sandbox-traps"],
            stats.counters["sandbox-restarts"]
        ),
        (0, 1, 1)
    );
    the_layer_answers_anyway(&component, 1);
}

#[test]
fn a_value_above_the_limit_from_get_is_a_contract_violation() {
    let component = hostile_component("oversized-value", hostile::OVERSIZED_VALUE);
    let backend = start(&component);
    let error = beside_a_healthy_backend(|| {
        backend
            .get(b"key")
            .expect_err("the oversized value is refused")
    });
    match &error {
        Error::ContractViolation(message) => {
            assert!(message.contains(&format!("{}", (1 << 20) + 1)), "{message}")
        }
        other => panic!("expected a contract violation, got {other:?}"),
    }
    the_layer_answers_anyway(&component, 1);
}

#[test]
fn a_hostile_realloc_is_a_contract_violation() {
    let component = hostile_component("bad-realloc", hostile::BAD_REALLOC);
    let backend = start(&component);
    // Passing a key in makes the host ask the guest's `cabi_realloc` for space.
    let error =
        beside_a_healthy_backend(|| backend.get(b"key").expect_err("the bad pointer is refused"));
    match &error {
        Error::ContractViolation(message) => assert!(message.contains("realloc"), "{message}"),
        other => panic!("expected a contract violation, got {other:?}"),
    }
    assert_eq!(
        backend.stats().expect("stats").counters["sandbox-contract-violations"],
        1
    );
    the_layer_answers_anyway(&component, 1);
}

#[test]
fn an_import_the_host_does_not_provide_is_refused_at_load() {
    let error = BackendComponent::from_bytes(engine(), "unknown-import", hostile::UNKNOWN_IMPORT)
        .expect_err("refused");
    match &error {
        Error::Load(LoadError::UnknownImport { name, .. }) => {
            assert_eq!(name, "hostile:spy/exfiltrate")
        }
        other => panic!("expected UnknownImport, got {other:?}"),
    }
    assert!(error.to_string().contains("hostile:spy/exfiltrate"));
}

#[test]
fn another_contract_version_is_refused_at_load() {
    let error = BackendComponent::from_bytes(engine(), "wrong-version", hostile::WRONG_VERSION)
        .expect_err("refused");
    match &error {
        Error::Load(LoadError::WrongVersion { found, expected }) => {
            assert_eq!(found, "wasmcache:backend/backend@9.0.0");
            assert_eq!(
                expected,
                "`wasmcache:backend/backend@0.2.0` or `wasmcache:backend/backend@0.1.0`"
            );
        }
        other => panic!("expected WrongVersion, got {other:?}"),
    }
}

#[test]
fn an_init_that_never_returns_times_out() {
    let component = hostile_component("init-never-returns", hostile::INIT_NEVER_RETURNS);
    let started = Instant::now();
    let error = beside_a_healthy_backend(|| {
        component
            .init(&Vec::new(), SystemClock::shared())
            .err()
            .expect("init is stopped")
    });
    assert!(
        matches!(error, Error::Timeout { limit } if limit == Duration::from_millis(300)),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The cache cannot be built over it either, and says why.
    let built: Result<Cache<str, String>, _> = Cache::builder("never").build(&component);
    assert!(matches!(built, Err(Error::Timeout { .. })));
}

#[test]
fn wasi_grants_nothing() {
    let limits = Limits {
        max_log_bytes_per_call: 8,
        ..limits()
    };
    let component = component("wasi-snooper", hostile::WASI_SNOOPER)
        .with_limits(limits)
        .expect("limits");
    let backend = start(&component);
    let report = String::from_utf8(
        backend
            .get(b"report")
            .expect("get")
            .expect("the snooper wrote a report"),
    )
    .expect("utf8");
    for line in report.lines() {
        assert!(
            line.contains("denied")
                || line.ends_with(": 0 variables")
                || line.ends_with(": 0 arguments"),
            "{report}"
        );
    }
    assert_eq!(report.lines().count(), 10, "{report}");
    // Its stdout went to the capped log sink: 8 bytes allowed, the rest of the line dropped.
    let dropped = backend.stats().expect("stats").counters["sandbox-log-bytes-dropped"];
    assert_eq!(dropped, "snooper says hello on stdout\n".len() as u64 - 8);
}

#[test]
fn keys_and_values_at_the_limit_pass_and_one_byte_over_is_refused() {
    let sizes = SizeLimits {
        max_key_bytes: 16,
        max_value_bytes: 64,
    };
    let component = component("memory", builtin::MEMORY)
        .with_limits(Limits { sizes, ..limits() })
        .expect("limits");
    let backend = start(&component);
    backend.put(&[7; 16], &[9; 64], None).expect("at the limit");
    assert_eq!(
        backend.get(&[7; 16]).expect("get").as_deref(),
        Some(&[9; 64][..])
    );
    assert!(matches!(
        backend.put(&[7; 17], b"v", None),
        Err(Error::KeyTooLarge { len: 17, limit: 16 })
    ));
    assert!(matches!(
        backend.get(&[7; 17]),
        Err(Error::KeyTooLarge { .. })
    ));
    assert!(matches!(
        backend.invalidate(Some(&[7; 17])),
        Err(Error::KeyTooLarge { .. })
    ));
    assert!(matches!(
        backend.put(&[7; 16], &[9; 65], None),
        Err(Error::ValueTooLarge { len: 65, limit: 64 })
    ));
    assert_eq!(
        backend.get(&[7; 16]).expect("get").as_deref(),
        Some(&[9; 64][..]),
        "the refused put changed nothing"
    );
    assert_eq!(backend.restarts(), 0, "size refusals are not faults");

    // Through the cache: an oversized value is still returned, just not stored.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let cache: Cache<str, Vec<u8>> = Cache::builder("limits").build(&component).expect("cache");
    let big =
        runtime.block_on(cache.get_with("big", || async { Ok::<_, std::io::Error>(vec![1; 100]) }));
    assert_eq!(big.expect("loader value").len(), 100);
    let stats = cache.stats();
    assert_eq!(
        (stats.store_errors, stats.backend_faults),
        (1, 0),
        "{stats:?}"
    );
}

#[test]
fn a_crash_loop_backs_off_instead_of_spinning() {
    // A long back-off, so that even on a loaded machine the 200 calls below all land
    // inside it.
    let limits = Limits {
        restart_backoff: Duration::from_secs(3),
        restart_backoff_max: Duration::from_secs(6),
        ..limits()
    };
    let component = component("always-trap", hostile::ALWAYS_TRAP)
        .with_limits(limits)
        .expect("limits");
    let backend = start(&component);
    let mut unavailable = 0;
    beside_a_healthy_backend(|| {
        for _ in 0..200 {
            match backend.get(b"key") {
                Err(Error::Trap { .. }) => {}
                Err(Error::Unavailable { .. }) => unavailable += 1,
                other => panic!("expected a trap or fast failure, got {other:?}"),
            }
        }
    });
    // The first fault restarts at once; the second waits 3 s: 200 quick calls see at
    // most two real traps and fail fast otherwise.
    assert!(backend.restarts() <= 2, "restarts: {}", backend.restarts());
    assert!(unavailable >= 197, "unavailable: {unavailable}");
    the_layer_answers_anyway(&component, 1);
}

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line");
    kib * 1024
}

#[test]
fn a_thousand_traps_leave_memory_flat() {
    let limits = Limits {
        restart_backoff: Duration::ZERO,
        restart_backoff_max: Duration::ZERO,
        ..limits()
    };
    let component = component("always-trap", hostile::ALWAYS_TRAP)
        .with_limits(limits)
        .expect("limits");
    let backend = start(&component);
    let trap = |n: usize| {
        for _ in 0..n {
            assert!(matches!(backend.get(b"key"), Err(Error::Trap { .. })));
        }
    };
    trap(100); // warm up allocator pools
    let before = resident_bytes();
    trap(1000);
    let after = resident_bytes();
    assert_eq!(backend.restarts(), 1099);
    let growth = after.saturating_sub(before);
    assert!(
        growth < 16 << 20,
        "RSS grew by {} KiB over 1000 traps",
        growth / 1024
    );
}

#[test]
fn bad_files_are_refused_with_distinct_errors() {
    let truncated = &builtin::LRU[..builtin::LRU.len() * 2 / 3];
    let random: Vec<u8> = (0u32..2048)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let core_module = b"\0asm\x01\0\0\0";
    let load =
        |bytes: &[u8]| BackendComponent::from_bytes(engine(), "bad", bytes).expect_err("refused");
    assert!(matches!(load(b""), Error::Load(LoadError::Empty)));
    assert!(matches!(load(&random), Error::Load(LoadError::NotWasm)));
    assert!(matches!(
        load(truncated),
        Error::Load(LoadError::Invalid { .. })
    ));
    assert!(matches!(
        load(core_module),
        Error::Load(LoadError::CoreModule)
    ));
}

#[test]
fn time_in_guests_is_the_hosts_clock() {
    // A guest never sees real time: with a manual clock, a ttl survives a real sleep.
    let clock = Arc::new(ManualClock::new());
    let backend = component("memory", builtin::MEMORY)
        .instantiate(&Vec::new(), clock.clone())
        .expect("starts");
    backend.put(b"k", b"v", Some(1)).expect("put");
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(backend.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
    clock.advance(Duration::from_millis(1));
    assert_eq!(backend.get(b"k").expect("get"), None);
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write to.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "the thread CPU clock is readable");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

#[test]
fn a_looping_guest_is_stopped_within_twice_its_budget_of_its_own_cpu_time() {
    let component = hostile_component("loop-get", hostile::LOOP_GET);
    let backend = start(&component);
    for _ in 0..3 {
        let before = thread_cpu_time();
        let error = backend.get(b"key").expect_err("the loop is interrupted");
        let used = thread_cpu_time() - before;
        assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
        assert!(
            used >= Duration::from_millis(45) && used <= Duration::from_millis(100),
            "the loop used {used:?} of CPU for a budget of 50 ms"
        );
        backend.put(b"k", b"v", None).expect("a fresh instance");
    }
}

/// A clock that takes `pause` to read: a guest calling `now-ms` is off the CPU that long,
/// as it would be if the machine were busy and the thread descheduled.
#[derive(Debug)]
struct SleepyClock {
    pause: Duration,
}

impl wasmcache::Clock for SleepyClock {
    fn now_ms(&self) -> u64 {
        std::thread::sleep(self.pause);
        0
    }
}

#[test]
fn time_a_call_spends_descheduled_does_not_count_against_its_budget() {
    let component = hostile_component("memory", builtin::MEMORY);
    let clock = Arc::new(SleepyClock {
        pause: Duration::from_millis(150),
    });
    let backend = component.instantiate(&Vec::new(), clock).expect("starts");
    // Each call reads the clock: 150 ms of wall time against a 50 ms budget, but next to
    // no CPU time.
    backend
        .put(b"k", b"v", Some(60_000))
        .expect("a put that was only descheduled is not a timeout");
    assert_eq!(backend.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
    assert_eq!(backend.restarts(), 0, "no entry was lost to a restart");
}

#[test]
fn a_call_that_waits_past_the_wall_clock_backstop_is_stopped() {
    let limits = Limits {
        call_wall_backstop: 4,
        ..limits()
    };
    let component = component("memory", builtin::MEMORY)
        .with_limits(limits)
        .expect("limits");
    let clock = Arc::new(SleepyClock {
        pause: Duration::from_millis(400),
    });
    let backend = component.instantiate(&Vec::new(), clock);
    // `init` does not read the clock; the first put does, for 400 ms > 4 × 50 ms.
    let backend = backend.expect("starts");
    let error = backend
        .put(b"k", b"v", Some(1))
        .expect_err("stopped by the backstop");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
}

/// The global allocator, watching the largest single allocation each thread makes, so a
/// test can see whether the host copied a guest's oversized output (guest memory itself is
/// mapped by the engine, not allocated here).
struct Watching;

thread_local! {
    static LARGEST: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: every call is forwarded to `System` unchanged; the thread-local is a const-
// initialised `Cell` without a destructor, so recording in it never allocates.
unsafe impl std::alloc::GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
        // SAFETY: forwarded with the caller's layout.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(new)));
        // SAFETY: forwarded with the caller's pointer, layout and size.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

/// Runs `f` and returns its result with the largest allocation this thread made meanwhile.
fn largest_allocation_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|l| l.set(0));
    let result = f();
    (result, LARGEST.with(|l| l.get()))
}

/// Checks that `stats` of `name` is refused as a contract violation naming `why`, quickly
/// and (unless `lifted_before_refusal`) without copying what the guest offered; that
/// `size` (what DBSIZE reads) copies nothing of it either; and that the backend keeps
/// serving.
fn stats_are_refused(name: &str, bytes: &[u8], why: &str) {
    let limits = Limits {
        max_memory_bytes: 128 << 20,
        call_timeout: Duration::from_secs(2),
        ..limits()
    };
    let component = component(name, bytes).with_limits(limits).expect("limits");
    let backend = start(&component);
    backend.put(b"k", b"v", None).expect("put");
    let started = Instant::now();
    let (error, largest) = largest_allocation_during(|| backend.stats().expect_err("refused"));
    let took = started.elapsed();
    assert!(
        matches!(&error, Error::ContractViolation(message) if message.contains(why)),
        "{name}: {error:?}"
    );
    let message = error.to_string();
    assert!(
        !message.contains('\n') && !message.contains('\r') && message.len() < 512,
        "{name}: {message}"
    );
    assert!(
        largest < 1 << 20,
        "{name}: the host allocated {largest} bytes at once"
    );
    assert!(took < Duration::from_secs(1), "{name}: stats took {took:?}");
    let (size, largest) = largest_allocation_during(|| backend.size().expect("size"));
    assert_eq!(size, 1, "{name}");
    assert!(
        largest < 1 << 20,
        "{name}: size allocated {largest} bytes at once"
    );
    assert_eq!(backend.get(b"k").expect("get").as_deref(), Some(&b"v"[..]));
}

#[test]
fn stats_with_a_huge_counter_name_are_refused_without_copying_it() {
    stats_are_refused(
        "stats-huge-name",
        hostile::STATS_HUGE_NAME,
        "longer than 64 bytes",
    );
}

#[test]
fn stats_with_a_million_counters_are_refused_at_the_count() {
    stats_are_refused(
        "stats-many-counters",
        hostile::STATS_MANY_COUNTERS,
        "more than 256 counters",
    );
}

#[test]
fn counter_names_must_be_kebab_case() {
    stats_are_refused("stats-bad-name", hostile::STATS_BAD_NAME, "not kebab-case");
}

#[test]
fn a_log_flood_is_read_only_up_to_the_call_budget() {
    let limits = Limits {
        max_memory_bytes: 128 << 20,
        ..limits()
    };
    let component = component("log-flood", hostile::LOG_FLOOD)
        .with_limits(limits)
        .expect("limits");
    let backend = start(&component);
    let (result, largest) =
        largest_allocation_during(|| (0..4u8).try_for_each(|i| backend.put(&[i], b"v", None)));
    result.expect("the puts themselves succeed");
    assert!(
        largest < 1 << 20,
        "the host allocated {largest} bytes at once"
    );
    let stats = backend.stats().expect("stats");
    assert!(
        stats.counters["sandbox-log-bytes-dropped"] >= 4 * ((16 << 20) - 4096),
        "{stats:?}"
    );
}

#[test]
fn a_flush_starts_a_fresh_instance_instead_of_calling_the_guest() {
    // A guest whose every call traps still flushes: no guest call of any length (a large
    // backend clearing millions of entries) stands between a flush and its end.
    let trapping = hostile_component("always-trap", hostile::ALWAYS_TRAP);
    let backend = start(&trapping);
    backend
        .invalidate(None)
        .expect("a flush is a fresh instance, not a guest call");
    assert_eq!(backend.restarts(), 0, "a flush is not a fault");
    assert!(
        matches!(backend.stats(), Err(Error::Trap { .. })),
        "calls still trap"
    );
    // A backend with entries: all gone, and usable after.
    let memory = start(&component("memory", builtin::MEMORY));
    for i in 0..10_000u32 {
        memory.put(&i.to_le_bytes(), b"value", None).expect("put");
    }
    memory.invalidate(None).expect("flush");
    assert_eq!(memory.size().expect("size"), 0);
    assert_eq!(memory.get(&7u32.to_le_bytes()).expect("get"), None);
    memory.put(b"after", b"flush", None).expect("usable after");
}

#[test]
fn a_raw_stdout_write_over_its_bound_is_refused_without_being_copied() {
    let limits = Limits {
        max_memory_bytes: 128 << 20,
        ..limits()
    };
    let component = component("stdout-raw-write", hostile::STDOUT_RAW_WRITE)
        .with_limits(limits)
        .expect("limits");
    let backend = start(&component);
    // 16 MiB in one `write` (permit 64 KiB) and in one blocking write (at most 4096 bytes).
    for (key, bound) in [(&b"write"[..], "65536 bytes"), (b"blocking", "4096 bytes")] {
        let (result, largest) = largest_allocation_during(|| backend.put(key, &[0], None));
        let key = String::from_utf8_lossy(key);
        assert!(
            matches!(&result, Err(Error::ContractViolation(message)) if message.contains(bound)),
            "{key}: {result:?}"
        );
        assert!(
            largest < 1 << 20,
            "{key}: the host allocated {largest} bytes at once"
        );
    }
    // Within the bounds the same calls are written (and cut by the output budget), on an
    // instance that has not just faulted twice.
    let backend = start(&component);
    backend
        .put(b"write", &[64], None)
        .expect("64 KiB in one write");
    backend
        .put(b"blocking", &[4], None)
        .expect("4 KiB in one blocking write");
    assert_eq!(
        backend.get(b"write").expect("get").as_deref(),
        Some(&[64][..])
    );
}
