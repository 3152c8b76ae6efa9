//! Every metric's name and help text. Names follow Prometheus's conventions: a
//! `wasmcache_` prefix, base units (seconds, bytes), `_total` on counters.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// Counter: backend calls, labelled `op` (`get`, `put`, `get_many`, ...).
pub const CALLS: &str = "wasmcache_backend_calls_total";
/// Histogram: seconds per backend call, labelled `op`, from one call in
/// [`LATENCY_SAMPLE`](super::LATENCY_SAMPLE) per thread (its `_count` is the sampled calls;
/// [`CALLS`] counts them all).
pub const CALL_DURATION: &str = "wasmcache_backend_call_duration_seconds";
/// Counter: reads that found the key (a batch read counts each key).
pub const HITS: &str = "wasmcache_backend_hits_total";
/// Counter: reads the backend answered with a miss.
pub const MISSES: &str = "wasmcache_backend_misses_total";
/// Counter: calls that failed with a fault, labelled `kind`
/// ([`Error::fault_kind`](crate::Error::fault_kind)).
pub const FAULTS: &str = "wasmcache_backend_faults_total";
/// Counter: calls not made because the breaker was open.
pub const BYPASSED: &str = "wasmcache_backend_bypassed_total";
/// Gauge: entries the backend holds (its `stats().size`).
pub const ENTRIES: &str = "wasmcache_backend_entries";
/// Gauge: bytes of linear memory a wasm guest holds (absent for a native backend).
pub const MEMORY: &str = "wasmcache_backend_memory_bytes";
/// Counter: guest instances started again after a fault.
pub const RESTARTS: &str = "wasmcache_backend_restarts_total";
/// Counter: fuel the guest used, when the engine meters fuel.
pub const FUEL: &str = "wasmcache_backend_fuel_used_total";
/// Counter: guest log bytes dropped over the per-call bound.
pub const LOG_DROPPED: &str = "wasmcache_backend_log_bytes_dropped_total";
/// Counter: reloads, labelled `outcome` (`accepted` or `rejected`).
pub const RELOADS: &str = "wasmcache_backend_reloads_total";
/// Counter: compactions (the same component restarted to give memory back).
pub const COMPACTIONS: &str = "wasmcache_backend_compactions_total";
/// Counter: entries carried from one generation to the next by handovers.
pub const HANDOVER_ENTRIES: &str = "wasmcache_backend_handover_entries_total";
/// Gauge: the serving generation (1 at the first load).
pub const GENERATION: &str = "wasmcache_backend_generation";
/// Gauge: 1 for what serves now, labelled `component`, `digest` (SHA-256, or `native`) and
/// `generation`; 0 for what it replaced.
pub const INFO: &str = "wasmcache_backend_info";
/// Counter: a backend's own `stats` counters, labelled `stat` (its kebab-case name).
pub const GUEST_STATS: &str = "wasmcache_backend_stats_total";

/// Counter: connections accepted.
pub const CONNECTIONS: &str = "wasmcache_server_connections_total";
/// Gauge: connections open now.
pub const CONNECTED: &str = "wasmcache_server_connected_clients";
/// Counter: connections refused at the client limit.
pub const REJECTED_CONNECTIONS: &str = "wasmcache_server_rejected_connections_total";
/// Counter: commands run, labelled `command` (only names in the command table).
pub const COMMANDS: &str = "wasmcache_server_commands_total";
/// Counter: commands that answered an error, labelled `command`.
pub const COMMAND_ERRORS: &str = "wasmcache_server_command_errors_total";
/// Counter: commands refused before they ran (arity, authentication), labelled `command`.
pub const COMMANDS_REJECTED: &str = "wasmcache_server_commands_rejected_total";
/// Counter: requests that broke the protocol (the connection is closed).
pub const PROTOCOL_ERRORS: &str = "wasmcache_server_protocol_errors_total";
/// Counter: bytes read from clients.
pub const BYTES_IN: &str = "wasmcache_server_received_bytes_total";
/// Counter: bytes written to clients.
pub const BYTES_OUT: &str = "wasmcache_server_sent_bytes_total";
/// Counter: GET and MGET keys found.
pub const KEYSPACE_HITS: &str = "wasmcache_server_keyspace_hits_total";
/// Counter: GET and MGET keys not found.
pub const KEYSPACE_MISSES: &str = "wasmcache_server_keyspace_misses_total";

