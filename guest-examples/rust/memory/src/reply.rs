//! Reply memory: the bytes an export hands back (a value, a listing's keys and values)
//! are copied into one buffer that every reply reuses, instead of one heap allocation each.
//!
//! The host copies a reply out of the guest's memory and then frees each of its lists
//! (the canonical ABI's post-return) before it makes its next call, so a reply is dead by
//! the time the next call starts. Allocating and freeing it list by list is pure cost: the
//! allocator coalesces every freed list with its neighbours, and `malloc` and `free` took a
//! third of the time of listing the entries for a snapshot.
//!
//! So while [`copy`] runs, the global allocator below hands out memory from the buffer,
//! bumping a pointer; freeing anything inside the buffer does nothing; everything else
//! goes to the heap allocator (dlmalloc) as before. [`begin`] starts a reply from the
//! buffer's start, after growing the buffer (up to 1 MiB) if the last reply did not fit;
//! what does not fit comes from the heap allocator.
//!
//! The one rule: what [`copy`] returns is for the reply only. Nothing kept between calls
//! may hold it, since the next [`begin`] reuses its memory.
//!
//! Only in the component (wasm32, one thread): a native build, such as the index's unit
//! test, keeps `std`'s allocator and copies plainly.

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
pub use self::buffer::{begin, copy};

/// Starts a reply (native builds: nothing to do).
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
pub fn begin() {}

/// `bytes`, copied for the reply (native builds: a plain copy).
#[cfg(not(all(target_arch = "wasm32", not(target_feature = "atomics"))))]
pub fn copy(bytes: &[u8]) -> alloc::vec::Vec<u8> {
    bytes.to_vec()
}

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod buffer {
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::Cell;
    use core::ptr;

    /// The allocator underneath: dlmalloc, as `std` uses on wasm (the component is `no_std`).
    use dlmalloc::GlobalDlmalloc as Heap;

    /// The most the buffer grows to; a larger reply takes its excess from the heap.
    pub const MAX_BYTES: usize = 1 << 20;

    struct Buffer {
        start: Cell<*mut u8>,
        len: Cell<usize>,
        /// Bytes handed out in the current reply.
        used: Cell<usize>,
        /// Bytes the current reply asked for, whether they fit or not.
        wanted: Cell<usize>,
        /// Whether allocations come from the buffer (inside [`copy`]).
        active: Cell<bool>,
    }

    // SAFETY: a component instance runs on one thread (wasm32 without the `atomics`
    // feature has no threads), so the cells are never touched concurrently.
    unsafe impl Sync for Buffer {}

    static BUFFER: Buffer = Buffer {
        start: Cell::new(ptr::null_mut()),
        len: Cell::new(0),
        used: Cell::new(0),
        wanted: Cell::new(0),
        active: Cell::new(false),
    };

    impl Buffer {
        fn contains(&self, at: *mut u8) -> bool {
            let start = self.start.get() as usize;
            (start..start + self.len.get()).contains(&(at as usize))
        }

        /// Room for `layout` in the buffer, if it fits.
        fn bump(&self, layout: Layout) -> Option<*mut u8> {
            self.wanted
                .set(self.wanted.get() + layout.size() + layout.align() - 1);
            let start = self.start.get() as usize;
            let at = (start + self.used.get()).checked_next_multiple_of(layout.align())? - start;
            let end = at.checked_add(layout.size())?;
            if start == 0 || end > self.len.get() {
                return None;
            }
            self.used.set(end);
            // SAFETY: `at + size` is within the buffer's `len` bytes.
            Some(unsafe { self.start.get().add(at) })
        }
    }

    /// Starts a reply: the buffer's earlier contents are dead (the host freed the last reply
    /// before this call). Grows the buffer first if the last reply did not fit.
    pub fn begin() {
        let buffer = &BUFFER;
        let wanted = buffer.wanted.get().min(MAX_BYTES);
        if wanted > buffer.len.get() {
            let len = wanted.next_power_of_two().min(MAX_BYTES);
            let old = buffer.start.get();
            if !old.is_null() {
                // SAFETY: allocated below with this length and alignment 1.
                unsafe {
                    Heap.dealloc(old, Layout::from_size_align_unchecked(buffer.len.get(), 1))
                };
            }
            // SAFETY: `len` is non-zero (it is at least `wanted`, which exceeds `len` ≥ 0).
            let start = unsafe { Heap.alloc(Layout::from_size_align_unchecked(len, 1)) };
            buffer.start.set(start);
            buffer.len.set(if start.is_null() { 0 } else { len });
        }
        buffer.used.set(0);
        buffer.wanted.set(0);
    }

    /// `bytes`, copied for the reply (from the buffer while it has room).
    pub fn copy(bytes: &[u8]) -> alloc::vec::Vec<u8> {
        BUFFER.active.set(true);
        let copied = bytes.to_vec();
        BUFFER.active.set(false);
        copied
    }

    /// The heap allocator, except for reply memory (above).
    struct ReplyAllocator;

    #[global_allocator]
    static ALLOCATOR: ReplyAllocator = ReplyAllocator;

    // SAFETY: every block comes from `Heap` or lies within the buffer (which `Heap`
    // allocated) with the layout's size and alignment, never overlapping another live block
    // (the buffer is handed out only forward within one reply, and a reply is dead before
    // the next `begin`); blocks in the buffer are never passed to `Heap`.
    unsafe impl GlobalAlloc for ReplyAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if BUFFER.active.get()
                && let Some(at) = BUFFER.bump(layout)
            {
                return at;
            }
            // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
            unsafe { Heap.alloc(layout) }
        }

        unsafe fn dealloc(&self, at: *mut u8, layout: Layout) {
            if !BUFFER.contains(at) {
                // SAFETY: not in the buffer, so `Heap` allocated it with this layout.
                unsafe { Heap.dealloc(at, layout) }
            }
        }

        unsafe fn realloc(&self, at: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if !BUFFER.contains(at) && !BUFFER.active.get() {
                // SAFETY: `Heap` allocated `at` with `layout`.
                return unsafe { Heap.realloc(at, layout, new_size) };
            }
            // SAFETY: as `GlobalAlloc::realloc` requires of the caller.
            let layout_new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: a valid layout; the copy stays within both blocks.
            unsafe {
                let moved = self.alloc(layout_new);
                if !moved.is_null() {
                    ptr::copy_nonoverlapping(at, moved, layout.size().min(new_size));
                    self.dealloc(at, layout);
                }
                moved
            }
        }
    }
}
