//! Reload time with a cold and a warm compile cache, and handover throughput.
//!
//! Run: `cargo bench -p wasmcache --bench reload`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wasmcache::reload::{BackendHandle, HandoverLimits, Source};
use wasmcache::{Backend, Engine, EngineConfig, Limits, SystemClock, builtin};

fn reload_time(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cold = Engine::new(EngineConfig::default()).expect("engine");
    let warm = Engine::new(EngineConfig {
        compile_cache: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    })
    .expect("engine");
    let mut group = c.benchmark_group("reload");
    group.sample_size(20);
    for (label, engine) in [("cold_compile", &cold), ("warm_compile_cache", &warm)] {
        for (name, bytes) in builtin::ALL {
            let handle = BackendHandle::load_with(
                engine,
                Source::bytes(*name, *bytes),
                Vec::new(),
                SystemClock::shared(),
                Limits::default(),
                HandoverLimits::none(),
            )
            .expect("loads");
            group.bench_function(format!("{label}/{name}"), |b| {
                b.iter(|| {
                    handle
                        .reload_blocking(Source::bytes(*name, *bytes))
                        .expect("reloads")
                })
            });
        }
    }
    group.finish();
}

fn handover(c: &mut Criterion) {
    const ENTRIES: u64 = 10_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::new(EngineConfig {
        compile_cache: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    })
    .expect("engine");
    let handle = BackendHandle::load(
        &engine,
        Source::bytes("memory", builtin::MEMORY),
        Vec::new(),
        SystemClock::shared(),
        Limits::default(),
    )
    .expect("loads");
    for i in 0..ENTRIES {
        handle
            .put(format!("key-{i:012}").as_bytes(), &[0xa5; 64], None)
            .expect("put");
    }
    let mut group = c.benchmark_group("handover");
    group.sample_size(20);
    group.throughput(Throughput::Elements(ENTRIES));
    group.bench_function("memory_to_memory/10k_entries_64B", |b| {
        b.iter(|| {
            let report = handle
                .reload_blocking(Source::bytes("memory", builtin::MEMORY))
                .expect("reloads");
            assert_eq!(report.handover.entries, ENTRIES);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = reload_time, handover
}
criterion_main!(benches);
