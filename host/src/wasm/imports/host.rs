//! `wasmcache:backend/host`: the clock and the log, the only things a backend needs.
//!
//! [`HostCtx`] owns what the interface needs; [`HostView`] borrows it for one call. The
//! functions are linked by hand rather than through the generated `Host` trait so that
//! `log` receives its message as a view into guest memory: only what fits the call's log
//! budget is ever copied, however long the message.

use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, WasmStr};

use crate::clock::SharedClock;
// The `log-level` enum is the same in every version; one Rust type lifts it for all.
use crate::wasm::bindings::wasmcache::backend0_2_0::host::LogLevel;
use crate::wasm::names::ContractVersion;
use crate::wasm::output::{GuestOutput, OutputLevel};

/// What the `host` interface owns for one guest instance.
pub(crate) struct HostCtx {
    pub(crate) clock: SharedClock,
    pub(crate) output: GuestOutput,
}

impl HostCtx {
    pub(crate) fn view(&self) -> HostView<'_> {
        HostView { ctx: self }
    }
}

/// The `host` interface's view of one store, for the length of one call.
pub(crate) struct HostView<'a> {
    ctx: &'a HostCtx,
}

impl HostView<'_> {
    fn now_ms(&self) -> u64 {
        self.ctx.clock.now_ms()
    }

    fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Trace => OutputLevel::Trace,
            LogLevel::Debug => OutputLevel::Debug,
            LogLevel::Info => OutputLevel::Info,
            LogLevel::Warn => OutputLevel::Warn,
            LogLevel::Error => OutputLevel::Error,
        };
        self.ctx.output.emit(level, "log", message);
    }
}

/// Adds the `host` interface of every contract version to `linker` (the functions are the
/// same in each); `ctx` finds the context in a store's data.
pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    ctx: fn(&T) -> &HostCtx,
) -> wasmtime::Result<()> {
    for version in ContractVersion::ALL {
        add_version(linker, version.host_interface(), ctx)?;
    }
    Ok(())
}

fn add_version<T: 'static>(
    linker: &mut Linker<T>,
    interface: &str,
    ctx: fn(&T) -> &HostCtx,
) -> wasmtime::Result<()> {
    let mut host = linker.instance(interface)?;
    host.func_wrap("now-ms", move |store: StoreContextMut<'_, T>, (): ()| {
        Ok((ctx(store.data()).view().now_ms(),))
    })?;
    host.func_wrap(
        "log",
        move |store: StoreContextMut<'_, T>, (level, message): (LogLevel, WasmStr)| {
            // Borrowed from guest memory (UTF-8 is checked, nothing is copied).
            let text = message.to_str(&store)?;
            ctx(store.data()).view().log(level, &text);
            Ok(())
        },
    )
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
        let ctx = ctx(clock.clone());
        assert_eq!(ctx.view().now_ms(), 0);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(ctx.view().now_ms(), 1500);
    }

    #[test]
    fn log_output_beyond_the_call_budget_is_dropped_and_counted() {
        let ctx = ctx(Arc::new(ManualClock::new()));
        let begin = |ctx: &HostCtx| {
            ctx.output.budget.store(10, Ordering::Relaxed);
            ctx.output.call.fetch_add(1, Ordering::Relaxed);
        };
        begin(&ctx);
        ctx.view().log(LogLevel::Info, "0123456789abcdef");
        assert_eq!(ctx.output.dropped.load(Ordering::Relaxed), 6);
        ctx.view().log(LogLevel::Info, "more");
        assert_eq!(ctx.output.dropped.load(Ordering::Relaxed), 10);
        begin(&ctx);
        ctx.view().log(LogLevel::Info, "fits");
        assert_eq!(ctx.output.dropped.load(Ordering::Relaxed), 10);
    }
}
