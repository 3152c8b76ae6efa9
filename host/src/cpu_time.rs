//! The CPU time of the calling thread: what the sandbox's deadlines and the handover's
//! time bound count, so that time a thread spends descheduled on a busy machine is not
//! charged to the work it was doing.
//!
//! On Linux it is the thread's *user* CPU time: what a guest computes. Kernel time spent
//! on the thread's behalf is left out: on a busy process it includes spinning for the
//! address-space lock that other threads hold while they map and unmap instances' memory,
//! which is not the guest's work (measured: a guest `put` that grew its hash table was
//! charged 100 ms of CPU under load). What a guest can make the kernel do is bounded
//! otherwise: page faults by its memory limit, host calls by their own limits.

use std::time::Duration;

/// User CPU time the calling thread has used.
#[cfg(target_os = "linux")]
pub(crate) fn thread_cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_THREAD is supported since Linux
    // 2.6.26, and on failure `usage` stays zero.
    let _ = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    Duration::new(
        u64::try_from(usage.ru_utime.tv_sec).unwrap_or(0),
        u32::try_from(usage.ru_utime.tv_usec).unwrap_or(0) * 1000,
    )
}

/// CPU time the calling thread has used.
#[cfg(all(unix, not(target_os = "linux")))]
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
