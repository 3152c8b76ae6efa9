//! The near cache in front of a Redis Cluster, in one run: a 3-master cluster started here
//! holds 100 000 keys of 100 bytes; 60 000 reads with Zipf-distributed keys (s = 0.99,
//! larger than the near cache, the `lru` guest bounded to 10 000 entries) go
//! (1) through the near cache, (2) through the same tier with no near cache (every read
//! goes upstream), and (3) straight to the cluster with the `redis` crate. Prints the near
//! cache's hit ratio, p50/p99 per read and reads per second of each.
//!
//! Run (after `guest-examples/setup-toolchains.sh redis`):
//! `cargo bench -p wasmcache-tests --bench near_cache`

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmcache::tier::{Tier, TierConfig};
use wasmcache::{
    Backend, BackendComponent, BackendStats, Engine, EngineConfig, Limits, SizeLimits, SystemClock,
    builtin,
};
use wasmcache_tests::redis_servers::RedisCluster;

const KEYS: usize = 100_000;
const NEAR_ENTRIES: usize = 10_000;
const READS: usize = 60_000;
const ZIPF_S: f64 = 0.99;

/// Key ranks drawn from a Zipf distribution over `n` keys (inverse transform on the CDF),
/// from a fixed-seed generator so every variant reads the same sequence.
fn zipf_sequence(n: usize, count: usize) -> Vec<usize> {
    let weights: Vec<f64> = (1..=n)
        .map(|rank| 1.0 / (rank as f64).powf(ZIPF_S))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(n);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            cdf.partition_point(|&c| c < u).min(n - 1)
        })
        .collect()
}

fn key(rank: usize) -> Vec<u8> {
    // Ranks scattered over the key space, so hot keys land on every master.
    format!("item:{:08}", (rank * 7_919) % KEYS).into_bytes()
}

/// A near cache that never keeps anything: the tier's own cost, every read upstream.
struct NoNear;

impl Backend for NoNear {
    fn get(&self, _: &[u8]) -> wasmcache::Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn put(&self, _: &[u8], _: &[u8], _: Option<u64>) -> wasmcache::Result<()> {
        Ok(())
    }
    fn invalidate(&self, _: Option<&[u8]>) -> wasmcache::Result<()> {
        Ok(())
    }
    fn stats(&self) -> wasmcache::Result<BackendStats> {
        Ok(BackendStats::default())
    }
    fn size_limits(&self) -> SizeLimits {
        SizeLimits::default()
    }
}

struct Measured {
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

fn measure(sequence: &[usize], mut read: impl FnMut(&[u8])) -> Measured {
    let mut samples = Vec::with_capacity(sequence.len());
    let started = Instant::now();
    for &rank in sequence {
        let key = key(rank);
        let t = Instant::now();
        read(&key);
        samples.push(t.elapsed());
    }
    let total = started.elapsed();
    samples.sort_unstable();
    Measured {
        p50: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
        per_second: sequence.len() as f64 / total.as_secs_f64(),
    }
}

fn main() {
    let cluster = RedisCluster::start(3);
    let tier = Tier::connect(TierConfig {
        cluster: true,
        ..TierConfig::new(cluster.url())
    })
    .expect("the tier connects");
    let value = vec![b'v'; 100];
    let loader = tier.near_cache(Arc::new(NoNear));
    for rank in 0..KEYS {
        loader
            .put(format!("item:{rank:08}").as_bytes(), &value, None)
            .expect("load");
    }
    let engine = Engine::new(EngineConfig::default()).expect("engine");
    let lru = BackendComponent::from_bytes(&engine, "lru", builtin::LRU)
        .and_then(|c| {
            c.with_limits(Limits {
                max_memory_bytes: 256 << 20,
                ..Limits::default()
            })
        })
        .expect("lru loads");
    let options = vec![("max-entries".to_string(), NEAR_ENTRIES.to_string())];
    let near: Arc<dyn Backend> = Arc::new(
        lru.instantiate(&options, SystemClock::shared())
            .expect("lru starts"),
    );
    let with_near = tier.near_cache(near.clone());
    while !tier.is_tracking() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let sequence = zipf_sequence(KEYS, READS);

    let near_hits_before = near_hits(&tier);
    let through_near = measure(&sequence, |k| {
        with_near.get(k).expect("read").expect("loaded");
    });
    let hits = near_hits(&tier) - near_hits_before;
    let no_near = tier.near_cache(Arc::new(NoNear));
    let upstream_only = measure(&sequence, |k| {
        no_near.get(k).expect("read").expect("loaded");
    });
    let client = redis::cluster::ClusterClient::new(vec![cluster.url()]).expect("client");
    let mut direct = client.get_connection().expect("connects");
    let straight = measure(&sequence, |k| {
        let _: Vec<u8> = redis::cmd("GET").arg(k).query(&mut direct).expect("get");
    });

    println!(
        "near cache over a 3-master Redis Cluster: {KEYS} keys of 100 B, {READS} Zipf(s = {ZIPF_S}) reads, near cache `lru` of {NEAR_ENTRIES} entries"
    );
    println!(
        "near-cache hit ratio: {:.1} %",
        100.0 * hits as f64 / READS as f64
    );
    println!(
        "{:<40} {:>10} {:>10} {:>12}",
        "path", "p50", "p99", "reads/s"
    );
    for (name, m) in [
        ("through the near cache", &through_near),
        ("the tier without a near cache", &upstream_only),
        ("straight to the cluster (redis crate)", &straight),
    ] {
        println!(
            "{name:<40} {:>8.1}µs {:>8.1}µs {:>12.0}",
            m.p50.as_secs_f64() * 1e6,
            m.p99.as_secs_f64() * 1e6,
            m.per_second
        );
    }
}

fn near_hits(tier: &Tier) -> u64 {
    tier.counters()
        .into_iter()
        .find(|(name, _)| name == "tier_near_hits")
        .map_or(0, |(_, n)| n)
}
