//! [`TierMetrics`]: round trips to the shared Redis tier, per operation.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Histogram};

use super::names;
use crate::backend::Op;

/// Round-trip latency and failures per [`Op`], each operation's series registered at its
/// first round trip (with the recorder installed then).
#[derive(Debug, Default)]
pub(crate) struct TierMetrics {
    ops: [OnceLock<(Histogram, Counter)>; Op::ALL.len()],
}

impl TierMetrics {
    /// Records a round trip of `op` that took `elapsed`, and whether it failed.
    pub(crate) fn round_trip(&self, op: Op, elapsed: Duration, failed: bool) {
        let (latency, errors) = self.ops[op as usize].get_or_init(|| {
            let labels = [("op", op.as_str())];
            (
                metrics::histogram!(names::TIER_ROUND_TRIP, &labels),
                metrics::counter!(names::TIER_ERRORS, &labels),
            )
        });
        latency.record(elapsed.as_secs_f64());
        if failed {
            errors.increment(1);
        }
    }
}
