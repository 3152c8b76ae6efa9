//! The engine: one wasmtime engine per process, its configuration, the epoch ticker that
//! enforces deadlines, the linkers and the compile cache.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::component::Linker;

use super::budget::Ticks;
use super::compile_cache::CompileCache;
use super::linker::{Linkers, engine_error};
use super::store::StoreData;
use crate::error::{ConfigError, Result};
use crate::sandbox::WasiPolicy;

/// How the shared engine compiles and runs guests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Pre-allocated instance slots; `None` uses on-demand allocation. Pooling makes
    /// instantiation (and so restarts and reloads) several times faster.
    pub pooling: Option<PoolingConfig>,
    /// Enforce [`Limits::call_timeout`](crate::Limits::call_timeout) and
    /// [`Limits::init_timeout`](crate::Limits::init_timeout) with epoch interruption.
    /// Default: on. Turning it off lets a looping guest hang its caller forever: only for
    /// trusted guests, or to measure what the deadline costs.
    pub deadlines: bool,
    /// What a deadline counts. Default: [`DeadlineClock::ThreadCpu`].
    pub deadline_clock: DeadlineClock,
    /// How often the epoch ticker advances; the granularity of every deadline. Default:
    /// 1 ms.
    pub epoch_tick: Duration,
    /// Meter fuel, so that [`Limits::fuel_per_call`](crate::Limits::fuel_per_call) can
    /// bound the work of one call deterministically. Costs some speed. Default: off.
    pub fuel: bool,
    /// Largest wasm stack a guest may use, in bytes; deeper recursion traps as
    /// [`Error::StackOverflow`](crate::Error::StackOverflow). The calling thread's own
    /// stack must be larger. Default: 512 KiB.
    pub max_wasm_stack: usize,
    /// What guests may reach beyond the contract's `host` interface.
    pub wasi: WasiPolicy,
    /// A private directory where compiled code is kept, keyed by each component's digest
    /// and this configuration, so loading a component seen before skips Cranelift
    /// (milliseconds instead of seconds for large guests). Default: none.
    pub compile_cache: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            pooling: Some(PoolingConfig::default()),
            deadlines: true,
            deadline_clock: DeadlineClock::default(),
            epoch_tick: Duration::from_millis(1),
            fuel: false,
            max_wasm_stack: 512 << 10,
            wasi: WasiPolicy::default(),
            compile_cache: None,
        }
    }
}

/// What a call's deadline counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeadlineClock {
    /// The CPU time of the calling thread: a guest is stopped once it has itself used its
    /// budget, however long a busy machine kept it waiting; a wall-clock backstop
    /// ([`Limits::call_wall_backstop`](crate::Limits::call_wall_backstop)) still bounds a
    /// call's wall time. The default.
    #[default]
    ThreadCpu,
    /// Wall-clock time, descheduled time included: on a busy machine a healthy call can
    /// be cut short (and its instance's entries lost). Kept to measure the difference.
    Wall,
}

/// Totals for the pooling allocator, which reserves slots for everything up front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolingConfig {
    /// Live component instances across the process. Default: 256.
    pub total_component_instances: u32,
    /// Live core instances across the process (a component holds several). Default: 4096.
    pub total_core_instances: u32,
    /// Live linear memories across the process. Default: 256.
    pub total_memories: u32,
    /// Live tables across the process. Default: 2048.
    pub total_tables: u32,
    /// Size of each memory slot: no backend's
    /// [`max_memory_bytes`](crate::Limits::max_memory_bytes) may exceed it. Default: 1 GiB.
    pub max_memory_bytes: usize,
    /// Core instances one component may hold. Default: 64.
    pub max_core_instances_per_component: u32,
    /// Memories one component may hold. Default: 8.
    pub max_memories_per_component: u32,
    /// Tables one component may hold. Default: 64.
    pub max_tables_per_component: u32,
    /// How many bytes of a freed memory slot's written pages are reset in place
    /// (`memset`) instead of handed back to the kernel, so the next instance in the slot
    /// starts without page faults. Used only where Linux's `PAGEMAP_SCAN` (6.7 and
    /// later) tells which pages were written; elsewhere, and with 0, every page goes back
    /// to the kernel. An idle slot keeps up to this much resident. Default: 1 MiB.
    pub keep_resident_bytes: usize,
}

impl Default for PoolingConfig {
    fn default() -> Self {
        PoolingConfig {
            total_component_instances: 256,
            total_core_instances: 4096,
            total_memories: 256,
            total_tables: 2048,
            max_memory_bytes: 1 << 30,
            max_core_instances_per_component: 64,
            max_memories_per_component: 8,
            max_tables_per_component: 64,
            keep_resident_bytes: 1 << 20,
        }
    }
}

