//! Errors of the cache layer's direct calls (`get`, `insert`, `invalidate`).
//!
//! `get_with` never fails because of the cache: it falls back to the loader.

/// Why a direct cache call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The key or value could not be encoded by the cache's codec.
    #[error("cannot encode for cache `{cache}`: {reason}")]
    Encode {
        /// The cache's name.
        cache: String,
        /// What the codec reported.
        #[source]
        reason: super::codec::CodecError,
    },
    /// The breaker is open: the backend is bypassed after repeated faults, so nothing was
    /// stored or removed.
    #[error("cache `{cache}` is bypassing its backend after repeated faults (breaker open)")]
    BreakerOpen {
        /// The cache's name.
        cache: String,
    },
    /// The backend refused or failed the call.
    #[error("cache `{cache}`: {source}")]
    Backend {
        /// The cache's name.
        cache: String,
        /// The backend's error.
        #[source]
        source: crate::Error,
    },
}
