//! The library's typed errors.
//!
//! Every failure a caller can act on is its own variant: a backend's refusal (from the
//! contract's `backend-error`), a host limit, a guest fault (trap, timeout, memory, stack),
//! a contract violation, and a load failure. Nothing here is stringly typed except the
//! human-readable details.

use std::time::Duration;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a backend refused a call: the contract's `backend-error`, as the backend said it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// `init` rejected an option (unknown name, unparsable or unacceptable value).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The entry can never fit; the backend accepts entries of at most `max_bytes`.
    #[error("entry too large for this backend (it accepts at most {max_bytes} bytes)")]
    TooLarge {
        /// The largest entry, in bytes, the backend would accept.
        max_bytes: u64,
    },
    /// The backend is full and its policy forbids evicting to make room.
    #[error("the backend is full")]
    Full,
    /// Any other failure the backend reported.
    #[error("backend error: {0}")]
    Internal(String),
}

/// Errors from driving a backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The backend refused the call (the contract's `backend-error`).
    #[error(transparent)]
    Refused(#[from] Refusal),

    /// The key is longer than the host allows; the backend was not called.
    #[error("key of {len} bytes exceeds the limit of {limit} bytes")]
    KeyTooLarge {
        /// Length of the offending key.
        len: usize,
        /// The configured `max_key_bytes`.
        limit: usize,
    },

    /// The value is longer than the host allows; the backend was not called (on `put`),
    /// or its answer was discarded (on `get`).
    #[error("value of {len} bytes exceeds the limit of {limit} bytes")]
    ValueTooLarge {
        /// Length of the offending value.
        len: usize,
        /// The configured `max_value_bytes`.
        limit: usize,
    },

    /// The guest trapped (an `unreachable`, a panic, an out-of-bounds access, ...). The
    /// instance was discarded; the next call starts a fresh one.
    #[error("backend trapped: {message}")]
    Trap {
        /// What the runtime reported, including the guest backtrace when available.
        message: String,
    },

    /// The guest ran past its per-call deadline and was interrupted.
    #[error("backend exceeded its time limit of {limit:?} and was interrupted")]
    Timeout {
        /// The deadline that was exceeded.
        limit: Duration,
    },

    /// The guest used up its fuel budget for one call.
    #[error("backend used up its fuel budget of {budget} units")]
    OutOfFuel {
        /// The per-call fuel budget.
        budget: u64,
    },

    /// The guest tried to grow its memory past the limit and then failed.
    #[error("backend exceeded its memory limit of {limit} bytes")]
    OutOfMemory {
        /// The configured `max_memory_bytes`.
        limit: usize,
    },

    /// The guest overflowed its wasm stack (for example by unbounded recursion).
    #[error("backend overflowed its stack")]
    StackOverflow,

    /// The guest answered something the contract forbids.
    #[error("backend broke the contract: {0}")]
    ContractViolation(String),

    /// The shared tier under a near cache did not answer (a timeout, a refused or dropped
    /// connection, an error reply), or its breaker is open.
    #[error("the shared tier (Redis) did not answer: {reason}")]
    Upstream {
        /// What went wrong.
        reason: String,
    },

    /// The backend keeps faulting and is cooling down before the next restart; the call
    /// was not attempted.
    #[error(
        "backend unavailable after {consecutive_faults} consecutive faults; next restart in {retry_in:?}"
    )]
    Unavailable {
        /// Faults in a row so far.
        consecutive_faults: u32,
        /// Time until the host tries a fresh instance.
        retry_in: Duration,
    },

    /// The guard's breaker is open after repeated faults: the backend was bypassed and
    /// nothing was stored or removed. Not a fault of its own.
    #[error("the backend is bypassed after repeated faults (breaker open)")]
    BreakerOpen,

    /// The backend cannot do this at all (a 0.1 component asked for an entry's ttl, a
    /// backend without listing asked for its keys). Not a fault: nothing was changed.
    #[error("the backend cannot do this: {what}")]
    Unsupported {
        /// What was asked.
        what: &'static str,
    },

    /// Loading or instantiating the component failed.
    #[error(transparent)]
    Load(#[from] LoadError),

    /// A host task failed unexpectedly (it panicked or was cancelled): a bug in the host,
    /// not in the backend.
    #[error("internal error: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },

    /// The engine, the limits or a watcher could not be set up as configured.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A configuration the host cannot run with, or a resource it could not set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The epoch tick that drives deadlines is zero.
    #[error("epoch_tick must be greater than zero")]
    ZeroEpochTick,
    /// A backend's memory limit is larger than the engine's pooled memory slot.
    #[error(
        "max_memory_bytes ({requested}) exceeds the engine's pooled memory slot ({slot} bytes)"
    )]
    MemoryOverSlot {
        /// The backend's `max_memory_bytes`.
        requested: usize,
        /// The engine's `PoolingConfig::max_memory_bytes`.
        slot: usize,
    },
    /// The engine rejected its configuration, or the contract could not be linked.
    #[error("the engine cannot be set up: {reason}")]
    Engine {
        /// What went wrong.
        reason: String,
    },
    /// Setting fuel on a store failed.
    #[error("cannot set the fuel budget: {reason}")]
    Fuel {
        /// What went wrong.
        reason: String,
    },
    /// The compile cache directory cannot be used.
    #[error("compile cache {dir}: {reason}")]
    CompileCache {
        /// The directory.
        dir: String,
        /// Why it was refused.
        reason: String,
    },
    /// A file cannot be watched.
    #[error("cannot watch {path}: {reason}")]
    Watch {
        /// The file or directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// A background thread (epoch ticker, watcher) could not be started.
    #[error("cannot start the {name} thread: {source}")]
    Thread {
        /// Which thread.
        name: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Component bytes or a file were given where only a ready backend factory can be used
    /// (nothing loads components for this handle, e.g. one serving the native backend).
    #[error("cannot load {name}: this handle has no component loader (it serves a native backend)")]
    NoLoader {
        /// What was to be loaded.
        name: String,
    },
}

impl Error {
    /// Whether this error means the backend failed to answer: a guest fault, or a shared
    /// tier that did not answer. What a guard counts and its breaker opens on.
    pub fn is_fault(&self) -> bool {
        self.is_guest_fault() || matches!(self, Error::Upstream { .. })
    }

    /// The kind of fault this is, as metrics label it: `trap` (a trap or a stack
    /// overflow), `timeout`, `out_of_fuel`, `out_of_memory`, `contract_violation`,
    /// `restarting` (the instance waits out its restart back-off) or `upstream` (the shared
    /// tier did not answer); `None` when it is not a fault ([`Error::is_fault`]).
    pub fn fault_kind(&self) -> Option<&'static str> {
        Some(match self {
            Error::Trap { .. } | Error::StackOverflow => "trap",
            Error::Timeout { .. } => "timeout",
            Error::OutOfFuel { .. } => "out_of_fuel",
            Error::OutOfMemory { .. } => "out_of_memory",
            Error::ContractViolation(_) => "contract_violation",
            Error::Unavailable { .. } => "restarting",
            Error::Upstream { .. } => "upstream",
            _ => return None,
        })
    }

    /// Whether this error means the guest misbehaved (trap, timeout, fuel, memory, stack,
    /// contract), as opposed to a refusal or a limit the caller ran into.
    pub fn is_guest_fault(&self) -> bool {
        matches!(
            self,
            Error::Trap { .. }
                | Error::Timeout { .. }
                | Error::OutOfFuel { .. }
                | Error::OutOfMemory { .. }
                | Error::StackOverflow
                | Error::ContractViolation(_)
                | Error::Unavailable { .. }
        )
    }
}