/// Most of a freed table's entries reset in place (tables are small).
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// The shared compilation and execution engine. Cheap to clone; create one per process.
///
/// Creating it starts a background thread that advances the epoch every
/// [`EngineConfig::epoch_tick`]; the thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineParts>,
}

struct EngineParts {
    wasm: wasmtime::Engine,
    config: EngineConfig,
    linkers: Linkers,
    compile_cache: Option<CompileCache>,
    /// Guest instances alive right now, across every backend of this engine.
    live_instances: Arc<AtomicUsize>,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for EngineParts {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with `config`.
    pub fn new(config: EngineConfig) -> Result<Self> {
        if config.epoch_tick.is_zero() {
            return Err(ConfigError::ZeroEpochTick.into());
        }
        let mut wasm_config = wasmtime::Config::new();
        wasm_config
            .epoch_interruption(config.deadlines)
            .consume_fuel(config.fuel)
            .max_wasm_stack(config.max_wasm_stack)
            .wasm_component_model(true);
        // For profiling guests: name their compiled functions in /tmp/perf-PID.map so that
        // `perf report` shows them (used in BENCHMARKS.md, issue 13, "First pass").
        if std::env::var_os("WASMCACHE_PERF_MAP").is_some() {
            wasm_config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if let Some(pool) = &config.pooling {
            let mut pooling = wasmtime::PoolingAllocationConfig::new();
            pooling
                .total_component_instances(pool.total_component_instances)
                .total_core_instances(pool.total_core_instances)
                .total_memories(pool.total_memories)
                .total_tables(pool.total_tables)
                .max_memory_size(pool.max_memory_bytes)
                .max_core_instances_per_component(pool.max_core_instances_per_component)
                .max_memories_per_component(pool.max_memories_per_component)
                .max_tables_per_component(pool.max_tables_per_component);
            // Reset freed slots' written pages in place, when the kernel can say which
            // they are: the next instance takes no page faults and no TLB shootdowns.
            // Without PAGEMAP_SCAN, keeping pages resident means `memset`ting the low
            // addresses whether written or not, which costs more than it saves.
            if pool.keep_resident_bytes > 0
                && wasmtime::PoolingAllocationConfig::is_pagemap_scan_available()
            {
                pooling
                    .pagemap_scan(wasmtime::Enabled::Yes)
                    .linear_memory_keep_resident(pool.keep_resident_bytes)
                    .table_keep_resident(pool.keep_resident_bytes.min(TABLE_KEEP_RESIDENT));
            }
            wasm_config.allocation_strategy(pooling);
        }
        let wasm = wasmtime::Engine::new(&wasm_config)
            .map_err(|e| engine_error("invalid engine configuration", &e))?;
        let linkers = Linkers::new(&wasm, config.wasi)?;

        let compile_cache = match &config.compile_cache {
            Some(dir) => Some(CompileCache::open(dir, &wasm)?),
            None => None,
        };
        let ticker_stop = Arc::new(AtomicBool::new(false));
        if config.deadlines {
            spawn_ticker(wasm.clone(), config.epoch_tick, ticker_stop.clone())?;
        }
        Ok(Engine {
            inner: Arc::new(EngineParts {
                wasm,
                config,
                linkers,
                compile_cache,
                live_instances: Arc::default(),
                ticker_stop,
            }),
        })
    }

    /// The configuration this engine was built with.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.wasm
    }

    /// Guest instances alive right now across every backend of this engine (a backend
    /// holds one at a time; a reload briefly holds two).
    pub fn live_instances(&self) -> usize {
        self.inner.live_instances.load(Ordering::SeqCst)
    }

    pub(crate) fn live_instance_counter(&self) -> &Arc<AtomicUsize> {
        &self.inner.live_instances
    }

    pub(crate) fn compile_cache(&self) -> Option<&CompileCache> {
        self.inner.compile_cache.as_ref()
    }

    /// The epoch ticker's count and tick length.
    pub(crate) fn ticks(&self) -> Ticks {
        Ticks {
            tick: self.inner.config.epoch_tick,
        }
    }

    pub(crate) fn linker(&self, with_wasi: bool) -> Option<&Linker<StoreData>> {
        self.inner.linkers.get(with_wasi)
    }
}

fn spawn_ticker(engine: wasmtime::Engine, tick: Duration, stop: Arc<AtomicBool>) -> Result<()> {
    thread::Builder::new()
        .name("wasmcache-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                thread::sleep(tick);
                engine.increment_epoch();
            }
        })
        .map(drop)
        .map_err(|source| {
            ConfigError::Thread {
                name: "epoch ticker",
                source,
            }
            .into()
        })
}
