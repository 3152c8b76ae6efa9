//! Call latency percentiles on a `BackendHandle` in steady state and during two reload
//! storms, measured in one run: back-to-back reloads alternating between the two Rust
//! guests, and one reload every 100 ms. Each reload has a warm compile cache and hands
//! 10k entries over.
//!
//! Run: `cargo bench -p wasmcache --bench reload_latency`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmcache::reload::{BackendHandle, HandoverLimits, Source};
use wasmcache::{Backend, builtin};

mod common;

const KEYS: u32 = 10_000;
const CALLS: usize = 400_000;

fn measure(handle: &BackendHandle) -> Vec<u64> {
    let mut samples = Vec::with_capacity(CALLS);
    for n in 0..CALLS {
        let key = format!("key-{:012}", (n as u32).wrapping_mul(7919) % KEYS);
        let started = Instant::now();
        if n % 4 == 0 {
            handle.put(key.as_bytes(), &[0x5a; 64], None).expect("put");
        } else {
            std::hint::black_box(handle.get(key.as_bytes()).expect("get"));
        }
        samples.push(started.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    samples
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = common::engine(Some(dir.path()));
    let handle = common::handle(&engine, common::memory(), HandoverLimits::default());
    common::fill(&handle, u64::from(KEYS));
    // Warm the compile cache for both guests.
    handle
        .reload_blocking(Source::bytes("lru", builtin::LRU))
        .expect("reload");
    handle.reload_blocking(common::memory()).expect("reload");

    let steady = measure(&handle);
    let back_to_back = storm(&handle, Duration::ZERO);
    let paced = storm(&handle, Duration::from_millis(100));
    println!(
        "call latency on a BackendHandle, {CALLS} calls (3 get : 1 put), 64 B values, {KEYS} keys"
    );
    println!(
        "{:<22} {:>8} {:>8} {:>8} {:>9} {:>10} {:>8}",
        "", "p50 ns", "p90 ns", "p99 ns", "p99.9 ns", "max ns", "reloads"
    );
    let steady_p99 = percentile(&steady, 0.99);
    for (label, (samples, reloads)) in [
        ("steady", (steady, 0)),
        ("storm, back to back", back_to_back),
        ("storm, every 100 ms", paced),
    ] {
        println!(
            "{label:<22} {:>8} {:>8} {:>8} {:>9} {:>10} {:>8}   p99 / steady p99 = {:.2}",
            percentile(&samples, 0.5),
            percentile(&samples, 0.9),
            percentile(&samples, 0.99),
            percentile(&samples, 0.999),
            samples[samples.len() - 1],
            reloads,
            percentile(&samples, 0.99) as f64 / steady_p99 as f64
        );
    }
}

/// Measures calls while another thread reloads, pausing `pace` between reloads.
fn storm(handle: &BackendHandle, pace: Duration) -> (Vec<u64>, u64) {
    let stop = AtomicBool::new(false);
    let reloads = AtomicU64::new(0);
    let samples = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (name, bytes) = builtin::ALL[(n % 2) as usize];
                handle
                    .reload_blocking(Source::bytes(name, bytes))
                    .expect("reload");
                n += 1;
                std::thread::sleep(pace);
            }
            reloads.store(n, Ordering::Relaxed);
        });
        let samples = measure(handle);
        stop.store(true, Ordering::Relaxed);
        samples
    });
    (samples, reloads.load(Ordering::Relaxed))
}