/// Histogram: seconds per round trip to the shared Redis tier, labelled `op`.
pub const TIER_ROUND_TRIP: &str = "wasmcache_tier_round_trip_seconds";
/// Counter: round trips to the shared tier that failed, labelled `op`.
pub const TIER_ERRORS: &str = "wasmcache_tier_errors_total";
/// Counter: reads the near cache answered.
pub const TIER_NEAR_HITS: &str = "wasmcache_tier_near_hits_total";
/// Counter: near-cache entries filled from the shared tier.
pub const TIER_FILLS: &str = "wasmcache_tier_fills_total";
/// Counter: invalidations the shared tier pushed.
pub const TIER_INVALIDATIONS: &str = "wasmcache_tier_invalidations_total";

/// Registers every metric's help text and unit with the installed recorder (a Prometheus
/// exporter prints them as `# HELP`). Call once, after installing the recorder.
pub fn describe() {
    describe_counter!(CALLS, "Backend calls, by operation");
    describe_histogram!(
        CALL_DURATION,
        Unit::Seconds,
        "Seconds per backend call, by operation (one call in 16 sampled)"
    );
    describe_counter!(HITS, "Reads the backend answered with a value");
    describe_counter!(MISSES, "Reads the backend answered with a miss");
    describe_counter!(FAULTS, "Backend calls that failed with a fault, by kind");
    describe_counter!(
        BYPASSED,
        "Backend calls skipped because the breaker was open"
    );
    describe_gauge!(ENTRIES, "Entries the backend holds");
    describe_gauge!(MEMORY, Unit::Bytes, "Linear memory the wasm guest holds");
    describe_counter!(RESTARTS, "Guest instances started again after a fault");
    describe_counter!(FUEL, "Fuel the guest used, when fuel is metered");
    describe_counter!(
        LOG_DROPPED,
        Unit::Bytes,
        "Guest log bytes dropped over the bound"
    );
    describe_counter!(RELOADS, "Reloads, by outcome (accepted or rejected)");
    describe_counter!(
        COMPACTIONS,
        "Restarts of the same component to give memory back"
    );
    describe_counter!(HANDOVER_ENTRIES, "Entries carried over by handovers");
    describe_gauge!(GENERATION, "The serving generation of the backend");
    describe_gauge!(
        INFO,
        "1 for what serves now (component, digest, generation)"
    );
    describe_counter!(GUEST_STATS, "A backend's own stats counters, by name");
    describe_counter!(CONNECTIONS, "Connections accepted");
    describe_gauge!(CONNECTED, "Connections open now");
    describe_counter!(
        REJECTED_CONNECTIONS,
        "Connections refused at the client limit"
    );
    describe_counter!(COMMANDS, "Commands run, by command");
    describe_counter!(
        COMMAND_ERRORS,
        "Commands that answered an error, by command"
    );
    describe_counter!(
        COMMANDS_REJECTED,
        "Commands refused before running, by command"
    );
    describe_counter!(PROTOCOL_ERRORS, "Requests that broke the protocol");
    describe_counter!(BYTES_IN, Unit::Bytes, "Bytes read from clients");
    describe_counter!(BYTES_OUT, Unit::Bytes, "Bytes written to clients");
    describe_counter!(KEYSPACE_HITS, "GET and MGET keys found");
    describe_counter!(KEYSPACE_MISSES, "GET and MGET keys not found");
    describe_histogram!(
        TIER_ROUND_TRIP,
        Unit::Seconds,
        "Seconds per round trip to the shared Redis tier"
    );
    describe_counter!(TIER_ERRORS, "Round trips to the shared tier that failed");
    describe_counter!(TIER_NEAR_HITS, "Reads the near cache answered");
    describe_counter!(TIER_FILLS, "Near-cache entries filled from the shared tier");
    describe_counter!(
        TIER_INVALIDATIONS,
        "Invalidations pushed by the shared tier"
    );
}
