//! The atomic word the cursor protocols are written against, so the same
//! protocol code runs on shared memory (std atomics) and under loom.

use std::sync::atomic::Ordering;

/// A 64-bit atomic cell plus the matching fence.
pub(crate) trait Atom {
    /// Atomic load.
    fn load(&self, order: Ordering) -> u64;
    /// Atomic store.
    fn store(&self, value: u64, order: Ordering);
    /// The fence that orders this kind of atom.
    fn fence(order: Ordering);
}

impl Atom for std::sync::atomic::AtomicU64 {
    #[inline(always)]
    fn load(&self, order: Ordering) -> u64 {
        std::sync::atomic::AtomicU64::load(self, order)
    }

    #[inline(always)]
    fn store(&self, value: u64, order: Ordering) {
        std::sync::atomic::AtomicU64::store(self, value, order)
    }

    #[inline(always)]
    fn fence(order: Ordering) {
        std::sync::atomic::fence(order)
    }
}

#[cfg(loom)]
impl Atom for loom::sync::atomic::AtomicU64 {
    fn load(&self, order: Ordering) -> u64 {
        loom::sync::atomic::AtomicU64::load(self, order)
    }

    fn store(&self, value: u64, order: Ordering) {
        loom::sync::atomic::AtomicU64::store(self, value, order)
    }

    fn fence(order: Ordering) {
        loom::sync::atomic::fence(order)
    }
}

/// A 32-bit atomic cell (a futex word), with the operations the doorbell protocol uses.
pub(crate) trait Atom32 {
    /// Atomic load.
    fn load(&self, order: Ordering) -> u32;
    /// Atomic swap; returns the previous value.
    fn swap(&self, value: u32, order: Ordering) -> u32;
    /// Atomic wrapping add; returns the previous value.
    fn fetch_add(&self, value: u32, order: Ordering) -> u32;
}

impl Atom32 for std::sync::atomic::AtomicU32 {
    #[inline(always)]
    fn load(&self, order: Ordering) -> u32 {
        std::sync::atomic::AtomicU32::load(self, order)
    }

    #[inline(always)]
    fn swap(&self, value: u32, order: Ordering) -> u32 {
        std::sync::atomic::AtomicU32::swap(self, value, order)
    }

    #[inline(always)]
    fn fetch_add(&self, value: u32, order: Ordering) -> u32 {
        std::sync::atomic::AtomicU32::fetch_add(self, value, order)
    }
}

#[cfg(loom)]
impl Atom32 for loom::sync::atomic::AtomicU32 {
    fn load(&self, order: Ordering) -> u32 {
        loom::sync::atomic::AtomicU32::load(self, order)
    }

    fn swap(&self, value: u32, order: Ordering) -> u32 {
        loom::sync::atomic::AtomicU32::swap(self, value, order)
    }

    fn fetch_add(&self, value: u32, order: Ordering) -> u32 {
        loom::sync::atomic::AtomicU32::fetch_add(self, value, order)
    }
}
