//! What the standard library would otherwise bring: this backend is `no_std` in the
//! component, so that it imports nothing but the contract's `host` interface and one
//! WASI function (`insecure-seed`, for its hash seed). Rust's `wasm32-wasip2` standard
//! library imports 14 WASI interfaces (stdio, environment, exit, terminals, ...) for its
//! runtime, and the host wires each of them into every instance: without them,
//! instantiation plus `init` takes about 30 % less time (BENCHMARKS.md).
//!
//! Native builds (the index's unit test) keep `std`; of this file they use only the
//! state's cell, behind a lock.
//!
//! Here: the panic handler (a panic traps, which the host reports as a fault), the
//! allocator underneath the reply buffer (`dlmalloc`, the one `std` uses on wasm), the
//! `cabi_realloc` through which the host hands over arguments (in `std` builds
//! wasi-libc provides it), `memcmp` (which slice comparison lowers to, likewise from
//! wasi-libc), and the cell that holds the backend's state.

/// A value only ever touched by the component's one thread, made on first use.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
pub struct OneThread<T>(core::cell::RefCell<Option<T>>);

// SAFETY: a component instance runs on one thread (wasm32 without the `atomics` feature
// has no threads), so the cell is never touched concurrently.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl<T> Sync for OneThread<T> {}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
impl<T: Default> OneThread<T> {
    pub const fn new() -> Self {
        OneThread(core::cell::RefCell::new(None))
    }

    pub fn with_borrow_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(self.0.borrow_mut().get_or_insert_with(T::default))
    }
}

/// Native builds, which may have threads: the same behind a lock.
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
pub struct OneThread<T>(std::sync::Mutex<Option<T>>);

#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
impl<T: Default> OneThread<T> {
    pub const fn new() -> Self {
        OneThread(std::sync::Mutex::new(None))
    }

    pub fn with_borrow_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut value = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(value.get_or_insert_with(T::default))
    }
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod component {
    use alloc::alloc::Layout;

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }

    /// The host asks for memory for the arguments it hands over (canonical ABI).
    #[unsafe(no_mangle)]
    unsafe extern "C" fn cabi_realloc(
        old: *mut u8,
        old_len: usize,
        align: usize,
        new_len: usize,
    ) -> *mut u8 {
        if new_len == 0 {
            // Nothing to hold: any non-null, aligned address will do.
            return align as *mut u8;
        }
        // SAFETY: the canonical ABI passes a power-of-two `align`, and `old` is null with
        // `old_len` 0 or was returned by this function with that `old_len` and `align`.
        unsafe {
            let ptr = if old_len == 0 {
                alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
            } else {
                alloc::alloc::realloc(
                    old,
                    Layout::from_size_align_unchecked(old_len, align),
                    new_len,
                )
            };
            if ptr.is_null() {
                core::arch::wasm32::unreachable();
            }
            ptr
        }
    }

    /// Byte-wise comparison, as C's `memcmp`; keys are short, and the lookup compares
    /// them a word at a time before it gets here.
    #[unsafe(no_mangle)]
    unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, len: usize) -> i32 {
        let mut i = 0;
        while i < len {
            // SAFETY: the caller passes `len` readable bytes at each of `a` and `b`.
            let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
            if x != y {
                return i32::from(x) - i32::from(y);
            }
            i += 1;
        }
        0
    }
}
