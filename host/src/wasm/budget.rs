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
//! than a millisecond of wall time old, and a call's CPU use is counted from that reading:
//! an overestimate by at most a millisecond of CPU, never an underestimate. (The age is
//! wall time read from the monotonic clock, not epoch ticks: on a busy machine the ticker
//! itself can be held up, and a reading aged in ticks could then be far older.)

use std::cell::Cell;
use std::time::{Duration, Instant};

use wasmtime::UpdateDeadline;

use crate::cpu_time::thread_cpu_time;

/// The budget of the call in progress on one store.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CallBudget {
    /// A reading of the thread's CPU time taken at most [`READING_AGE`] before the call.
    start_cpu: Duration,
    /// When the call began (`None` before the first call).
    started: Option<Instant>,
    /// CPU time the guest may use.
    budget: Duration,
    /// Wall time after which the call is stopped whatever it used.
    backstop: Duration,
}

/// How old a thread's CPU-time reading may be when a call starts.
const READING_AGE: Duration = Duration::from_millis(1);

/// The engine's epoch tick length, as the deadline callback needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticks {
    pub(crate) tick: Duration,
}

impl Ticks {
    /// Ticks that cover `span`, rounded up, at least one.
    pub(crate) fn covering(&self, span: Duration) -> u64 {
        let ticks = span.as_nanos().div_ceil(self.tick.as_nanos().max(1));
        u64::try_from(ticks).unwrap_or(u64::MAX - 1).max(1)
    }

    /// The budget of a call that starts now and may use `budget` of CPU time, and at most
    /// `backstop` of wall time.
    pub(crate) fn start(&self, budget: Duration, backstop: Duration) -> CallBudget {
        let now = Instant::now();
        CallBudget {
            start_cpu: recent_cpu_reading(now),
            started: Some(now),
            budget,
            backstop,
        }
    }

    /// What to do when a call's epoch deadline passes: extend it while the guest is under
    /// its CPU budget and the backstop, interrupt it otherwise.
    pub(crate) fn on_deadline(&self, call: &CallBudget) -> UpdateDeadline {
        let waited = call.started.map_or(Duration::MAX, |at| at.elapsed());
        let Some(wall_left) = call.backstop.checked_sub(waited).filter(|l| !l.is_zero()) else {
            return UpdateDeadline::Interrupt;
        };
        let used = thread_cpu_time().saturating_sub(call.start_cpu);
        match call.budget.checked_sub(used) {
            Some(left) if !left.is_zero() => {
                UpdateDeadline::Continue(self.covering(left.min(wall_left)))
            }
            _ => UpdateDeadline::Interrupt,
        }
    }
}

thread_local! {
    /// This thread's last CPU-time reading and when it was taken.
    static READING: Cell<Option<(Instant, Duration)>> = const { Cell::new(None) };
}

/// A reading of this thread's CPU time taken at most [`READING_AGE`] before `now`.
fn recent_cpu_reading(now: Instant) -> Duration {
    READING.with(|reading| match reading.get() {
        Some((at, cpu)) if now.saturating_duration_since(at) <= READING_AGE => cpu,
        _ => {
            let cpu = thread_cpu_time();
            reading.set(Some((now, cpu)));
            cpu
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks() -> Ticks {
        Ticks {
            tick: Duration::from_millis(1),
        }
    }

    #[test]
    fn a_call_descheduled_past_its_deadline_is_extended_by_its_unused_budget() {
        let ticks = ticks();
        let call = ticks.start(Duration::from_millis(100), Duration::from_secs(2));
        // 150 ms of wall time pass while this thread uses almost no CPU.
        std::thread::sleep(Duration::from_millis(150));
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
        std::thread::sleep(Duration::from_millis(50));
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
