//! One stored entry as one allocation: a header (key length, value length, slot number,
//! expiry), then the key, then the value. The index finds a record by its address, so
//! reading a key, its expiry and its value touches one allocation.

use alloc::boxed::Box;
use alloc::vec::Vec;

/// Header bytes: key length (4), value length (4), slot (4), unused (4), expiry (8).
const HEADER: usize = 24;
/// The expiry of an entry that never expires.
const NEVER: u64 = u64::MAX;

/// A record's bytes, borrowed.
#[derive(Clone, Copy)]
pub struct View<'a>(&'a [u8]);

/// A record, owned; its address does not change while it lives.
pub struct Record(Box<[u8]>);

fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

impl<'a> View<'a> {
    fn key_len(self) -> usize {
        word(self.0, 0) as usize
    }

    pub fn slot(self) -> usize {
        word(self.0, 8) as usize
    }

    pub fn key(self) -> &'a [u8] {
        &self.0[HEADER..HEADER + self.key_len()]
    }

    pub fn value(self) -> &'a [u8] {
        &self.0[HEADER + self.key_len()..]
    }

    /// The host-clock millisecond at which the entry expires, if it does.
    pub fn expires_at(self) -> Option<u64> {
        let at = u64::from_le_bytes(self.0[16..24].try_into().expect("eight bytes"));
        (at != NEVER).then_some(at)
    }

    /// Whether the key is `key`, compared eight bytes at a time (the C library's `memcmp`
    /// behind `==` goes a byte at a time in WebAssembly).
    pub fn has_key(self, key: &[u8]) -> bool {
        let own = self.key();
        if own.len() != key.len() {
            return false;
        }
        let (own_words, own_tail) = own.as_chunks::<8>();
        let (words, tail) = key.as_chunks::<8>();
        own_words
            .iter()
            .zip(words)
            .all(|(a, b)| u64::from_ne_bytes(*a) == u64::from_ne_bytes(*b))
            && own_tail == tail
    }
}

impl Record {
    pub fn new(key: &[u8], value: &[u8], expires_at: Option<u64>, slot: usize) -> Self {
        let mut bytes = Vec::with_capacity(HEADER + key.len() + value.len());
        let len = |n: usize| u32::try_from(n).expect("lengths fit the 32-bit address space");
        bytes.extend_from_slice(&len(key.len()).to_le_bytes());
        bytes.extend_from_slice(&len(value.len()).to_le_bytes());
        bytes.extend_from_slice(&len(slot).to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&expires_at.unwrap_or(NEVER).to_le_bytes());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(value);
        Record(bytes.into_boxed_slice())
    }

    pub fn view(&self) -> View<'_> {
        View(&self.0)
    }

    /// Where it lives: the index's handle on it (never 0).
    pub fn address(&self) -> usize {
        self.0.as_ptr() as usize
    }

    pub fn set_expires_at(&mut self, expires_at: Option<u64>) {
        self.0[16..24].copy_from_slice(&expires_at.unwrap_or(NEVER).to_le_bytes());
    }

    /// Replaces the value: in place when it is as long as the old one, otherwise in a new
    /// allocation (so the address changes).
    pub fn set_value(&mut self, value: &[u8], expires_at: Option<u64>) {
        let view = self.view();
        if view.value().len() == value.len() {
            let start = self.0.len() - value.len();
            self.0[start..].copy_from_slice(value);
            self.set_expires_at(expires_at);
        } else {
            *self = Record::new(view.key(), value, expires_at, view.slot());
        }
    }
}

/// The record at `address`.
///
/// # Safety
/// `address` must be the [`Record::address`] of a record that outlives `'a` and is not
/// changed during it.
pub unsafe fn at<'a>(address: usize) -> View<'a> {
    let start = address as *const u8;
    // SAFETY: the caller promises a live record starts here; its header says how long it is.
    unsafe {
        let header = core::slice::from_raw_parts(start, HEADER);
        let len = HEADER + word(header, 0) as usize + word(header, 4) as usize;
        View(core::slice::from_raw_parts(start, len))
    }
}
