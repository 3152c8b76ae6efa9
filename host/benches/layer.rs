//! What the cache layer adds on its hit path: `Cache::get` and `Cache::get_with` against
//! the bare backend call with an already-encoded key, over the `memory` guest and the
//! native backend, in the same groups.
//!
//! Run: `cargo bench -p wasmcache --bench layer`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmcache::cache::{Cache, Codec, Postcard};
use wasmcache::{
    Backend, BackendComponent, BackendFactory, Engine, EngineConfig, MemoryBackendFactory, builtin,
};

const KEYS: u64 = 10_000;

/// Polls a future that is expected to finish at once (a cache hit never waits).
fn ready<T>(future: impl Future<Output = T>) -> T {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("a hit must not wait"),
    }
}

fn hit_path(c: &mut Criterion) {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let component =
        BackendComponent::from_bytes(&engine, "memory", builtin::MEMORY).expect("compiles");
    let factories: [(&str, Arc<dyn BackendFactory>); 2] = [
        ("native", Arc::new(MemoryBackendFactory::default())),
        ("wasm", Arc::new(component)),
    ];
    let value = "x".repeat(64);
    for (kind, factory) in factories {
        let cache: Cache<u64, String> = Cache::builder("bench").build(&*factory).expect("cache");
        for key in 0..KEYS {
            cache.insert(&key, &value).expect("prefill");
        }
        let backend: Arc<dyn Backend> = cache.backend().clone();
        let encoded: Vec<Vec<u8>> = (0..KEYS)
            .map(|k| Postcard.encode(&k).expect("encodes"))
            .collect();
        let mut group = c.benchmark_group(format!("layer_hit_64B/{kind}"));
        let mut i = 0;
        group.bench_function("bare_backend_get", |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                black_box(backend.get(&encoded[i as usize]).expect("hit"))
            })
        });
        group.bench_function("cache_get", |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                black_box(cache.get(&i).expect("hit"))
            })
        });
        group.bench_function("cache_get_with", |b| {
            b.iter(|| {
                i = (i + 7919) % KEYS;
                let loaded = ready(cache.get_with(&i, || async { Err::<String, ()>(()) }));
                black_box(loaded.expect("hit"))
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = hit_path
}
criterion_main!(benches);