/// Why a component could not be loaded, in words for the backend's author.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that was read.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The input is empty.
    #[error("the file is empty; expected a WebAssembly component")]
    Empty,

    /// The input does not start with the WebAssembly magic bytes.
    #[error("not a WebAssembly binary (it does not start with `\\0asm`)")]
    NotWasm,

    /// The input is a core WebAssembly module, not a component.
    #[error(
        "this is a core WebAssembly module, not a component; wrap it with \
         `wasm-tools component new` (or build for `wasm32-wasip2`)"
    )]
    CoreModule,

    /// The binary is malformed, truncated or uses features the host does not enable.
    #[error("invalid component: {reason}")]
    Invalid {
        /// What the validator or compiler reported.
        reason: String,
    },

    /// The component does not export the backend interface at all.
    #[error(
        "the component does not export {expected}; it exports [{found}]. Build it against \
         the `cache-backend` world in wasmcache's `wit/` folder"
    )]
    MissingExport {
        /// The interfaces the host accepts (any one of them), each in backticks.
        expected: String,
        /// What the component exports instead.
        found: String,
    },

    /// The component targets another version of the contract.
    #[error(
        "the component targets `{found}` but this host speaks {expected}; rebuild it \
         against this host's `wit/`"
    )]
    WrongVersion {
        /// The interface (with version) the component exports or imports.
        found: String,
        /// What this host supports, each in backticks.
        expected: String,
    },

    /// The component imports something the host does not provide.
    #[error("the component imports `{name}`, which this host does not provide{hint}")]
    UnknownImport {
        /// The import's name.
        name: String,
        /// Advice, starting with `; ` when present.
        hint: String,
    },

    /// The component has the right interface names but its functions or types differ.
    #[error("the component's `{interface}` does not match the contract: {reason}")]
    Mismatch {
        /// The interface that differs.
        interface: String,
        /// What the type check reported.
        reason: String,
    },

    /// Instantiating the component failed (including its start function trapping or
    /// running out of time or memory).
    #[error("instantiating the component failed: {reason}")]
    Instantiate {
        /// What went wrong.
        reason: String,
    },
}
