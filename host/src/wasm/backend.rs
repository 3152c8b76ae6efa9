//! [`WasmBackend`]: one sandboxed guest instance behind the [`Backend`] trait, with trap
//! recovery.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::faults::guest_fault;
use super::instance::{ComponentParts, Guest, Instance};
use super::output::GuestOutput;
use super::stats::check_counters;
use super::store::StoreData;
use crate::backend::{
    Backend, BackendStats, EntryPage, Expiry, InitOptions, KeyPage, MemoryUse, PutItem, SizeLimits,
    fallback,
};
use crate::clock::SharedClock;
use crate::counter::Counter;
use crate::error::{Error, Result};
use crate::retry::Backoff;

/// A guest component instance behind the [`Backend`] trait.
///
/// Calls are serialised on one instance (a component instance is single-threaded); run
/// several backends (shards) for parallelism. Every call runs under the component's
/// [`Limits`](crate::Limits): a deadline, memory and table caps, optional fuel, and size
/// checks on keys and values.
///
/// When the guest traps, times out or breaks the contract, the instance is discarded
/// (a trap poisons the instance's store) and the next call starts a fresh one with the
/// same `init` options; its entries are lost. Consecutive faults back off exponentially
/// ([`Limits::restart_backoff`](crate::Limits::restart_backoff)); meanwhile calls fail
/// fast with [`Error::Unavailable`].
pub struct WasmBackend {
    parts: Arc<ComponentParts>,
    options: InitOptions,
    clock: SharedClock,
    slot: Mutex<Slot>,
    counters: FaultCounters,
}

#[derive(Default)]
struct Slot {
    live: Option<Instance>,
    consecutive_faults: u32,
    retry_at: Option<Instant>,
}

/// The sandbox's own counts, reported in `stats` with the prefix `sandbox-`.
#[derive(Default)]
struct FaultCounters {
    restarts: Counter,
    traps: Counter,
    timeouts: Counter,
    out_of_memory: Counter,
    contract_violations: Counter,
    log_bytes_dropped: Arc<AtomicU64>,
    /// Fuel used by calls, when the engine meters fuel and calls have a fuel budget.
    fuel_used: Counter,
}

impl WasmBackend {
    pub(crate) fn start(
        parts: Arc<ComponentParts>,
        options: InitOptions,
        clock: SharedClock,
    ) -> Result<Self> {
        let backend = WasmBackend {
            parts,
            options,
            clock,
            slot: Mutex::default(),
            counters: FaultCounters::default(),
        };
        let live = backend.instantiate()?;
        backend.slot().live = Some(live);
        Ok(backend)
    }

    /// The name of the component this backend runs.
    pub fn name(&self) -> &str {
        &self.parts.info.name
    }

    /// Instances started after a fault so far.
    pub fn restarts(&self) -> u64 {
        self.counters.restarts.get()
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A panic while holding the lock leaves at worst a dead instance, which the next
        // call replaces.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn instantiate(&self) -> Result<Instance> {
        let output = GuestOutput::new(
            self.parts.info.name.as_str().into(),
            self.counters.log_bytes_dropped.clone(),
        );
        self.parts.start(&self.options, self.clock.clone(), output)
    }

