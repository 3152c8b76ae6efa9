//! Metrics through the [`metrics`] facade: what each backend costs and how it misbehaves,
//! and what the server does. An embedding application's own recorder receives them; the
//! binary's `serve --metrics ADDR` installs a Prometheus exporter.
//!
//! Two ways in, chosen by cost:
//!
//! - **Per call** ([`BackendMetrics`], held by a [`Guard`](crate::Guard) that is
//!   [metered](crate::Guard::metered)): calls and a latency histogram per
//!   [`Op`](crate::Op) (one call in [`LATENCY_SAMPLE`] timed), hits, misses, faults by
//!   kind, bypassed calls. Handles are registered once, when the guard is metered (an
//!   operation's at its first call), so install the recorder first.
//! - **Published** ([`Publisher`]): numbers the host already keeps (entries, guest memory,
//!   sandbox restarts, fuel, reloads, handovers, a backend's own counters, the server's
//!   commands and bytes) are read every few seconds and pushed as gauges, or as counter
//!   increments (a count that restarts from zero, as a new generation's does, still adds
//!   up), so the hot path pays nothing for them.
//!
//! Every per-backend series is labelled `backend` (a name the embedder chose: the cache's
//! name, or the component first served) and `shard`; what serves now (component, digest,
//! generation) is on `wasmcache_backend_info`, to join on, so a reload does not start new
//! series for every metric. No label is ever built from a key or a value; a backend's own
//! counters are bounded in number and name by the sandbox (256, kebab-case, 64 bytes).
//! [`names`] lists every metric; [`describe`] registers their help texts.

mod backend;
pub mod names;
mod publish;
mod tier;

pub use backend::{BackendLabels, BackendMetrics, LATENCY_SAMPLE};
pub use names::describe;
pub use publish::Publisher;
pub(crate) use tier::TierMetrics;

/// Latency histogram buckets, in seconds: 1 µs to 1 s, about three per decade (a guest
/// call is around a microsecond; the sandbox's default deadline is a second).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.000_001,
    0.000_002_5,
    0.000_005,
    0.000_01,
    0.000_025,
    0.000_05,
    0.000_1,
    0.000_25,
    0.000_5,
    0.001,
    0.002_5,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
];
