//! What it would cost to run guest calls on a thread of their own (one thread per shard,
//! fed through a channel, as Dragonfly and KeyDB keep shards apart) instead of inline on
//! the connection's thread, as `wasmcache serve` does: the same `get` of a 64-byte value
//! from the `memory` guest, and a batch of 16, called inline and through a hop to a shard
//! thread and back. The difference is the hop; BENCHMARKS.md weighs it against the call.
//!
//! Run: `cargo bench -p wasmcache --bench hop`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmcache::{Backend, BackendComponent, Engine, EngineConfig, SystemClock, builtin};

const KEYS: usize = 4096;

type Reply = mpsc::SyncSender<Vec<Option<Vec<u8>>>>;

/// A shard thread: owns nothing but a handle to the backend, answers batches of keys.
fn shard_thread(backend: Arc<dyn Backend>) -> mpsc::Sender<(Vec<Vec<u8>>, Reply)> {
    let (requests, incoming) = mpsc::channel::<(Vec<Vec<u8>>, Reply)>();
    std::thread::spawn(move || {
        while let Ok((keys, reply)) = incoming.recv() {
            let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
            let _ = reply.send(backend.get_many(&keys).expect("get_many"));
        }
    });
    requests
}

fn hop(c: &mut Criterion) {
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let component =
        BackendComponent::from_bytes(&engine, "memory", builtin::MEMORY).expect("compiles");
    let backend: Arc<dyn Backend> = Arc::new(
        component
            .instantiate(&Vec::new(), SystemClock::shared())
            .expect("starts"),
    );
    let keys: Vec<Vec<u8>> = (0..KEYS)
        .map(|i| format!("key-{i:08}").into_bytes())
        .collect();
    for key in &keys {
        backend.put(key, &[0xa5; 64], None).expect("prefill");
    }
    let shard = shard_thread(backend.clone());
    for batch in [1usize, 16] {
        let mut group = c.benchmark_group(format!("guest_call_{batch}_gets"));
        group.measurement_time(Duration::from_secs(4));
        let mut i = 0;
        group.bench_function("inline", |b| {
            b.iter(|| {
                i = (i + batch) % (KEYS - batch);
                let batch: Vec<&[u8]> = keys[i..i + batch].iter().map(Vec::as_slice).collect();
                black_box(backend.get_many(&batch).expect("get_many"))
            });
        });
        let mut i = 0;
        group.bench_function("shard_thread", |b| {
            b.iter(|| {
                i = (i + batch) % (KEYS - batch);
                let (reply, answer) = mpsc::sync_channel(1);
                shard
                    .send((keys[i..i + batch].to_vec(), reply))
                    .expect("shard alive");
                black_box(answer.recv().expect("answer"))
            });
        });
        group.finish();
    }
}

criterion_group!(benches, hop);
criterion_main!(benches);
