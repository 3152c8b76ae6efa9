//! Per-call cost of the native `MemoryBackend` against the `memory` guest, measured in the
//! same groups so each ratio comes from one run; plus compile and instantiate times.
//!
//! Run: `cargo bench -p wasmcache --bench backend`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wasmcache::{
    Backend, BackendComponent, DeadlineClock, Engine, EngineConfig, Limits, MemoryBackend,
    PoolingConfig, SizeLimits, SystemClock, builtin,
};

const KEYS: usize = 10_000;
const SIZES: [usize; 3] = [64, 1024, 64 * 1024];

/// 16-byte keys, visited in a fixed pseudo-random order.
fn keys() -> Vec<[u8; 16]> {
    let mut order: Vec<usize> = (0..KEYS).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..order.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order
        .into_iter()
        .map(|i| {
            *format!("key-{i:012}")
                .as_bytes()
                .first_chunk()
                .expect("16 bytes")
        })
        .collect()
}

fn limits() -> Limits {
    Limits {
        sizes: SizeLimits {
            max_key_bytes: 1024,
            max_value_bytes: 1 << 20,
        },
        // 10k values of 64 KiB.
        max_memory_bytes: 1 << 30,
        ..Limits::default()
    }
}

fn backends(engine: &Engine) -> Vec<(&'static str, Box<dyn Backend>)> {
    let component = BackendComponent::from_bytes(engine, "memory", builtin::MEMORY)
        .and_then(|c| c.with_limits(limits()))
        .expect("memory guest loads");
    let wasm = component
        .instantiate(&Vec::new(), SystemClock::shared())
        .expect("memory guest starts");
    let native = MemoryBackend::with_limits(SystemClock::shared(), limits().sizes);
    vec![("native", Box::new(native)), ("wasm", Box::new(wasm))]
}

fn calls(c: &mut Criterion) {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let keys = keys();
    for size in SIZES {
        let value = vec![0xa5_u8; size];
        let backends = backends(&engine);
        for (_, backend) in &backends {
            for key in &keys {
                backend.put(key, &value, None).expect("prefill");
            }
        }
        for op in ["get_hit", "get_miss", "put"] {
            let mut group = c.benchmark_group(format!("{op}/{size}B"));
            group.throughput(Throughput::Elements(1));
            for (name, backend) in &backends {
                let mut i = 0usize;
                group.bench_function(BenchmarkId::from_parameter(name), |b| {
                    b.iter(|| {
                        i = (i + 1) % KEYS;
                        let key = &keys[i];
                        match op {
                            "get_hit" => {
                                black_box(backend.get(key).expect("get"));
                            }
                            "get_miss" => {
                                let mut miss = *key;
                                miss[0] = b'm';
                                black_box(backend.get(&miss).expect("get"));
                            }
                            _ => backend.put(key, &value, None).expect("put"),
                        }
                    });
                });
            }
            group.finish();
        }
    }
}

fn load(c: &mut Criterion) {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for (name, bytes) in builtin::ALL {
        group.bench_function(*name, |b| {
            b.iter(|| BackendComponent::from_bytes(&engine, name, bytes).expect("compiles"));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("instantiate_and_init");
    let unpooled = Engine::new(EngineConfig {
        pooling: None,
        ..EngineConfig::default()
    })
    .expect("engine");
    // The pooling allocator handing every freed page back to the kernel (`madvise`), as
    // it does where `PAGEMAP_SCAN` is missing.
    let madvise = Engine::new(EngineConfig {
        pooling: Some(PoolingConfig {
            keep_resident_bytes: 0,
            ..PoolingConfig::default()
        }),
        ..EngineConfig::default()
    })
    .expect("engine");
    let engines = [
        ("pooling", &engine),
        ("pooling_madvise", &madvise),
        ("on_demand", &unpooled),
    ];
    let components: Vec<_> = engines
        .iter()
        .map(|(label, engine)| {
            let component =
                BackendComponent::from_bytes(engine, "memory", builtin::MEMORY).expect("compiles");
            (*label, component)
        })
        .collect();
    let clock = SystemClock::shared();
    // Each instance is dropped as soon as it is made, inside the timing: the fresh
    // instance and the old one's return to the pool, as a restart costs in all.
    for (label, component) in &components {
        group.bench_function(*label, |b| {
            b.iter(|| {
                component
                    .instantiate(&Vec::new(), clock.clone())
                    .expect("starts")
            });
        });
    }
    group.finish();
    // The instances are dropped 32 at a time outside the timing: what a caller waits
    // for when the old instance is dropped after the lock is released (a flush).
    let mut group = c.benchmark_group("instantiate_and_init_without_drop");
    for (label, component) in &components {
        group.bench_function(*label, |b| {
            b.iter_batched(
                || (),
                |()| {
                    component
                        .instantiate(&Vec::new(), clock.clone())
                        .expect("starts")
                },
                BatchSize::NumIterations(32),
            );
        });
    }
    group.finish();
}

/// What the sandbox's time bounds cost on the get-hit path: no deadline, the epoch
/// deadline (the default), and the deadline plus fuel metering.
fn sandbox(c: &mut Criterion) {
    let keys = keys();
    let value = vec![0xa5_u8; 64];
    let variants = [
        (
            "no_deadline",
            EngineConfig {
                deadlines: false,
                ..EngineConfig::default()
            },
            None,
        ),
        (
            "wall_clock_deadline",
            EngineConfig {
                deadline_clock: DeadlineClock::Wall,
                ..EngineConfig::default()
            },
            None,
        ),
        ("cpu_time_deadline", EngineConfig::default(), None),
        (
            "deadline_and_fuel",
            EngineConfig {
                fuel: true,
                ..EngineConfig::default()
            },
            Some(10_000_000),
        ),
    ];
    let mut group = c.benchmark_group("sandbox_get_hit/64B");
    for (name, config, fuel) in variants {
        let engine = Engine::new(config).expect("engine");
        let limits = Limits {
            fuel_per_call: fuel,
            ..Limits::default()
        };
        let backend = BackendComponent::from_bytes(&engine, "memory", builtin::MEMORY)
            .and_then(|c| c.with_limits(limits))
            .and_then(|c| c.instantiate(&Vec::new(), SystemClock::shared()))
            .expect("memory guest starts");
        for key in &keys {
            backend.put(key, &value, None).expect("prefill");
        }
        let mut i = 0usize;
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % KEYS;
                black_box(backend.get(&keys[i]).expect("get"))
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = calls, sandbox, load
}
criterion_main!(benches);
