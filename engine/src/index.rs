//! A fixed-capacity open-addressing hash index: 64-bit hash -> `u32` slot.
//!
//! The index stores only the hash and the slot; the caller proves a match with a predicate
//! on the slot (its own record holds the real key), so one structure serves order ids,
//! client order ids, user names and API keys. Memory is allocated once (zeroed, so the
//! pages stay untouched until used); inserting and removing never allocate. Deletion uses
//! backward shifting, so there are no tombstones and probes stay short. The index is never
//! iterated, so its layout can never leak into events or the state hash.

/// Hash table of `slot + 1` values keyed by a well-mixed 64-bit hash (0 marks a free cell).
///
/// A cell is one word: the hash's low 32 bits above the 32-bit `slot + 1`. Those hash bits
/// hold the home cell (the table has at most 2^32 cells) and screen out most foreign entries
/// before the caller's predicate runs, so a probe reads one 8-byte cell: one cache line,
/// where separate hash and value arrays cost two misses on a cold lookup.
#[derive(Clone, Debug)]
pub struct FixedIndex {
    cells: Vec<u64>,
    mask: usize,
    len: usize,
    capacity: usize,
}

/// The part of a hash a cell keeps.
fn tag(hash: u64) -> u64 {
    hash & 0xffff_ffff
}

/// The cell word of `hash` and `slot`.
fn cell_word(hash: u64, slot: u32) -> u64 {
    (tag(hash) << 32) | (slot as u64 + 1)
}

impl FixedIndex {
    /// An index for at most `capacity` entries (the table is twice as large, rounded up).
    pub fn new(capacity: usize) -> Self {
        let cells = (capacity.max(4) * 2).next_power_of_two();
        assert!(
            cells as u64 <= 1 << 32,
            "index too large for 32-bit home cells"
        );
        Self {
            cells: vec![0; cells],
            mask: cells - 1,
            len: 0,
            capacity,
        }
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when no more entries fit.
    pub fn is_full(&self) -> bool {
        self.len >= self.capacity
    }

    /// The slot stored under `hash` for which `is_match(slot)` holds.
    pub fn find(&self, hash: u64, is_match: impl Fn(u32) -> bool) -> Option<u32> {
        self.position(hash, is_match)
            .map(|cell| (self.cells[cell] as u32) - 1)
    }

    fn position(&self, hash: u64, is_match: impl Fn(u32) -> bool) -> Option<usize> {
        let mut cell = hash as usize & self.mask;
        loop {
            let word = self.cells[cell];
            let value = word as u32;
            if value == 0 {
                return None;
            }
            if word >> 32 == tag(hash) && is_match(value - 1) {
                return Some(cell);
            }
            cell = (cell + 1) & self.mask;
        }
    }

    /// Stores `slot` under `hash`. The caller checked `!is_full()` and that the key is new.
    pub fn insert(&mut self, hash: u64, slot: u32) {
        assert!(self.len < self.capacity, "index full");
        assert!(slot < u32::MAX, "slot out of range");
        let mut cell = hash as usize & self.mask;
        while self.cells[cell] != 0 {
            cell = (cell + 1) & self.mask;
        }
        self.cells[cell] = cell_word(hash, slot);
        self.len += 1;
    }

    /// Removes the entry under `hash` matching `is_match`; returns its slot.
    pub fn remove(&mut self, hash: u64, is_match: impl Fn(u32) -> bool) -> Option<u32> {
        let mut hole = self.position(hash, is_match)?;
        let slot = (self.cells[hole] as u32) - 1;
        self.len -= 1;
        let mut next = (hole + 1) & self.mask;
        // Backward shift: move each following entry of the probe run into the hole unless
        // its home cell lies cyclically after the hole (then it must stay where it is).
        while self.cells[next] != 0 {
            let home = (self.cells[next] >> 32) as usize & self.mask;
            let distance_from_home = next.wrapping_sub(home) & self.mask;
            let distance_from_hole = next.wrapping_sub(hole) & self.mask;
            if distance_from_home >= distance_from_hole {
                self.cells[hole] = self.cells[next];
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        self.cells[hole] = 0;
        Some(slot)
    }
}

/// splitmix64's finaliser: spreads every input bit over the whole word.
pub fn mix64(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// A fixed (unseeded, so deterministic) hash of a byte string, folded with `seed`.
pub fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut state = mix64(seed ^ 0x9e37_79b9_7f4a_7c15);
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        state = mix64(state ^ u64::from_le_bytes(word)).wrapping_add(chunk.len() as u64);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_find_remove_with_colliding_homes() {
        let mut index = FixedIndex::new(64);
        let mask = index.mask as u64;
        // Many keys with the same home cell force long probe runs through the shifting code.
        let keys: Vec<u64> = (0..40u64).map(|i| (i << 32) | (5 & mask)).collect();
        for (slot, key) in keys.iter().enumerate() {
            index.insert(*key, slot as u32);
        }
        for (slot, key) in keys.iter().enumerate() {
            assert_eq!(index.find(*key, |s| s == slot as u32), Some(slot as u32));
        }
        for (slot, key) in keys.iter().enumerate().step_by(3) {
            assert_eq!(index.remove(*key, |s| s == slot as u32), Some(slot as u32));
        }
        for (slot, key) in keys.iter().enumerate() {
            let found = index.find(*key, |s| s == slot as u32);
            assert_eq!(found.is_some(), slot % 3 != 0, "slot {slot}");
        }
        assert_eq!(index.len(), 40 - 14);
    }

    #[test]
    fn full_index_reports_full() {
        let mut index = FixedIndex::new(4);
        for i in 0..4 {
            index.insert(mix64(i), i as u32);
        }
        assert!(index.is_full());
        assert_eq!(index.remove(mix64(2), |s| s == 2), Some(2));
        assert!(!index.is_full());
        assert_eq!(index.find(mix64(2), |s| s == 2), None);
    }

    #[test]
    fn byte_hash_is_stable_and_distinguishes() {
        assert_eq!(hash_bytes(1, b"alice"), hash_bytes(1, b"alice"));
        assert_ne!(hash_bytes(1, b"alice"), hash_bytes(2, b"alice"));
        assert_ne!(hash_bytes(1, b"alice"), hash_bytes(1, b"alicf"));
    }
}