    /// The live instance, starting a fresh one if the last one faulted (unless the
    /// restart back-off says to wait).
    fn live<'s>(&self, slot: &'s mut Slot) -> Result<&'s mut Instance> {
        if slot.live.is_none() {
            if let Some(retry_at) = slot.retry_at {
                let now = Instant::now();
                if now < retry_at {
                    return Err(Error::Unavailable {
                        consecutive_faults: slot.consecutive_faults,
                        retry_in: retry_at - now,
                    });
                }
            }
            self.counters.restarts.bump();
            match self.instantiate() {
                Ok(live) => slot.live = Some(live),
                Err(error) => {
                    self.record_fault(slot, &error);
                    return Err(error);
                }
            }
        }
        Ok(slot
            .live
            .as_mut()
            .expect("an instance was just put in place"))
    }

    /// Runs one guest call with the per-call limits armed, recovering from faults.
    fn call<R>(
        &self,
        f: impl FnOnce(&mut Store<StoreData>, &Guest) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let limits = &*self.parts.limits;
        let mut guard = self.slot();
        let slot = &mut *guard;
        let live = self.live(slot)?;
        self.parts
            .arm(&mut live.store, limits.call_timeout, limits.fuel_per_call)?;
        let result = f(&mut live.store, &live.guest);
        if let Some(budget) = self.fuel_budget() {
            // A call that ran out used all of it; the store is dropped below.
            let left = live.store.get_fuel().unwrap_or(0);
            self.counters.fuel_used.add(budget.saturating_sub(left));
        }
        match result {
            Ok(value) => {
                slot.consecutive_faults = 0;
                slot.retry_at = None;
                Ok(value)
            }
            Err(e) => {
                let error = guest_fault(e, live.store.data(), limits, limits.call_timeout);
                let faulted = slot.live.take();
                self.record_fault(slot, &error);
                // Its memory goes back to the pool after the lock is released.
                drop(guard);
                drop(faulted);
                Err(error)
            }
        }
    }

    /// Each call's fuel, when fuel is metered.
    fn fuel_budget(&self) -> Option<u64> {
        self.parts
            .limits
            .fuel_per_call
            .filter(|_| self.parts.engine.config().fuel)
    }

    fn record_fault(&self, slot: &mut Slot, error: &Error) {
        let counter = match error {
            Error::Timeout { .. } | Error::OutOfFuel { .. } => &self.counters.timeouts,
            Error::OutOfMemory { .. } => &self.counters.out_of_memory,
            Error::ContractViolation(_) => &self.counters.contract_violations,
            _ => &self.counters.traps,
        };
        counter.bump();
        slot.consecutive_faults = slot.consecutive_faults.saturating_add(1);
        let delay = restart_delay(&self.parts.limits, slot.consecutive_faults);
        slot.retry_at = Some(Instant::now() + delay);
        tracing::warn!(
            target: "wasmcache::sandbox",
            backend = %self.parts.info.name,
            consecutive_faults = slot.consecutive_faults,
            restart_in_ms = delay.as_millis() as u64,
            "backend fault: {error}"
        );
    }

    /// A contract violation, counted.
    fn violation(&self, message: String) -> Error {
        self.counters.contract_violations.bump();
        Error::ContractViolation(message)
    }

    /// A value a guest returned must be within the value limit.
    fn check_value(&self, value: &Option<Vec<u8>>) -> Result<()> {
        let limit = self.parts.limits.sizes.max_value_bytes;
        match value {
            Some(value) if value.len() > limit => Err(self.violation(format!(
                "`get` returned a value of {} bytes, over the limit of {limit} bytes",
                value.len()
            ))),
            _ => Ok(()),
        }
    }

    /// The sandbox's counters, as `stats` reports them beside the guest's own.
    fn counts(&self) -> Vec<(&'static str, u64)> {
        let c = &self.counters;
        let mut counts = vec![
            ("sandbox-restarts", c.restarts.get()),
            ("sandbox-traps", c.traps.get()),
            ("sandbox-timeouts", c.timeouts.get()),
            ("sandbox-out-of-memory", c.out_of_memory.get()),
            ("sandbox-contract-violations", c.contract_violations.get()),
            (
                "sandbox-log-bytes-dropped",
                c.log_bytes_dropped.load(Ordering::Relaxed),
            ),
        ];
        if self.fuel_budget().is_some() {
            counts.push(("sandbox-fuel-used", c.fuel_used.get()));
        }
        counts
    }
}

/// No wait before the first restart; then `restart_backoff`, doubling up to the maximum.
fn restart_delay(limits: &crate::sandbox::Limits, consecutive_faults: u32) -> Duration {
    let backoff = Backoff {
        first: limits.restart_backoff,
        max: limits.restart_backoff_max,
    };
    backoff.after(consecutive_faults.saturating_sub(1))
}

