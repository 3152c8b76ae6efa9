//! [`Publisher`]: pushes numbers the host already keeps to the `metrics` facade, every
//! few seconds instead of on every call.

use std::collections::HashMap;

use metrics::{Counter, Key, Label};

use super::backend::BackendLabels;
use super::names;
use crate::reload::BackendHandle;

/// The sandbox's own counters ([`Backend::sandbox_counters`](crate::Backend::sandbox_counters))
/// that are published, and as what. Its fault counters are not: the guard counts faults by
/// kind as they happen.
const SANDBOX: [(&str, &str); 3] = [
    ("sandbox-restarts", names::RESTARTS),
    ("sandbox-fuel-used", names::FUEL),
    ("sandbox-log-bytes-dropped", names::LOG_DROPPED),
];

/// One published counter: the total it was last given, and its handle.
struct Published {
    last: u64,
    epoch: u64,
    counter: Counter,
}

/// Publishes totals kept elsewhere as `metrics` counters and gauges. A total is turned
/// into an increment by remembering the last one; a total that starts again from zero (a
/// new generation's counters do) adds what it has counted since, so the published counter
/// only grows, as Prometheus expects.
#[derive(Default)]
pub struct Publisher {
    counters: HashMap<Key, Published>,
    /// The `wasmcache_backend_info` labels last set to 1, per backend series.
    info: HashMap<Vec<Label>, Vec<Label>>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("counters", &self.counters.len())
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher that has published nothing yet.
    pub fn new() -> Self {
        Publisher::default()
    }

    /// Publishes counter `name` with `labels` at `total`. `epoch` names the life of the
    /// count: when it changes, the count has started again from zero.
    pub fn count(&mut self, name: &'static str, labels: Vec<Label>, epoch: u64, total: u64) {
        let key = Key::from_parts(name, labels);
        let entry = self
            .counters
            .entry(key)
            .or_insert_with_key(|key| Published {
                last: 0,
                epoch,
                counter: metrics::counter!(name, key.labels().cloned().collect::<Vec<_>>()),
            });
        let added = if entry.epoch == epoch && total >= entry.last {
            total - entry.last
        } else {
            total
        };
        if added > 0 {
            entry.counter.increment(added);
        }
        entry.last = total;
        entry.epoch = epoch;
    }

    /// Sets gauge `name` with `labels` to `value`.
    pub fn gauge(&mut self, name: &'static str, labels: Vec<Label>, value: f64) {
        metrics::gauge!(name, labels).set(value);
    }

    /// Publishes what `handle` keeps about the backend `labels` names: the generation and
    /// what serves (`wasmcache_backend_info`), reloads, compactions and handover entries,
    /// entries, guest memory, sandbox restarts, fuel and dropped log bytes, and the
    /// backend's own counters. Reads its `stats` and memory use (two calls into a guest);
    /// a call that fails leaves its series as they were.
    pub fn backend(&mut self, labels: &BackendLabels, handle: &BackendHandle) {
        let status = handle.status();
        let base = labels.with(&[]);
        self.gauge(names::GENERATION, base.clone(), status.generation as f64);
        let digest = status.sha256.clone().unwrap_or_else(|| "native".into());
        let info = labels.with(&[
            ("component", status.component.clone()),
            ("digest", digest),
            ("generation", status.generation.to_string()),
        ]);
        if let Some(old) = self.info.insert(base.clone(), info.clone())
            && old != info
        {
            self.gauge(names::INFO, old, 0.0);
        }
        self.gauge(names::INFO, info, 1.0);
        for (outcome, total) in [("accepted", status.reloads), ("rejected", status.rejected)] {
            let labels = labels.with(&[("outcome", outcome.into())]);
            self.count(names::RELOADS, labels, 0, total);
        }
        self.count(names::COMPACTIONS, base.clone(), 0, status.compactions);
        self.count(
            names::HANDOVER_ENTRIES,
            base.clone(),
            0,
            status.handover_entries,
        );

        // A new instance (a reload or a compaction) counts from zero again.
        let epoch = status.generation << 32 | (status.compactions & 0xffff_ffff);
        let current = handle.current();
        // Read without calling the guest: they show even while every call traps.
        for (name, value) in current.backend.sandbox_counters() {
            if let Some((_, metric)) = SANDBOX.iter().find(|(n, _)| *n == name) {
                self.count(metric, base.clone(), epoch, value);
            }
        }
        match current.backend.stats() {
            Ok(stats) => {
                self.gauge(names::ENTRIES, base.clone(), stats.size as f64);
                for (name, value) in stats.counters {
                    if !name.starts_with("sandbox-") {
                        let labels = labels.with(&[("stat", name)]);
                        self.count(names::GUEST_STATS, labels, epoch, value);
                    }
                }
            }
            Err(error) => {
                tracing::debug!(target: "wasmcache::telemetry", backend = %labels.backend, shard = %labels.shard, "stats not published: {error}");
            }
        }
        match current.backend.memory_use() {
            Ok(Some(memory)) => self.gauge(names::MEMORY, base, memory.held_bytes as f64),
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(target: "wasmcache::telemetry", backend = %labels.backend, shard = %labels.shard, "memory use not published: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    fn counter_value(snapshot: &[(metrics_util::CompositeKey, DebugValue)], name: &str) -> u64 {
        snapshot
            .iter()
            .filter(|(key, _)| key.key().name() == name)
            .map(|(_, value)| match value {
                DebugValue::Counter(v) => *v,
                _ => 0,
            })
            .sum()
    }

    #[test]
    fn totals_become_increments_and_a_restart_adds_what_it_counted_since() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let mut publisher = Publisher::new();
            let labels = || vec![Label::new("backend", "b")];
            publisher.count("c_total", labels(), 1, 5);
            publisher.count("c_total", labels(), 1, 8);
            publisher.count("c_total", labels(), 1, 8);
            // The count started again (a new generation) and has reached 2.
            publisher.count("c_total", labels(), 2, 2);
            // A smaller total under the same epoch is a restart too.
            publisher.count("c_total", labels(), 2, 1);
        });
        let values: Vec<_> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| (key, value))
            .collect();
        assert_eq!(counter_value(&values, "c_total"), 8 + 2 + 1);
    }
}
