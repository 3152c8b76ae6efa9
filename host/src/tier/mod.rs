//! Past one machine: any backend as the near cache (L1) in front of a real Redis or Redis
//! Cluster (L2, the shared tier and the source of truth).
//!
//! Reads try the near cache, then the shared tier, which answers the value and its time
//! left in one round trip (`GET` and `PTTL` in a `MULTI`); the near cache keeps it for
//! `min(time left, near_max_ttl)`. Writes (`SET ... PX`), removals and expiry changes go
//! to the shared tier first, then to the near cache; `put` with a ttl of 0 removes. The
//! shared tier's expiry is authoritative: `ttl` asks it.
//!
//! **Consistency.** Every master of the shared tier announces every write to a tracking
//! connection (`CLIENT TRACKING ON BCAST`), and the key is dropped from every near cache
//! when the announcement arrives: another node's write is seen by this node's next read
//! once the invalidation has travelled (typically well under a millisecond on one
//! network). A write racing with a fill never leaves the older value stored (see
//! `tracking.rs`). When a tracking connection drops, invalidations may have been missed:
//! every near cache is flushed and bypassed until every master is subscribed again. An
//! entry never outlives [`TierConfig::near_max_ttl`] in a near cache, the bound should an
//! invalidation be lost some other way. A node's own writes are read back at once.
//!
//! **Faults.** Each round trip is bounded by [`TierConfig::timeout`]; after
//! [`BreakerConfig::failure_threshold`](crate::BreakerConfig) failures in a row the shared
//! tier is not asked for [`BreakerConfig::cool_down`](crate::BreakerConfig), so requests
//! do not queue behind a dead node; then one request probes it. While it is down, a read the
//! near cache cannot answer is an [`Error::Upstream`](crate::Error::Upstream) or a miss
//! ([`WhenDown`]), writes are errors, and it recovers by itself.

mod config;
mod far;
mod tiered;
mod tracking;

pub use config::{TierConfig, WhenDown};
pub use tiered::{Tier, Tiered};
