//! Where a ring's cursors, stamps and records sit inside its file.
//!
//! Layout (`layout::RingHead`, then the slots): slot `i` starts at
//! `size_of::<RingHead>() + i * stride`; its first 8 bytes are the stamp, the
//! record follows at +8, and the stride rounds the slot up to whole cache lines.

use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::broadcast_protocol::BroadcastMemory;
use crate::layout::{file_len, slot_stride, Geometry, RingHead, STAMP_BYTES};
use crate::mapping::Mapping;
use crate::spsc::SpscMemory;

/// A view of one ring file's slots; cheap to clone (clones share the mapping).
#[derive(Clone)]
pub(crate) struct RingView {
    base: NonNull<u8>,
    capacity: u64,
    record_size: usize,
    stride: usize,
    mapping: Arc<Mapping>,
}

// SAFETY: `base` points into `mapping`, which the view keeps alive; all shared
// access goes through atomics or the SPSC/broadcast protocols.
unsafe impl Send for RingView {}

const SLOTS_OFFSET: usize = std::mem::size_of::<RingHead>();

impl RingView {
    /// A view of a mapping already checked to have this geometry.
    pub(crate) fn new(mapping: Mapping, geometry: Geometry) -> Self {
        assert!(
            mapping.len() >= file_len(geometry),
            "mapping shorter than its geometry"
        );
        assert!(geometry.capacity.is_power_of_two());
        Self {
            base: mapping.base(),
            capacity: geometry.capacity as u64,
            record_size: geometry.record_size,
            stride: slot_stride(geometry.record_size),
            mapping: Arc::new(mapping),
        }
    }

    /// A ring on the heap, for tests (and miri).
    #[cfg(test)]
    pub(crate) fn heap(record_size: usize, capacity: usize) -> Self {
        let geometry = Geometry {
            kind: crate::layout::FileKind::Input,
            record_size,
            capacity,
        };
        Self::new(Mapping::heap(file_len(geometry)), geometry)
    }

    /// A second view of the same memory, as another process would have (tests).
    #[cfg(test)]
    pub(crate) fn alias(&self) -> Self {
        self.clone()
    }

    /// The mapping (header access, path for errors).
    pub(crate) fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// Bytes per record.
    pub(crate) fn record_size(&self) -> usize {
        self.record_size
    }

    #[inline(always)]
    fn ring_head(&self) -> &RingHead {
        self.mapping.at::<RingHead>(0)
    }

    #[inline(always)]
    fn slot_ptr(&self, slot: usize) -> *mut u8 {
        debug_assert!((slot as u64) < self.capacity);
        // SAFETY: slot < capacity, so the offset lies inside the mapping (checked in `new`).
        unsafe { self.base.as_ptr().add(SLOTS_OFFSET + slot * self.stride) }
    }

    #[inline(always)]
    fn word_at(&self, slot: usize, word: usize) -> &AtomicU64 {
        debug_assert!(word * 8 < self.record_size + STAMP_BYTES);
        // SAFETY: slots are 64-byte aligned and the word lies inside the slot (above);
        // the mapping outlives the returned reference.
        unsafe { &*self.slot_ptr(slot).add(word * 8).cast::<AtomicU64>() }
    }
}

impl SpscMemory for RingView {
    type Atom = AtomicU64;

    #[inline(always)]
    fn capacity(&self) -> u64 {
        self.capacity
    }

    #[inline(always)]
    fn stamp(&self, slot: usize) -> &AtomicU64 {
        self.word_at(slot, 0)
    }

    #[inline(always)]
    fn head(&self) -> &AtomicU64 {
        &self.ring_head().head
    }

    #[inline(always)]
    fn tail(&self) -> &AtomicU64 {
        &self.ring_head().tail
    }

    #[inline(always)]
    unsafe fn write_record(&self, slot: usize, record: &[u8]) {
        assert_eq!(record.len(), self.record_size, "record of the wrong size");
        // SAFETY: the destination is this slot's record area (record_size bytes after the
        // stamp, inside the mapping); the caller guarantees no one else touches it now.
        unsafe {
            let destination = self.slot_ptr(slot).add(STAMP_BYTES);
            std::ptr::copy_nonoverlapping(record.as_ptr(), destination, self.record_size);
        }
    }

    #[inline(always)]
    unsafe fn read_record<R>(&self, slot: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: this slot's record area is inside the mapping; the caller guarantees the
        // producer will not write it until the consumer releases the slot, which is after
        // `f` returns, so the shared borrow is never aliased by a write.
        let record = unsafe {
            std::slice::from_raw_parts(self.slot_ptr(slot).add(STAMP_BYTES), self.record_size)
        };
        f(record)
    }
}

impl BroadcastMemory for RingView {
    type Atom = AtomicU64;

    #[inline(always)]
    fn capacity(&self) -> u64 {
        self.capacity
    }

    #[inline(always)]
    fn words(&self) -> usize {
        self.record_size / 8
    }

    #[inline(always)]
    fn cursor(&self) -> &AtomicU64 {
        &self.ring_head().tail
    }

    #[inline(always)]
    fn stamp(&self, slot: usize) -> &AtomicU64 {
        self.word_at(slot, 0)
    }

    #[inline(always)]
    fn word(&self, slot: usize, index: usize) -> &AtomicU64 {
        self.word_at(slot, 1 + index)
    }
}
