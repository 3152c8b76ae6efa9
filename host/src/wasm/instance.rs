//! One guest instance: its store, its resolved exports, and how a call is armed with the
//! sandbox's limits. [`ComponentParts`] is what every instance of a component shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, InstancePre, TypedFunc};

use super::compile::ComponentInfo;
use super::engine::{DeadlineClock, Engine};
use super::exports::{ExportIndices, Exports, export_func};
use super::faults::{fuel_error, guest_fault, mismatch};
use super::names::ContractVersion;
use super::output::GuestOutput;
use super::stats::{BoundedStats, LazyStats};
use super::store::StoreData;
use crate::backend::InitOptions;
use crate::clock::SharedClock;
use crate::error::{Error, LoadError, Result};
use crate::sandbox::Limits;

/// A compiled, linked component and the limits its instances run under.
pub(crate) struct ComponentParts {
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<StoreData>,
    /// The version of the contract the component targets.
    pub(crate) version: ContractVersion,
    /// Its exports, for that version.
    pub(crate) exports: ExportIndices,
    /// The backend's `stats`, for lifting it lazily.
    pub(crate) stats: ComponentExportIndex,
    pub(crate) info: ComponentInfo,
    /// The one owner of the backend's limits: every store's limiter shares it.
    pub(crate) limits: Arc<Limits>,
}

/// The guest's exports, resolved for one instance.
pub(crate) struct Guest {
    pub(crate) exports: Exports,
    /// `stats`, with the counters left in guest memory (for `size`).
    pub(crate) lazy_stats: TypedFunc<(), (LazyStats,)>,
    /// `stats`, lifted within the bounds on counters and names.
    pub(crate) bounded_stats: TypedFunc<(), (BoundedStats,)>,
}

/// A live instance: its store and exports, counted in its engine while it exists.
pub(crate) struct Instance {
    pub(crate) store: Store<StoreData>,
    pub(crate) guest: Guest,
    _counted: LiveCount,
}

/// Counts a live instance in its engine's total while it exists.
struct LiveCount(Arc<AtomicUsize>);

impl LiveCount {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        LiveCount(counter.clone())
    }
}

impl Drop for LiveCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ComponentParts {
    /// Instantiates the component and runs `init(options)`, all under `init_timeout`.
    pub(crate) fn start(
        &self,
        options: &InitOptions,
        clock: SharedClock,
        output: GuestOutput,
    ) -> Result<Instance> {
        let limits = &self.limits;
        let data = StoreData::new(clock, limits.clone(), output);
        let mut store = Store::new(self.engine.wasmtime(), data);
        store.limiter(|data| &mut data.limiter);
        let config = self.engine.config();
        match (config.deadlines, config.deadline_clock) {
            (false, _) => {}
            (true, DeadlineClock::Wall) => store.epoch_deadline_trap(),
            (true, DeadlineClock::ThreadCpu) => {
                let ticks = self.engine.ticks();
                store.epoch_deadline_callback(move |store| {
                    Ok(ticks.on_deadline(&store.data().call))
                });
            }
        }
        if self.engine.config().fuel {
            // `init` is bounded by its deadline; fuel bounds the calls after it.
            store.set_fuel(u64::MAX).map_err(|e| fuel_error(&e))?;
        }
        self.arm(&mut store, limits.init_timeout, None)?;
        let deadline = limits.init_timeout;
        let instance = self.pre.instantiate(&mut store).map_err(|e| {
            match guest_fault(e, store.data(), limits, deadline) {
                Error::Trap { message } | Error::ContractViolation(message) => {
                    Error::Load(LoadError::Instantiate { reason: message })
                }
                fault => fault,
            }
        })?;
        let guest = self.resolve(&mut store, &instance)?;
        let options: Vec<(&str, &str)> = options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match guest.exports.init(&mut store, &options) {
            Ok(Ok(())) => Ok(Instance {
                store,
                guest,
                _counted: LiveCount::new(self.engine.live_instance_counter()),
            }),
            Ok(Err(refusal)) => Err(Error::Refused(refusal)),
            Err(e) => Err(guest_fault(e, store.data(), limits, deadline)),
        }
    }

    /// Loads the exports; on the component's first instance, checking each one's
    /// signature against the contract (the types are the component's, the same in every
    /// instance, and the check costs a tenth of an instantiation).
    fn resolve(
        &self,
        store: &mut Store<StoreData>,
        instance: &wasmtime::component::Instance,
    ) -> Result<Guest> {
        let check = self.exports.unchecked();
        let exports = self.exports.load(store, instance, check)?;
        let backend = self.version.backend_interface();
        let stats = export_func::<(), (LazyStats,)>(store, instance, self.stats, "stats", check)
            .and_then(|stats| {
                if check {
                    stats.typed::<(), (BoundedStats,)>(&*store)?;
                }
                Ok(stats)
            })
            .map_err(mismatch(backend))?;
        if check {
            self.exports.mark_checked();
        }
        // SAFETY: `stats` was checked as both types on the component's first instance.
        let (lazy_stats, bounded_stats) = unsafe {
            (
                TypedFunc::new_unchecked(stats),
                TypedFunc::new_unchecked(stats),
            )
        };
        Ok(Guest {
            exports,
            lazy_stats,
            bounded_stats,
        })
    }

    /// Arms the deadline (and fuel, when metered) and resets per-call bookkeeping.
    pub(crate) fn arm(
        &self,
        store: &mut Store<StoreData>,
        deadline: Duration,
        fuel: Option<u64>,
    ) -> Result<()> {
        let engine = &self.engine;
        let config = engine.config();
        if config.deadlines {
            let ticks = engine.ticks();
            // One more tick for the one in progress.
            store.set_epoch_deadline(ticks.covering(deadline).saturating_add(1));
            if config.deadline_clock == DeadlineClock::ThreadCpu {
                let backstop = deadline.saturating_mul(self.limits.call_wall_backstop.max(1));
                store.data_mut().call = ticks.start(deadline, backstop);
            }
        }
        if let Some(fuel) = fuel.filter(|_| engine.config().fuel) {
            store.set_fuel(fuel).map_err(|e| fuel_error(&e))?;
        }
        store
            .data_mut()
            .begin_call(self.limits.max_log_bytes_per_call);
        Ok(())
    }
}
