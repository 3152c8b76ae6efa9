//! Sandbox limits: what one backend instance may use.
//!
//! A [`Limits`] value travels with every [`WasmBackend`](crate::WasmBackend). The host
//! enforces each limit itself; the guest cannot raise any of them. SECURITY.md lists each
//! hostile behaviour, the limit that stops it and the error a caller sees.

use std::time::Duration;

use crate::backend::SizeLimits;

/// Per-backend resource limits, with defaults suited to a cache backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest key and value accepted, in both directions. Defaults: 1 KiB and 1 MiB.
    pub sizes: SizeLimits,
    /// Largest size of each linear memory, in bytes. A guest that grows past it sees
    /// `memory.grow` fail; if it then traps, the caller gets
    /// [`Error::OutOfMemory`](crate::Error::OutOfMemory). Default: 128 MiB.
    pub max_memory_bytes: usize,
    /// Most linear memories one instance may create. Default: 8.
    pub max_memories: usize,
    /// Most tables one instance may create. Default: 64.
    pub max_tables: usize,
    /// Most core instances one component instance may create. Default: 128.
    pub max_instances: usize,
    /// Largest number of elements in one table. Default: 100 000.
    pub max_table_elements: usize,
    /// CPU-time budget of one `get`, `put`, `invalidate` or `stats` call: the guest is
    /// stopped once it has used this much of its thread's CPU time (see
    /// [`DeadlineClock`](crate::DeadlineClock)). Default: 1 s: a runaway loop is stopped
    /// after a second of its own CPU, and a healthy backend's rare long call (growing a
    /// hash table of 100 000s of entries takes tens of milliseconds on an idle machine and
    /// several times that on a busy one whose cores are shared) is not cut short, which
    /// would discard the instance and every entry with it. Lower it where a second of one
    /// shard's time matters more.
    pub call_timeout: Duration,
    /// CPU-time budget of instantiation plus `init` together. Default: 5 s.
    pub init_timeout: Duration,
    /// A call (or `init`) is stopped after this many times its budget of wall-clock time,
    /// whatever CPU time it used: a backstop for a call that waits without computing.
    /// Default: 10 (10 s for a call, 50 s for `init`).
    pub call_wall_backstop: u32,
    /// Fuel budget of one call, when the engine meters fuel
    /// ([`EngineConfig::fuel`](crate::EngineConfig::fuel)). Default: none.
    pub fuel_per_call: Option<u64>,
    /// Bytes of log and stdout/stderr output a guest may produce per call; the rest is
    /// dropped and counted. Default: 4 KiB.
    pub max_log_bytes_per_call: usize,
    /// How long to wait before restarting a backend that faulted, doubling with every
    /// consecutive fault up to [`Limits::restart_backoff_max`]. Default: 10 ms.
    pub restart_backoff: Duration,
    /// Longest wait between restarts. Default: 5 s.
    pub restart_backoff_max: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sizes: SizeLimits::default(),
            max_memory_bytes: 128 << 20,
            max_memories: 8,
            max_tables: 64,
            max_instances: 128,
            max_table_elements: 100_000,
            call_timeout: Duration::from_secs(1),
            init_timeout: Duration::from_secs(5),
            call_wall_backstop: 10,
            fuel_per_call: None,
            max_log_bytes_per_call: 4096,
            restart_backoff: Duration::from_millis(10),
            restart_backoff_max: Duration::from_secs(5),
        }
    }
}

/// What a guest may reach beyond the contract's own `host` interface.
///
/// Whatever is chosen, a guest never gets files, sockets, name lookups, environment
/// variables, arguments or the host's stdin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WasiPolicy {
    /// Components that import WASI 0.2 interfaces get WASI 0.2 with nothing granted:
    /// no preopened directories, no network, no environment, no arguments, stdin closed,
    /// stdout and stderr captured into `tracing` (capped per call), clocks that read the
    /// host's [`Clock`](crate::Clock) (the wall clock starts at the Unix epoch), and
    /// randomness. This lets toolchains that always import WASI (Rust's `wasm32-wasip2`
    /// std, componentize-py, componentize-js) run without giving them anything.
    #[default]
    DenyAll,
    /// No WASI at all: a component that imports any WASI interface fails to load.
    Unavailable,
}
