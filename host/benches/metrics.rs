//! What the metrics cost on the get-hit path: a 64-byte hit through a [`Guard`] without
//! metrics, and through a metered one with the Prometheus recorder installed (the
//! recorder `serve --metrics` uses), for the native backend and the `memory` guest, in one
//! run so each ratio compares like with like; each pair is measured twice, alternated.
//!
//! Run: `cargo bench -p wasmcache --bench metrics`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use wasmcache::telemetry::{BackendLabels, LATENCY_BUCKETS};
use wasmcache::{
    Backend, BackendComponent, BreakerConfig, Engine, EngineConfig, Guard, MemoryBackend,
    SystemClock, builtin,
};

const KEYS: usize = 1_000;

fn backends(engine: &Engine) -> Vec<(&'static str, Arc<dyn Backend>)> {
    let wasm = BackendComponent::from_bytes(engine, "memory", builtin::MEMORY)
        .and_then(|c| c.instantiate(&Vec::new(), SystemClock::shared()))
        .expect("memory guest starts");
    let native = MemoryBackend::new(SystemClock::shared());
    vec![("native", Arc::new(native)), ("wasm", Arc::new(wasm))]
}

fn get_hit(c: &mut Criterion) {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .expect("buckets")
        .install_recorder()
        .expect("the recorder");
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let keys: Vec<Vec<u8>> = (0..KEYS)
        .map(|i| format!("key-{i:08}").into_bytes())
        .collect();
    let value = [7u8; 64];
    let mut group = c.benchmark_group("get-hit-64B");
    for (name, backend) in backends(&engine) {
        for key in &keys {
            backend.put(key, &value, None).expect("stored");
        }
        let guard = |metered: bool| {
            let guard = Guard::new(
                name,
                backend.clone(),
                BreakerConfig::default(),
                SystemClock::shared(),
            );
            if metered {
                guard.metered(BackendLabels::new(name, 0))
            } else {
                guard
            }
        };
        let (off, on) = (guard(false), guard(true));
        // Alternated twice: the machine's drift shows as a difference between rounds.
        for round in 1..=2 {
            for (label, guard) in [("off", &off), ("on", &on)] {
                let mut i = 0;
                group.bench_function(format!("{name}/metrics-{label}/{round}"), |b| {
                    b.iter(|| {
                        i = (i + 1) % KEYS;
                        black_box(guard.lookup(&keys[i]).expect("a hit"))
                    })
                });
            }
        }
        // Keep the histogram's buckets drained, as the exporter's upkeep does.
        handle.run_upkeep();
    }
    group.finish();
}

/// A backend that answers every read with a miss at once: a guard over it measures the
/// guard's own cost, without the noise of a real lookup and its allocation.
struct Empty;

impl Backend for Empty {
    fn get(&self, _: &[u8]) -> wasmcache::Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn put(&self, _: &[u8], _: &[u8], _: Option<u64>) -> wasmcache::Result<()> {
        Ok(())
    }
    fn invalidate(&self, _: Option<&[u8]>) -> wasmcache::Result<()> {
        Ok(())
    }
    fn stats(&self) -> wasmcache::Result<wasmcache::BackendStats> {
        Ok(Default::default())
    }
    fn size_limits(&self) -> wasmcache::SizeLimits {
        wasmcache::SizeLimits::default()
    }
}

/// The metrics' own cost per call: a guard over [`Empty`], metered or not.
fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("guard-overhead");
    let backend: Arc<dyn Backend> = Arc::new(Empty);
    let off = Guard::new(
        "empty",
        backend.clone(),
        BreakerConfig::default(),
        SystemClock::shared(),
    );
    let on = Guard::new(
        "empty",
        backend,
        BreakerConfig::default(),
        SystemClock::shared(),
    )
    .metered(BackendLabels::new("empty", 0));
    for round in 1..=2 {
        for (label, guard) in [("off", &off), ("on", &on)] {
            group.bench_function(format!("metrics-{label}/{round}"), |b| {
                b.iter(|| black_box(guard.lookup(black_box(b"key")).expect("a miss")))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, get_hit, overhead);
criterion_main!(benches);
