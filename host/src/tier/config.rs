//! How a near cache treats the shared tier under it.

use std::time::Duration;

use crate::guard::BreakerConfig;

/// What a near cache answers while the shared tier does not (after its timeout, or while
/// the breaker is open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenDown {
    /// A read the near cache cannot answer, and every write, is an error
    /// ([`Error::Upstream`](crate::Error::Upstream)). The default.
    #[default]
    Fail,
    /// A read the near cache cannot answer is a miss; writes are still errors (the shared
    /// tier is the source of truth, so a write it did not take did not happen).
    ServeNear,
}

/// Where the shared tier is and how the near cache uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierConfig {
    /// `redis://host:port` of a standalone Redis, or of one or more nodes of a Redis
    /// Cluster (with [`cluster`](Self::cluster)); the others are discovered.
    pub upstream: Vec<String>,
    /// The upstream is a Redis Cluster. Default: off.
    pub cluster: bool,
    /// Longest wait for one round trip (connecting included). Default: 250 ms.
    pub timeout: Duration,
    /// The longest a near-cache entry lives, whatever its time left upstream: the bound on
    /// staleness should an invalidation be lost without its connection dropping. Default:
    /// 60 s.
    pub near_max_ttl: Duration,
    /// What to answer while the shared tier is down. Default: [`WhenDown::Fail`].
    pub when_down: WhenDown,
    /// When to stop asking a shared tier that keeps failing, and for how long.
    /// Default: [`BreakerConfig::default`].
    pub breaker: BreakerConfig,
}

impl TierConfig {
    /// A tier over the Redis (or, with [`cluster`](Self::cluster), the Redis Cluster node)
    /// at `url`, with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        TierConfig {
            upstream: vec![url.into()],
            cluster: false,
            timeout: Duration::from_millis(250),
            near_max_ttl: Duration::from_secs(60),
            when_down: WhenDown::default(),
            breaker: BreakerConfig::default(),
        }
    }
}
