//! `wasmcache:backend/host`: the clock and the log, the only things a backend needs.

use crate::wasm::bindings::wasmcache::backend::host::{Host, LogLevel};
use crate::wasm::state::{HostState, OutputLevel};

impl Host for HostState {
    fn now_ms(&mut self) -> u64 {
        self.clock.now_ms()
    }

    fn log(&mut self, level: LogLevel, message: String) {
        let level = match level {
            LogLevel::Trace => OutputLevel::Trace,
            LogLevel::Debug => OutputLevel::Debug,
            LogLevel::Info => OutputLevel::Info,
            LogLevel::Warn => OutputLevel::Warn,
            LogLevel::Error => OutputLevel::Error,
        };
        self.output.emit(level, "log", &message);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::clock::ManualClock;
    use crate::sandbox::Limits;
    use crate::wasm::state::GuestOutput;

    fn state(clock: Arc<ManualClock>) -> HostState {
        let output = GuestOutput::new("test".into(), Arc::new(AtomicU64::new(0)));
        HostState::new(clock, &Limits::default(), output, false)
    }

    #[test]
    fn now_ms_reads_the_injected_clock() {
        let clock = Arc::new(ManualClock::new());
        let mut state = state(clock.clone());
        assert_eq!(state.now_ms(), 0);
        clock.advance(Duration::from_millis(1500));
        assert_eq!(state.now_ms(), 1500);
    }

    #[test]
    fn log_output_beyond_the_call_budget_is_dropped_and_counted() {
        let mut state = state(Arc::new(ManualClock::new()));
        state.begin_call(10);
        state.log(LogLevel::Info, "0123456789abcdef".into());
        assert_eq!(state.output.dropped.load(Ordering::Relaxed), 6);
        state.log(LogLevel::Info, "more".into());
        assert_eq!(state.output.dropped.load(Ordering::Relaxed), 10);
        state.begin_call(10);
        state.log(LogLevel::Info, "fits".into());
        assert_eq!(state.output.dropped.load(Ordering::Relaxed), 10);
    }
}
