//! [`StoreData`]: the `T` of every guest's `Store<T>`, a set of separate parts: the host
//! interface's context, the deny-all WASI context (made on a guest's first WASI call),
//! and the limiter.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use wasmtime_wasi::{WasiCtxView, WasiView};

use super::budget::CallBudget;
use super::imports::host::HostCtx;
use super::imports::wasi::WasiState;
use super::limiter::StoreLimiter;
use super::output::GuestOutput;
use crate::clock::SharedClock;
use crate::sandbox::Limits;

/// Everything one guest instance's store owns on the host side.
pub(crate) struct StoreData {
    pub(crate) host: HostCtx,
    /// Made when the guest first calls a WASI import, not with the store: most guests
    /// import WASI only because their toolchain's runtime does, and call nothing but
    /// `insecure-seed` (answered without it, `imports/wasi_random.rs`), while building
    /// the context (it seeds random generators) was 6 % of an instantiation.
    wasi: Option<WasiState>,
    pub(crate) limiter: StoreLimiter,
    /// The CPU-time budget of the call in progress.
    pub(crate) call: CallBudget,
    /// Key-plus-value bytes and count of the puts this instance took.
    pub(crate) puts: PutTally,
}

/// What the puts an instance took weighed, for estimating what its entries need.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PutTally {
    bytes: u64,
    count: u64,
}

impl PutTally {
    pub(crate) fn add(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_add(bytes as u64);
        self.count = self.count.saturating_add(1);
    }

    /// The mean key-plus-value size of a put, or `None` before the first.
    pub(crate) fn mean(&self) -> Option<u64> {
        self.bytes.checked_div(self.count)
    }
}

impl StoreData {
    pub(crate) fn new(clock: SharedClock, limits: Arc<Limits>, output: GuestOutput) -> Self {
        StoreData {
            host: HostCtx { clock, output },
            wasi: None,
            limiter: StoreLimiter::new(limits),
            call: CallBudget::default(),
            puts: PutTally::default(),
        }
    }

    /// Resets per-call bookkeeping before the host calls into the guest.
    pub(crate) fn begin_call(&mut self, log_budget: usize) {
        self.limiter.memory_denied = false;
        let output = &self.host.output;
        output.budget.store(log_budget, Ordering::Relaxed);
        output.call.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn output(&self) -> &GuestOutput {
        &self.host.output
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let host = &self.host;
        self.wasi
            .get_or_insert_with(|| WasiState::deny_all(host.clock.clone(), &host.output))
            .view()
    }
}
