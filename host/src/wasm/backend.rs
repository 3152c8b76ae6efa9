//! [`WasmBackend`]: one sandboxed guest instance behind the [`Backend`] trait, with trap
//! recovery.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use super::bindings::exports::wasmcache::backend::backend::{self, BackendError};
use super::bindings::exports::wasmcache::backend::handover;
use super::component::{Inner, mismatch};
use super::state::{GuestOutput, HostState};
use crate::backend::{Backend, BackendStats, EntryPage, HandoverEntry, InitOptions, SizeLimits};
use crate::clock::SharedClock;
use crate::error::{Error, LoadError, Refusal, Result};

/// A guest component instance behind the [`Backend`] trait.
///
/// Calls are serialised on one instance (a component instance is single-threaded); run
/// several backends (shards) for parallelism. Every call runs under the component's
/// [`Limits`](crate::Limits): a deadline, memory and table caps, optional fuel, and size
/// checks on keys and values.
///
/// When the guest traps, times out or breaks the contract, the instance is discarded
/// (wasmtime poisons a store after a trap) and the next call starts a fresh one with the
/// same `init` options; its entries are lost. Consecutive faults back off exponentially
/// ([`Limits::restart_backoff`](crate::Limits::restart_backoff)); meanwhile calls fail
/// fast with [`Error::Unavailable`].
pub struct WasmBackend {
    component: Arc<Inner>,
    options: InitOptions,
    clock: SharedClock,
    slot: Mutex<Slot>,
    counters: Counters,
}

struct Live {
    store: Store<HostState>,
    guest: Guest,
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

/// The guest's exports, resolved for one instance.
struct Guest {
    backend: backend::Guest,
    handover: Option<handover::Guest>,
}

#[derive(Default)]
struct Slot {
    live: Option<Live>,
    consecutive_faults: u32,
    retry_at: Option<Instant>,
}

#[derive(Default)]
struct Counters {
    restarts: AtomicU64,
    traps: AtomicU64,
    timeouts: AtomicU64,
    out_of_memory: AtomicU64,
    contract_violations: AtomicU64,
    log_bytes_dropped: Arc<AtomicU64>,
}

impl WasmBackend {
    pub(crate) fn start(
        component: Arc<Inner>,
        options: InitOptions,
        clock: SharedClock,
    ) -> Result<Self> {
        let backend = WasmBackend {
            component,
            options,
            clock,
            slot: Mutex::default(),
            counters: Counters::default(),
        };
        let live = backend.instantiate()?;
        backend.slot().live = Some(live);
        Ok(backend)
    }

    /// The name of the component this backend runs.
    pub fn name(&self) -> &str {
        &self.component.info.name
    }

