//! The server's metrics: every [`ServerConfig::metrics`](super::ServerConfig::metrics), what the server and each shard have counted is
//! published through the `metrics` facade (see [`crate::telemetry`]), on a blocking
//! thread, one round at a time. The per-call series come from the shards' metered guards.

use std::sync::{Mutex, TryLockError};

use metrics::Label;

use super::commands::Counters;
use super::shards::Shards;
use crate::telemetry::{BackendLabels, Publisher, names};

/// The server's publisher; holding its lock is running a round.
#[derive(Debug, Default)]
pub(super) struct ServerMetrics {
    publisher: Mutex<Publisher>,
}

impl ServerMetrics {
    /// Publishes every shard's backend series and the server's own, unless a round is
    /// running already (then it returns at once). Call it off the async workers: it calls
    /// into every shard's guest.
    pub(super) fn round(&self, shards: &Shards, counters: &Counters, connected: usize) {
        let mut publisher = match self.publisher.try_lock() {
            Ok(publisher) => publisher,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
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

        let c = counters;
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
