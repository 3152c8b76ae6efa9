//! The CPU time of the calling thread: what the sandbox's deadlines and the handover's
//! time bound count, so that time a thread spends descheduled on a busy machine is not
//! charged to the work it was doing.

use std::time::Duration;

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
