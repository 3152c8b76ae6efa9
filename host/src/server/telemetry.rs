//! The server's metrics: every few seconds, what the server and each shard have counted is
//! published through the `metrics` facade (see [`crate::telemetry`]), on a blocking
//! thread, one round at a time. The per-call series come from the shards' metered guards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::Label;

use super::state::ServerState;
use crate::telemetry::{BackendLabels, Publisher, names};

/// The server's publisher and whether a round is running.
#[derive(Debug, Default)]
pub(super) struct ServerMetrics {
    publisher: Mutex<Publisher>,
    busy: AtomicBool,
}

impl ServerMetrics {
    /// Starts a publishing round on a blocking thread, unless one is running.
    pub(super) fn tick(state: &Arc<ServerState>) {
        if state.metrics.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            state.metrics.publish(&state);
            state.metrics.busy.store(false, Ordering::Release);
        });
    }

    /// Publishes every shard's backend series and the server's own.
    pub(super) fn publish(&self, state: &ServerState) {
        let mut publisher = self
            .publisher
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let shards = &state.shards;
        let fallback = shards.status().component;
        for (index, (guard, handle)) in shards
            .guards()
            .iter()
            .zip(shards.group().handles())
            .enumerate()
        {
            guard.flush_metrics();
            let labels = guard
                .metric_labels()
                .cloned()
                .unwrap_or_else(|| BackendLabels::new(fallback.clone(), index));
            publisher.backend(&labels, handle);
        }

        let c = &state.counters;
        let none = Vec::<Label>::new;
        for (name, total) in [
            (names::CONNECTIONS, c.connections.get()),
            (names::REJECTED_CONNECTIONS, c.rejected_clients.get()),
            (names::PROTOCOL_ERRORS, c.protocol_errors.get()),
            (names::BYTES_IN, c.bytes_in.get()),
            (names::BYTES_OUT, c.bytes_out.get()),
            (names::KEYSPACE_HITS, c.keyspace_hits.get()),
            (names::KEYSPACE_MISSES, c.keyspace_misses.get()),
        ] {
            publisher.count(name, none(), 0, total);
        }
        let connected = state.clients.load(Ordering::Relaxed);
        publisher.gauge(names::CONNECTED, none(), connected as f64);
        for totals in c.command_totals() {
            let label = || vec![Label::new("command", totals.name.to_ascii_lowercase())];
            publisher.count(names::COMMANDS, label(), 0, totals.calls);
            publisher.count(names::COMMAND_ERRORS, label(), 0, totals.failed);
            publisher.count(names::COMMANDS_REJECTED, label(), 0, totals.rejected);
        }
        if let Some(tier) = shards.tier() {
            for (name, total) in tier.counters() {
                let metric = match name.as_str() {
                    "tier_near_hits" => names::TIER_NEAR_HITS,
                    "tier_fills" => names::TIER_FILLS,
                    "tier_invalidations" => names::TIER_INVALIDATIONS,
                    _ => continue,
                };
                publisher.count(metric, none(), 0, total);
            }
        }
    }
}