    /// Instances started after a fault so far.
    pub fn restarts(&self) -> u64 {
        self.counters.restarts.load(Ordering::Relaxed)
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A panic while holding the lock leaves at worst a dead instance, which the next
        // call replaces.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Instantiates the component and runs `init`, all under `init_timeout`.
    fn instantiate(&self) -> Result<Live> {
        let component = &*self.component;
        let limits = &component.limits;
        let output = GuestOutput::new(
            component.info.name.as_str().into(),
            self.counters.log_bytes_dropped.clone(),
        );
        let state = HostState::new(self.clock.clone(), limits, output, component.uses_wasi);
        let mut store = Store::new(component.engine.wasmtime(), state);
        store.limiter(|state| state);
        if component.engine.config().deadlines {
            store.epoch_deadline_trap();
            store.set_epoch_deadline(component.engine.ticks_for(limits.init_timeout));
        }
        if component.engine.config().fuel {
            // `init` is bounded by its deadline; fuel bounds the calls after it.
            store
                .set_fuel(u64::MAX)
                .map_err(|e| Error::Config(format!("{e:#}")))?;
        }
        store.data_mut().begin_call(limits.max_log_bytes_per_call);
        let deadline = limits.init_timeout;
        let instance = component.pre.instantiate(&mut store).map_err(|e| {
            match self.classify(e, &store, deadline) {
                Error::Trap { message } | Error::ContractViolation(message) => {
                    Error::Load(LoadError::Instantiate { reason: message })
                }
                fault => fault,
            }
        })?;
        // Loading checks each export's signature against the contract.
        let guest = Guest {
            backend: component
                .backend
                .load(&mut store, &instance)
                .map_err(mismatch(super::BACKEND_INTERFACE))?,
            handover: match &component.handover {
                Some(indices) => Some(
                    indices
                        .load(&mut store, &instance)
                        .map_err(mismatch(super::HANDOVER_INTERFACE))?,
                ),
                None => None,
            },
        };
        let options: Vec<(&str, &str)> = self
            .options
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let init = guest.backend.call_init(&mut store, &options);
        match init {
            Ok(Ok(())) => Ok(Live {
                store,
                guest,
                _counted: LiveCount::new(component.engine.live_instance_counter()),
            }),
            Ok(Err(refusal)) => Err(Error::Refused(refusal.into())),
            Err(e) => Err(self.classify(e, &store, deadline)),
        }
    }

    /// Runs one guest call with the per-call limits armed, recovering from faults.
    fn call<R>(
        &self,
        f: impl FnOnce(&mut Store<HostState>, &Guest) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let limits = &self.component.limits;
        let mut guard = self.slot();
        let slot = &mut *guard;
        let live = match &mut slot.live {
            Some(live) => live,
            dead => {
                if let Some(retry_at) = slot.retry_at {
                    let now = Instant::now();
                    if now < retry_at {
                        return Err(Error::Unavailable {
                            consecutive_faults: slot.consecutive_faults,
                            retry_in: retry_at - now,
                        });
                    }
                }
                self.counters.restarts.fetch_add(1, Ordering::Relaxed);
                match self.instantiate() {
                    Ok(live) => dead.insert(live),
                    Err(error) => {
                        self.record_fault(slot, &error);
                        return Err(error);
                    }
                }
            }
        };
        let store = &mut live.store;
        let engine = &self.component.engine;
        if engine.config().deadlines {
            store.set_epoch_deadline(engine.ticks_for(limits.call_timeout));
        }
        if let Some(fuel) = limits.fuel_per_call.filter(|_| engine.config().fuel) {
            store
                .set_fuel(fuel)
                .map_err(|e| Error::Config(format!("{e:#}")))?;
        }
        store.data_mut().begin_call(limits.max_log_bytes_per_call);
        match f(store, &live.guest) {
            Ok(value) => {
                slot.consecutive_faults = 0;
                slot.retry_at = None;
                Ok(value)
            }
            Err(e) => {
                let error = self.classify(e, &live.store, limits.call_timeout);
                slot.live = None;
                self.record_fault(slot, &error);
                Err(error)
            }
        }
    }

    fn record_fault(&self, slot: &mut Slot, error: &Error) {
        let counter = match error {
            Error::Timeout { .. } | Error::OutOfFuel { .. } => &self.counters.timeouts,
            Error::OutOfMemory { .. } => &self.counters.out_of_memory,
            Error::ContractViolation(_) => &self.counters.contract_violations,
            _ => &self.counters.traps,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        slot.consecutive_faults = slot.consecutive_faults.saturating_add(1);
        let delay = backoff(&self.component.limits, slot.consecutive_faults);
        slot.retry_at = Some(Instant::now() + delay);
        tracing::warn!(
            target: "wasmcache::sandbox",
            backend = %self.component.info.name,
            consecutive_faults = slot.consecutive_faults,
            restart_in_ms = delay.as_millis() as u64,
            "backend fault: {error}"
        );
    }

    /// Maps a wasmtime error from a guest call onto the crate's typed errors.
    fn classify(
        &self,
        error: wasmtime::Error,
        store: &Store<HostState>,
        deadline: Duration,
    ) -> Error {
        let limits = &self.component.limits;
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Error::Timeout { limit: deadline },
            Some(Trap::OutOfFuel) => Error::OutOfFuel {
                budget: limits.fuel_per_call.unwrap_or(u64::MAX),
            },
            Some(Trap::StackOverflow) => Error::StackOverflow,
            _ if store.data().memory_denied => Error::OutOfMemory {
                limit: limits.max_memory_bytes,
            },
            Some(_) => {
                let message = match store.data().output.last_stderr() {
                    None => format!("{error:#}"),
                    Some(said) => format!("{error:#}; the guest wrote to stderr: {said}"),
                };
                Error::Trap { message }
            }
            // Not a trap: the canonical ABI rejected what the guest handed back (a bad
            // pointer, invalid UTF-8, a misbehaving `cabi_realloc`).
            None => Error::ContractViolation(format!("{error:#}")),
        }
    }
}

/// No wait before the first restart; then `restart_backoff`, doubling up to the maximum.
fn backoff(limits: &crate::sandbox::Limits, consecutive_faults: u32) -> Duration {
    if consecutive_faults <= 1 {
        return Duration::ZERO;
    }
    let doublings = (consecutive_faults - 2).min(30);
    limits
        .restart_backoff
        .saturating_mul(1 << doublings)
        .min(limits.restart_backoff_max)
}

impl From<BackendError> for Refusal {
    fn from(error: BackendError) -> Self {
        match error {
            BackendError::InvalidConfig(message) => Refusal::InvalidConfig(message),
            BackendError::TooLarge(max_bytes) => Refusal::TooLarge { max_bytes },
            BackendError::Full => Refusal::Full,
            BackendError::Internal(message) => Refusal::Internal(message),
        }
    }
}

impl Backend for WasmBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let sizes = self.component.limits.sizes;
        sizes.check_key(key)?;
        let value = self.call(|store, guest| guest.backend.call_get(store, key))?;
        if let Some(value) = &value
            && value.len() > sizes.max_value_bytes
        {
            self.counters
                .contract_violations
                .fetch_add(1, Ordering::Relaxed);
            return Err(Error::ContractViolation(format!(
                "`get` returned a value of {} bytes, over the limit of {} bytes",
                value.len(),
                sizes.max_value_bytes
            )));
        }
        Ok(value)
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        let sizes = self.component.limits.sizes;
        sizes.check_key(key)?;
        sizes.check_value(value)?;
        self.call(|store, guest| guest.backend.call_put(store, key, value, ttl_ms))?
            .map_err(|refusal| Error::Refused(refusal.into()))
    }

    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        if let Some(key) = key {
            self.component.limits.sizes.check_key(key)?;
        }
        self.call(|store, guest| guest.backend.call_invalidate(store, key))
    }

    fn stats(&self) -> Result<BackendStats> {
        let guest = self.call(|store, guest| guest.backend.call_stats(store))?;
        let mut counters: std::collections::BTreeMap<String, u64> =
            guest.counters.into_iter().collect();
        let c = &self.counters;
        for (name, counter) in [
            ("sandbox-restarts", &c.restarts),
            ("sandbox-traps", &c.traps),
            ("sandbox-timeouts", &c.timeouts),
            ("sandbox-out-of-memory", &c.out_of_memory),
            ("sandbox-contract-violations", &c.contract_violations),
            ("sandbox-log-bytes-dropped", &*c.log_bytes_dropped),
        ] {
            counters.insert(name.into(), counter.load(Ordering::Relaxed));
        }
        Ok(BackendStats {
            size: guest.size,
            counters,
        })
    }

    fn size_limits(&self) -> SizeLimits {
        self.component.limits.sizes
    }

    fn entries(&self, cursor: Option<u64>, limit: u32) -> Result<Option<EntryPage>> {
        if self.component.handover.is_none() {
            return Ok(None);
        }
        let page = self.call(|store, guest| match &guest.handover {
            Some(handover) => handover.call_entries(store, cursor, limit).map(Some),
            None => Ok(None),
        })?;
        let Some(page) = page else { return Ok(None) };
        let entries: Vec<HandoverEntry> = page
            .entries
            .into_iter()
            .map(|e| HandoverEntry {
                key: e.key,
                value: e.value,
                ttl_remaining_ms: e.ttl_remaining_ms,
            })
            .collect();
        if entries.len() > limit as usize {
            return Err(Error::ContractViolation(format!(
                "`handover.entries` returned {} entries for a limit of {limit}",
                entries.len()
            )));
        }
        Ok(Some(EntryPage {
            entries,
            next: page.next,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Limits;

    #[test]
    fn backoff_is_immediate_once_then_doubles_to_the_cap() {
        let limits = Limits {
            restart_backoff: Duration::from_millis(10),
            restart_backoff_max: Duration::from_millis(50),
            ..Limits::default()
        };
        let delays: Vec<u128> = (1..=6).map(|n| backoff(&limits, n).as_millis()).collect();
        assert_eq!(delays, [0, 10, 20, 40, 50, 50]);
    }
}
