//! Giving freed heap memory back to the operating system.
//!
//! glibc's allocator keeps memory freed in the middle of its heaps (and in the arenas of
//! worker threads) mapped, so a process whose thousands of connections have closed stays as
//! large as at its peak. `malloc_trim(0)` returns every free page of every arena. It takes
//! each arena's lock while it walks it, so it is called rarely, off the async workers, after
//! many connections have closed or after a flush.

/// Returns the heap's free pages to the operating system, where the allocator supports it
/// (glibc on Linux); elsewhere it does nothing.
pub(crate) fn return_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases pages the allocator holds free; it has no
    // preconditions and may be called from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
