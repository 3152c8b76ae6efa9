//! Every guest example beside the Rust guest and the native backend, in one run: get-hit
//! and put with 64-byte values, each component's compile time with a cold and a warm
//! compile cache, and its instantiation time.
//!
//! Run (after `guest-examples/setup-toolchains.sh`):
//! `cargo bench -p wasmcache-tests --bench languages`

use std::path::PathBuf;
use std::time::Instant;

use wasmcache::{
    Backend, BackendComponent, BackendFactory, Engine, EngineConfig, MemoryBackendFactory,
    SystemClock, builtin,
};

/// The WAT ring holds 64 entries; every backend gets the same keys so all answer hits.
const KEYS: usize = 64;
const CALLS: usize = 200_000;

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:012}").into_bytes()
}

/// Median nanoseconds per call and calls per second of `op` over `CALLS` calls.
fn time(backend: &dyn Backend, op: &str) -> (u64, f64) {
    let value = [0xa5_u8; 64];
    let mut samples = Vec::with_capacity(CALLS);
    let started = Instant::now();
    for n in 0..CALLS {
        let k = key((n * 7919) % KEYS);
        let call = Instant::now();
        match op {
            "get" => assert!(
                backend.get(&k).expect("get").is_some(),
                "a filled key is present"
            ),
            _ => backend.put(&k, &value, None).expect("put"),
        }
        samples.push(call.elapsed().as_nanos() as u64);
    }
    let rate = CALLS as f64 / started.elapsed().as_secs_f64();
    samples.sort_unstable();
    (samples[samples.len() / 2], rate)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let builds = target.join("tmp/guest-builds");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let warm = Engine::new(EngineConfig {
        compile_cache: Some(cache_dir.path().to_path_buf()),
        ..EngineConfig::default()
    })
    .expect("engine");
    let cold = Engine::new(EngineConfig::default()).expect("engine");

    let mut guests: Vec<(String, Vec<u8>)> = vec![("rust/memory".into(), builtin::MEMORY.to_vec())];
    for (lang, name) in [
        ("python", "lfu"),
        ("js", "lru"),
        ("c", "clock"),
        ("wat", "ring"),
    ] {
        guests.push((
            format!("{lang}/{name}"),
            wasmcache_tests::build_example(lang, name, &builds),
        ));
    }

    println!(
        "compile time, {:<14} {:>10} {:>12} {:>14}",
        "component", "size", "cold", "warm cache"
    );
    let mut loaded: Vec<(String, BackendComponent)> = Vec::new();
    for (name, bytes) in &guests {
        let started = Instant::now();
        BackendComponent::from_bytes(&cold, name, bytes).expect("compiles");
        let cold_time = started.elapsed();
        BackendComponent::from_bytes(&warm, name, bytes).expect("compiles into the cache");
        let started = Instant::now();
        let component =
            BackendComponent::from_bytes(&warm, name, bytes).expect("loads from the cache");
        let warm_time = started.elapsed();
        assert!(component.info().from_cache);
        println!(
            "              {name:<14} {:>8} KiB {:>9.1} ms {:>11.2} ms",
            bytes.len() / 1024,
            cold_time.as_secs_f64() * 1e3,
            warm_time.as_secs_f64() * 1e3
        );
        loaded.push((name.clone(), component));
    }

    println!("\ninstantiate + init from the pool (median of 1000)");
    for (name, component) in &loaded {
        let mut samples: Vec<u64> = (0..1000)
            .map(|_| {
                let started = Instant::now();
                let backend = component
                    .init(&Vec::new(), SystemClock::shared())
                    .expect("starts");
                let elapsed = started.elapsed().as_nanos() as u64;
                drop(backend);
                elapsed
            })
            .collect();
        samples.sort_unstable();
        let wasi = if component.info().uses_wasi() {
            "imports WASI"
        } else {
            "WASI-free"
        };
        println!(
            "              {name:<14} {:>9.1} µs   {wasi}",
            samples[500] as f64 / 1e3
        );
    }

    println!("\n64 B values, {KEYS} keys, {CALLS} calls each (median ns per call; calls/s)");
    println!(
        "{:<14} {:>10} {:>12} {:>8} {:>10} {:>12} {:>8}",
        "backend", "get p50", "get/s", "x native", "put p50", "put/s", "x native"
    );
    let native = MemoryBackendFactory::default();
    let mut subjects: Vec<(String, &dyn BackendFactory)> = vec![("native".into(), &native)];
    subjects.extend(
        loaded
            .iter()
            .map(|(name, c)| (name.clone(), c as &dyn BackendFactory)),
    );
    let mut baseline = (0u64, 0u64);
    for (name, factory) in subjects {
        let backend = factory
            .init(&Vec::new(), SystemClock::shared())
            .expect("starts");
        for i in 0..KEYS {
            backend.put(&key(i), &[0xa5; 64], None).expect("fill");
        }
        let (get, get_rate) = time(&*backend, "get");
        let (put, put_rate) = time(&*backend, "put");
        if name == "native" {
            baseline = (get.max(1), put.max(1));
        }
        println!(
            "{name:<14} {get:>10} {get_rate:>12.0} {:>8.2} {put:>10} {put_rate:>12.0} {:>8.2}",
            get as f64 / baseline.0 as f64,
            put as f64 / baseline.1 as f64
        );
    }
}
