//! The cache layer: typed keys and values over any [`Backend`](crate::Backend), with single-flight loads,
//! write-through stores, fail-open fallbacks, a circuit breaker, stats and telemetry.
//!
//! # Consistency model
//!
//! - **Write-through.** [`Cache::get_with`] stores a loaded value in the backend *before*
//!   it returns and before waiting callers are released, so the next [`Cache::get`] of that
//!   key, from any task, sees it (unless the backend refused it, evicted it or it expired).
//!   Nothing is written behind the caller's back.
//! - **Single flight.** Concurrent misses on one key run one loader; every waiter receives
//!   the same outcome, errors included. Errors are never stored. A loader that panics, or
//!   whose caller is cancelled, hands the key to the next waiter.
//! - **Fail-open.** A backend fault (trap, timeout, memory, contract violation, restart
//!   back-off) never fails `get_with`: the loader answers, the fault is counted and logged.
//!   [`Cache::get`] reports a fault as a miss (counted in `backend_faults`), since every
//!   caller of a cache already handles misses. After
//!   [`BreakerConfig::failure_threshold`](crate::BreakerConfig::failure_threshold) consecutive faults the breaker bypasses the
//!   backend for [`BreakerConfig::cool_down`](crate::BreakerConfig::cool_down), then lets one call probe it. This policy is
//!   the crate's one [`Guard`](crate::Guard), which the server uses too.
//! - **Not a lock.** A `get_with` racing an `insert` or `invalidate` of the same key may
//!   store the loaded value after them; the cache does not order writers.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use wasmcache::cache::Cache;
//! use wasmcache::{MemoryBackendFactory};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let users: Cache<u64, String> = Cache::builder("users")
//!     .time_to_live(Duration::from_secs(60))
//!     .build(&MemoryBackendFactory::default())?;
//!
//! let name = users.get_with(&42, || async { Ok::<_, std::io::Error>("Ada".to_string()) }).await;
//! assert_eq!(name.unwrap(), "Ada");
//! assert_eq!(users.get(&42)?, Some("Ada".to_string())); // write-through
//! assert_eq!(users.stats().loads, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod builder;
mod codec;
mod error;
mod flight;
mod stats;
mod tower;
mod typed;

pub use builder::CacheBuilder;
pub use codec::{Codec, CodecError, Postcard};
pub use error::CacheError;
pub use stats::CacheStats;
pub use tower::{CacheLayer, CacheService};
pub use typed::Cache;