impl Backend for WasmBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let sizes = self.parts.limits.sizes;
        sizes.check_key(key)?;
        let value = self.call(|store, guest| guest.exports.get(store, key))?;
        self.check_value(&value)?;
        Ok(value)
    }

    fn put(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<()> {
        let sizes = self.parts.limits.sizes;
        sizes.check_key(key)?;
        sizes.check_value(value)?;
        self.call(|store, guest| {
            let stored = guest.exports.put(&mut *store, key, value, ttl_ms)?;
            if stored.is_ok() {
                store.data_mut().puts.add(key.len() + value.len());
            }
            Ok(stored)
        })?
        .map_err(Error::Refused)
    }

    /// Removing one key calls the guest. Removing everything starts a fresh instance
    /// instead: however many entries there are, it takes one instantiation (no guest call
    /// that a large backend could run past its deadline with), and the old instance's
    /// linear memory, which never shrinks, goes back to the pool. The guest's own counters
    /// start again from zero.
    fn invalidate(&self, key: Option<&[u8]>) -> Result<()> {
        let Some(key) = key else {
            // Under the lock: no call lands on the old instance after the flush. The old
            // instance is dropped (its memory handed back to the pool) after the lock is
            // released, so calls wait only for the fresh instance.
            let mut slot = self.slot();
            let flushed = slot.live.replace(self.instantiate()?);
            slot.consecutive_faults = 0;
            slot.retry_at = None;
            drop(slot);
            drop(flushed);
            return Ok(());
        };
        self.parts.limits.sizes.check_key(key)?;
        self.call(|store, guest| guest.exports.invalidate(store, Some(key)))
    }

    fn stats(&self) -> Result<BackendStats> {
        // Lifted within bounds: too many counters or too long a name is never copied.
        let (guest,) = self.call(|store, guest| guest.bounded_stats.call(store, ()))?;
        let mut counters = check_counters(guest.counters).inspect_err(|_| {
            self.counters.contract_violations.bump();
        })?;
        counters.extend(self.counts().into_iter().map(|(n, v)| (n.to_string(), v)));
        Ok(BackendStats {
            size: guest.size,
            counters,
        })
    }

    fn size(&self) -> Result<u64> {
        self.call(|store, guest| Ok(guest.lazy_stats.call(store, ())?.0.size))
    }

    fn size_limits(&self) -> SizeLimits {
        self.parts.limits.sizes
    }

    fn sandbox_counters(&self) -> Vec<(&'static str, u64)> {
        self.counts()
    }

    /// Linear memory held against entries times the mean size of the puts this instance
    /// took. `None` when the component cannot hand its entries over (without `handover`
    /// a fresh instance would start empty, so there is nothing to compact into).
    fn memory_use(&self) -> Result<Option<MemoryUse>> {
        if !self.parts.exports.can_list() {
            return Ok(None);
        }
        let (size, data) = self.call(|store, guest| {
            let size = guest.lazy_stats.call(&mut *store, ())?.0.size;
            let data = store.data();
            Ok((size, (data.limiter.memory_bytes, data.puts.mean())))
        })?;
        let (held, mean) = data;
        Ok(Some(MemoryUse {
            held_bytes: held as u64,
            live_bytes: size.saturating_mul(mean.unwrap_or(0)),
        }))
    }

    fn entries(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<EntryPage>> {
        if !self.parts.exports.can_list() {
            return Ok(None);
        }
        let page = self.call(|store, guest| guest.exports.entries(store, cursor, limit))?;
        let Some(page) = page else { return Ok(None) };
        if page.entries.len() > limit as usize {
            return Err(self.violation(format!(
                "listing `entries` returned {} entries for a limit of {limit}",
                page.entries.len()
            )));
        }
        for entry in &page.entries {
            if entry.value.len() > self.parts.limits.sizes.max_value_bytes {
                return Err(self.violation(format!(
                    "listing `entries` returned a value of {} bytes, over the limit of {} bytes",
                    entry.value.len(),
                    self.parts.limits.sizes.max_value_bytes
                )));
            }
        }
        Ok(Some(page))
    }

    fn keys(&self, cursor: Option<&[u8]>, limit: u32) -> Result<Option<KeyPage>> {
        let page = self.call(|store, guest| guest.exports.keys(store, cursor, limit))?;
        match page {
            Some(page) if page.keys.len() > limit as usize => Err(self.violation(format!(
                "listing `keys` returned {} keys for a limit of {limit}",
                page.keys.len()
            ))),
            Some(page) => Ok(Some(page)),
            // A 0.1 `handover` lists keys with their values.
            None => fallback::keys(self, cursor, limit),
        }
    }

    fn remove(&self, key: &[u8]) -> Result<bool> {
        self.parts.limits.sizes.check_key(key)?;
        match self.call(|store, guest| guest.exports.remove(store, key))? {
            Some(removed) => Ok(removed),
            None => fallback::remove(self, key),
        }
    }

    fn ttl(&self, key: &[u8]) -> Result<Option<Expiry>> {
        self.parts.limits.sizes.check_key(key)?;
        match self.call(|store, guest| guest.exports.ttl(store, key))? {
            Some(Some(Expiry::InMs(0))) => Err(self.violation(
                "`ttl` reported an entry with 0 ms left (an expired entry is absent)".into(),
            )),
            Some(expiry) => Ok(expiry),
            None => Err(Error::Unsupported {
                what: "reading an entry's time to live (a contract 0.1 backend)",
            }),
        }
    }

    fn set_ttl(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool> {
        self.parts.limits.sizes.check_key(key)?;
        match self.call(|store, guest| guest.exports.set_ttl(store, key, ttl_ms))? {
            Some(changed) => Ok(changed),
            None => fallback::set_ttl(self, key, ttl_ms),
        }
    }

    fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        let sizes = self.parts.limits.sizes;
        for key in keys {
            sizes.check_key(key)?;
        }
        match self.call(|store, guest| guest.exports.get_many(store, keys))? {
            Some(values) if values.len() != keys.len() => Err(self.violation(format!(
                "`get-many` returned {} results for {} keys",
                values.len(),
                keys.len()
            ))),
            Some(values) => {
                for value in &values {
                    self.check_value(value)?;
                }
                Ok(values)
            }
            None => fallback::get_many(self, keys),
        }
    }

    fn put_many(&self, items: &[PutItem<'_>]) -> Result<Vec<Result<()>>> {
        let sizes = self.parts.limits.sizes;
        // Items over the limits are answered here; the rest cross in one batch.
        let checked: Vec<Result<()>> = items
            .iter()
            .map(|item| sizes.check_key(item.key).and(sizes.check_value(item.value)))
            .collect();
        let fits: Vec<PutItem<'_>> = items
            .iter()
            .zip(&checked)
            .filter(|(_, check)| check.is_ok())
            .map(|(item, _)| *item)
            .collect();
        let stored = self.call(|store, guest| {
            let stored = guest.exports.put_many(&mut *store, &fits)?;
            if let Some(results) = &stored {
                for (item, result) in fits.iter().zip(results) {
                    if result.is_ok() {
                        store.data_mut().puts.add(item.key.len() + item.value.len());
                    }
                }
            }
            Ok(stored)
        })?;
        let Some(stored) = stored else {
            return fallback::put_many(self, items);
        };
        if stored.len() != fits.len() {
            return Err(self.violation(format!(
                "`put-many` returned {} results for {} items",
                stored.len(),
                fits.len()
            )));
        }
        let mut stored = stored.into_iter();
        Ok(checked
            .into_iter()
            .map(|check| match check {
                Ok(()) => stored
                    .next()
                    .expect("one result per item that fits")
                    .map_err(Error::Refused),
                Err(error) => Err(error),
            })
            .collect())
    }

    fn remove_many(&self, keys: &[&[u8]]) -> Result<Vec<bool>> {
        let sizes = self.parts.limits.sizes;
        for key in keys {
            sizes.check_key(key)?;
        }
        match self.call(|store, guest| guest.exports.remove_many(store, keys))? {
            Some(removed) if removed.len() != keys.len() => Err(self.violation(format!(
                "`remove-many` returned {} results for {} keys",
                removed.len(),
                keys.len()
            ))),
            Some(removed) => Ok(removed),
            None => fallback::remove_many(self, keys),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Limits;

    #[test]
    fn restarts_are_immediate_once_then_back_off_doubling_to_the_cap() {
        let limits = Limits {
            restart_backoff: Duration::from_millis(10),
            restart_backoff_max: Duration::from_millis(50),
            ..Limits::default()
        };
        let delays: Vec<u128> = (1..=6)
            .map(|n| restart_delay(&limits, n).as_millis())
            .collect();
        assert_eq!(delays, [0, 10, 20, 40, 50, 50]);
    }
}
