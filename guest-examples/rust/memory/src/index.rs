//! The hash index: an open-addressing table of `(hash, address)` pairs, probed linearly.
//!
//! Each pair is eight bytes in WebAssembly (32-bit addresses), so a probe sequence usually
//! stays in one cache line, and the address leads straight to the record holding the key
//! and value: a lookup touches one line of the table and one of the record. The low 32
//! bits of the hash are kept in the pair; they pick the home position and filter out
//! almost every non-matching key before its record is read. Removal shifts the following
//! pairs back (no tombstones), so the table never fills with dead pairs.

use alloc::vec;
use alloc::vec::Vec;

/// An empty position (no record lives at address 0).
const EMPTY: (u32, usize) = (0, 0);

#[derive(Default)]
pub struct Index {
    pairs: Vec<(u32, usize)>,
    len: usize,
}

impl Index {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self) {
        *self = Index::default();
    }

    fn mask(&self) -> usize {
        self.pairs.len() - 1
    }

    fn home(&self, hash: u32) -> usize {
        hash as usize & self.mask()
    }

    /// The pair at the home position of `hash` (empty in an empty table): reading it
    /// before a run of lookups lets the memory system fetch many at once.
    pub fn first(&self, hash: u64) -> (u32, usize) {
        if self.len == 0 {
            return EMPTY;
        }
        self.pairs[self.home(hash as u32)]
    }

    /// The address stored for `hash` for which `is_key` holds.
    pub fn find(&self, hash: u64, mut is_key: impl FnMut(usize) -> bool) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let hash = hash as u32;
        let mask = self.mask();
        let mut at = self.home(hash);
        loop {
            let (stored, address) = self.pairs[at];
            if address == 0 {
                return None;
            }
            if stored == hash && is_key(address) {
                return Some(address);
            }
            at = (at + 1) & mask;
        }
    }

    /// Where `address` (stored under `hash`) sits.
    fn position(&self, hash: u32, address: usize) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let mut at = self.home(hash);
        loop {
            match self.pairs[at] {
                (_, 0) => return None,
                (_, stored) if stored == address => return Some(at),
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// Adds `address` under `hash` (the caller knows its key is not in the table yet).
    pub fn insert(&mut self, hash: u64, address: usize) {
        debug_assert_ne!(address, 0);
        // At most three quarters full, so probe sequences stay short.
        if (self.len + 1) * 4 > self.pairs.len() * 3 {
            self.grow();
        }
        let hash = hash as u32;
        let mask = self.mask();
        let mut at = self.home(hash);
        while self.pairs[at].1 != 0 {
            at = (at + 1) & mask;
        }
        self.pairs[at] = (hash, address);
        self.len += 1;
    }

    /// Points the pair of `old` at `new` (its record moved).
    pub fn replace(&mut self, hash: u64, old: usize, new: usize) {
        if let Some(at) = self.position(hash as u32, old) {
            self.pairs[at].1 = new;
        }
    }

    /// Takes `address` (stored under `hash`) out, shifting the pairs after it back.
    pub fn remove(&mut self, hash: u64, address: usize) {
        let Some(mut hole) = self.position(hash as u32, address) else {
            return;
        };
        let mask = self.mask();
        let mut next = hole;
        loop {
            next = (next + 1) & mask;
            let pair = self.pairs[next];
            if pair.1 == 0 {
                break;
            }
            // A pair may fill the hole unless its home lies after the hole (cyclically,
            // up to where it sits): then it would be moved before its home.
            let home = self.home(pair.0);
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.pairs[hole] = pair;
                hole = next;
            }
        }
        self.pairs[hole] = EMPTY;
        self.len -= 1;
    }

    fn grow(&mut self) {
        let size = (self.pairs.len() * 2).max(16);
        let old = core::mem::replace(&mut self.pairs, vec![EMPTY; size]);
        let mask = size - 1;
        for (hash, address) in old.into_iter().filter(|pair| pair.1 != 0) {
            let mut at = hash as usize & mask;
            while self.pairs[at].1 != 0 {
                at = (at + 1) & mask;
            }
            self.pairs[at] = (hash, address);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Index;
    use std::collections::HashMap;

    /// Random inserts, moves and removals against a map, with hashes crowded into few
    /// home positions so probe runs wrap around the table and removals shift them back.
    #[test]
    fn agrees_with_a_map() {
        let mut index = Index::default();
        let mut model: HashMap<usize, u64> = HashMap::new();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for step in 0..60_000 {
            let address = (next() % 3_000 + 1) as usize;
            // Few distinct hashes, some shared by several addresses.
            let hash = (next() % 64) | ((address as u64 % 5) << 40);
            let hash = model.get(&address).copied().unwrap_or(hash);
            match next() % 3 {
                0 if !model.contains_key(&address) => {
                    index.insert(hash, address);
                    model.insert(address, hash);
                }
                1 if model.contains_key(&address) => {
                    index.remove(hash, address);
                    model.remove(&address);
                }
                _ => {}
            }
            assert_eq!(index.len(), model.len(), "step {step}");
            if step % 97 == 0 {
                for (&address, &hash) in &model {
                    assert_eq!(index.find(hash, |a| a == address), Some(address));
                }
                assert_eq!(index.find(12_345, |_| true), None);
            }
        }
    }
}
