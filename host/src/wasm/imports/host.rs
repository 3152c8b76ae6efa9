//! `wasmcache:backend/host`: the clock and the log, the only things a backend needs.
//!
//! [`HostCtx`] owns what the interface needs; [`HostView`] borrows it for one call; the
//! [`HostImports`] marker tells the linker how to get from a store's data to the view.

use wasmtime::component::{HasData, Linker};

use crate::clock::SharedClock;
use crate::wasm::bindings::wasmcache::backend::host::{self, Host, LogLevel};
use crate::wasm::output::{GuestOutput, OutputLevel};

/// What the `host` interface owns for one guest instance.
pub(crate) struct HostCtx {
    pub(crate) clock: SharedClock,
    pub(crate) output: GuestOutput,
}

impl HostCtx {
    pub(crate) fn view(&mut self) -> HostView<'_> {
        HostView { ctx: self }
    }
}

/// The `host` interface's view of one store, for the length of one call.
pub(crate) struct HostView<'a> {
    ctx: &'a HostCtx,
}

/// Marks the `host` interface's data for the linker.
pub(crate) struct HostImports;

impl HasData for HostImports {
    type Data<'a> = HostView<'a>;
}

/// Adds the `host` interface to `linker`; `view` finds the context in a store's data.
pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> HostView<'_>,
) -> wasmtime::Result<()> {
    host::add_to_linker::<T, HostImports>(linker, view)
}

impl Host for HostView<'_> {
    fn now_ms(&mut self) -> u64 {
        self.ctx.clock.now_ms()
    }

    fn log(&mut self, level: LogLevel, message: String) {
        let level = match level {
            LogLevel::Trace => OutputLevel::Trace,
            LogLevel::Debug => OutputLevel::Debug,
            LogLevel::Info => OutputLevel::Info,
            LogLevel::Warn => OutputLevel::Warn,
            LogLevel::Error => OutputLevel::Error,
        };
        self.ctx.output.emit(level, "log", &message);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;

    fn ctx(clock: Arc<ManualClock>) -> HostCtx {
        HostCtx {
            clock,
            output: GuestOutput::new("test".into(), Arc::new(AtomicU64::new(0))),
        }
    }

    #[test]
    fn now_ms_reads_the_injected_clock() {
        let clock = Arc::new(ManualClock::new());
        let mut ctx = ctx(clock.clone());
        assert_eq!(ctx.view().now_ms(), 0);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(ctx.view().now_ms(), 1500);
    }

    #[test]
    fn log_output_beyond_the_call_budget_is_dropped_and_counted() {
        let mut ctx = ctx(Arc::new(ManualClock::new()));
        let begin = |ctx: &HostCtx| {
            ctx.output.budget.store(10, Ordering::Relaxed);
            ctx.output.call.fetch_add(1, Ordering::Relaxed);
        };
        begin(&ctx);
        ctx.view().log(LogLevel::Info, "0123456789abcdef".into());
        assert_eq!(ctx.output.dropped.load(Ordering::Relaxed), 6);
        ctx.view().log(LogLevel::Info, "more".into());
        assert_eq!(ctx.output.dropped.load(Ordering::Relaxed), 10);
        begin(&ctx);
        ctx.view().log(LogLevel::Info, "fits".into());
        assert_eq!(ctx.output.dropped.load(Ordering::Relaxed), 10);
    }
}
