//! CPU-time deadlines: a guest call is stopped when the guest itself has used its budget
//! of the calling thread's CPU time, not when the wall clock says so.
//!
//! The epoch deadline fires once `budget` of wall time has passed. Its callback then reads
//! the thread's CPU time. While the guest has used less than its budget (the thread was
//! descheduled on a busy machine), the deadline is extended by what is left; once it has
//! used the budget, or the call has run past the wall-clock backstop, the call traps and
//! is reported as a timeout. A looping guest is so stopped after its budget of CPU time
//! plus at most a few ticks, however busy the machine; a healthy call that was merely
//! descheduled is never cut short.
//!
//! Reading a thread's CPU time is a system call, too dear for every call (a call costs
//! well under a microsecond). So each thread keeps one reading, refreshed when it is more
//! than a tick old, and a call's CPU use is counted from that reading: an overestimate by
//! at most two ticks of CPU (the default tick is 1 ms), never an underestimate.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::UpdateDeadline;

/// The budget of the call in progress on one store.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallBudget {
    /// A reading of the thread's CPU time taken at most two ticks before the call began.
    start_cpu: Duration,
    /// The engine's tick count when the call began.
    start_tick: u64,
    /// CPU time the guest may use.
    budget: Duration,
    /// Ticks of wall time after which the call is stopped whatever it used.
    backstop_ticks: u64,
}

/// The engine's tick counter and tick length, as the deadline callback needs them.
#[derive(Debug, Clone)]
pub(crate) struct Ticks {
    pub(crate) count: Arc<AtomicU64>,
    pub(crate) tick: Duration,
}

impl Ticks {
    /// Ticks that cover `span`, rounded up, at least one.
    pub(crate) fn covering(&self, span: Duration) -> u64 {
        let ticks = span.as_nanos().div_ceil(self.tick.as_nanos().max(1));
        u64::try_from(ticks).unwrap_or(u64::MAX - 1).max(1)
    }

    fn now(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The budget of a call that starts now and may use `budget` of CPU time, and at most
    /// `backstop` of wall time.
    pub(crate) fn start(&self, budget: Duration, backstop: Duration) -> CallBudget {
        let now = self.now();
        CallBudget {
            start_cpu: recent_cpu_reading(now),
            start_tick: now,
            budget,
            backstop_ticks: self.covering(backstop),
        }
    }

    /// What to do when a call's epoch deadline passes: extend it while the guest is under
    /// its CPU budget and the backstop, interrupt it otherwise.
    pub(crate) fn on_deadline(&self, call: &CallBudget) -> UpdateDeadline {
        let waited = self.now().saturating_sub(call.start_tick);
        if waited >= call.backstop_ticks {
            return UpdateDeadline::Interrupt;
        }
        let used = thread_cpu_time().saturating_sub(call.start_cpu);
        match call.budget.checked_sub(used) {
            Some(left) if !left.is_zero() => UpdateDeadline::Continue(
                self.covering(left).min(call.backstop_ticks - waited).max(1),
            ),
            _ => UpdateDeadline::Interrupt,
        }
    }
}

thread_local! {
    /// This thread's last CPU-time reading and the tick it was taken at.
    static READING: Cell<Option<(u64, Duration)>> = const { Cell::new(None) };
}

/// A reading of this thread's CPU time taken at most one tick before `now`.
fn recent_cpu_reading(now: u64) -> Duration {
    READING.with(|reading| match reading.get() {
        Some((at, cpu)) if now <= at.saturating_add(1) => cpu,
        _ => {
            let cpu = thread_cpu_time();
            reading.set(Some((now, cpu)));
            cpu
        }
    })
}

/// CPU time the calling thread has used.
#[cfg(unix)]
pub(crate) fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID is supported by
    // every Unix this crate builds on, and on failure `now` stays zero.
    let _ = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// Without a per-thread CPU clock, wall time since the first call stands in for it (the
/// deadline then counts descheduled time, as a plain wall-clock deadline would).
#[cfg(not(unix))]
pub(crate) fn thread_cpu_time() -> Duration {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(std::time::Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks() -> Ticks {
        Ticks {
            count: Arc::new(AtomicU64::new(100)),
            tick: Duration::from_millis(1),
        }
    }

    #[test]
    fn a_call_descheduled_past_its_deadline_is_extended_by_its_unused_budget() {
        let ticks = ticks();
        let call = ticks.start(Duration::from_millis(100), Duration::from_secs(2));
        // 150 ms of wall time pass while this thread uses almost no CPU.
        ticks.count.fetch_add(150, Ordering::Relaxed);
        match ticks.on_deadline(&call) {
            UpdateDeadline::Continue(more) => assert!(more >= 90, "{more}"),
            _ => panic!("a call that used no CPU is not interrupted"),
        }
    }

    #[test]
    fn a_call_that_used_its_cpu_budget_or_passed_the_backstop_is_interrupted() {
        let ticks = ticks();
        let call = ticks.start(Duration::from_millis(5), Duration::from_secs(2));
        let spin_until = thread_cpu_time() + Duration::from_millis(10);
        while thread_cpu_time() < spin_until {
            std::hint::black_box(0);
        }
        assert!(matches!(
            ticks.on_deadline(&call),
            UpdateDeadline::Interrupt
        ));
        let call = ticks.start(Duration::from_secs(1), Duration::from_millis(50));
        ticks.count.fetch_add(50, Ordering::Relaxed);
        assert!(matches!(
            ticks.on_deadline(&call),
            UpdateDeadline::Interrupt
        ));
    }

    #[test]
    fn thread_cpu_time_moves_with_work_not_with_sleep() {
        let before = thread_cpu_time();
        std::thread::sleep(Duration::from_millis(30));
        let slept = thread_cpu_time() - before;
        assert!(slept < Duration::from_millis(20), "sleeping used {slept:?}");
    }
}
