//! Reload time with a cold and a warm compile cache, and handover throughput.
//!
//! Run: `cargo bench -p wasmcache --bench reload`

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wasmcache::builtin;
use wasmcache::reload::{HandoverLimits, Source};

mod common;

fn reload_time(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cold = common::engine(None);
    let warm = common::engine(Some(dir.path()));
    let mut group = c.benchmark_group("reload");
    group.sample_size(20);
    for (label, engine) in [("cold_compile", &cold), ("warm_compile_cache", &warm)] {
        for (name, bytes) in builtin::ALL {
            let handle =
                common::handle(engine, Source::bytes(*name, *bytes), HandoverLimits::none());
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
    let engine = common::engine(Some(dir.path()));
    let handle = common::handle(&engine, common::memory(), HandoverLimits::default());
    common::fill(&handle, ENTRIES);
    let mut group = c.benchmark_group("handover");
    group.sample_size(20);
    group.throughput(Throughput::Elements(ENTRIES));
    group.bench_function("memory_to_memory/10k_entries_64B", |b| {
        b.iter(|| {
            let report = handle.reload_blocking(common::memory()).expect("reloads");
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
