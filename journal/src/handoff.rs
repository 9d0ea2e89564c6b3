//! A one-value, single-producer single-consumer handoff between threads without locks, and a
//! ring of them that holds a few values in order.
//!
//! Used twice: the preparer hands ready segments to the writer (a ring, so it can work ahead
//! by more than one segment), and the writer hands a full segment's mapping back so that
//! unmapping (a syscall) never happens on the engine thread.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crossbeam_utils::CachePadded;

/// Holds at most one `T`. Exactly one thread may `put`, exactly one other may `take`.
pub(crate) struct Slot<T> {
    /// True while `value` holds something the consumer may take.
    full: CachePadded<AtomicBool>,
    value: UnsafeCell<Option<T>>,
}

// SAFETY: `value` is touched by the producer only while `full` is false and by the consumer only
// while it is true; the release stores / acquire loads on `full` order those accesses, so no two
// threads ever access `value` at once. `T: Send` because the value moves between threads.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        Slot {
            full: CachePadded::new(AtomicBool::new(false)),
            value: UnsafeCell::new(None),
        }
    }

    /// Producer side: stores `value`, or gives it back if the consumer has not taken the last one.
    pub(crate) fn put(&self, value: T) -> Result<(), T> {
        // Acquire: the consumer's `take` of the previous value is complete before we overwrite.
        if self.full.load(Ordering::Acquire) {
            return Err(value);
        }
        // SAFETY: the slot is empty, so only the (single) producer touches `value` now.
        unsafe { *self.value.get() = Some(value) };
        // Release: the consumer that sees `full` sees the value written above.
        self.full.store(true, Ordering::Release);
        Ok(())
    }

    /// Consumer side: takes the value if there is one.
    pub(crate) fn take(&self) -> Option<T> {
        // Acquire: pairs with the release in `put`.
        if !self.full.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: the slot is full, so only the (single) consumer touches `value` now.
        let value = unsafe { (*self.value.get()).take() };
        // Release: the producer that sees the slot empty sees our read as finished.
        self.full.store(false, Ordering::Release);
        value
    }

    /// True if a value waits to be taken.
    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }
}

/// Up to `N` values, handed over in the order they were put: a ring of [`Slot`]s that the
/// producer fills and the consumer empties in turn. Exactly one thread may `put`, exactly one
/// other may `take`. Each side's position is its own (relaxed: no other thread writes it); the
/// slots' own flags order the values.
pub(crate) struct SlotRing<T, const N: usize> {
    slots: [Slot<T>; N],
    /// Next slot to fill; moved by the producer only.
    put_at: CachePadded<AtomicUsize>,
    /// Next slot to empty; moved by the consumer only.
    take_at: CachePadded<AtomicUsize>,
}

impl<T, const N: usize> SlotRing<T, N> {
    /// An empty ring.
    pub(crate) fn new() -> Self {
        assert!(N > 0, "a ring holds at least one value");
        SlotRing {
            slots: std::array::from_fn(|_| Slot::new()),
            put_at: CachePadded::new(AtomicUsize::new(0)),
            take_at: CachePadded::new(AtomicUsize::new(0)),
        }
    }

    /// Producer side: stores `value` behind the others, or gives it back if `N` are waiting.
    pub(crate) fn put(&self, value: T) -> Result<(), T> {
        let at = self.put_at.load(Ordering::Relaxed);
        self.slots[at % N].put(value)?;
        self.put_at.store(at + 1, Ordering::Relaxed);
        Ok(())
    }

    /// Consumer side: takes the oldest value, if there is one.
    pub(crate) fn take(&self) -> Option<T> {
        let at = self.take_at.load(Ordering::Relaxed);
        let value = self.slots[at % N].take()?;
        self.take_at.store(at + 1, Ordering::Relaxed);
        Some(value)
    }

    /// Producer side: true if `N` values wait to be taken (a `put` would fail).
    pub(crate) fn is_full(&self) -> bool {
        self.slots[self.put_at.load(Ordering::Relaxed) % N].is_full()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// The two ends a test drives, whatever the handoff.
    trait Handoff: Send + Sync + 'static {
        fn put(&self, value: u64) -> Result<(), u64>;
        fn take(&self) -> Option<u64>;
    }

    impl Handoff for Slot<u64> {
        fn put(&self, value: u64) -> Result<(), u64> {
            Slot::put(self, value)
        }
        fn take(&self) -> Option<u64> {
            Slot::take(self)
        }
    }

    impl Handoff for SlotRing<u64, 2> {
        fn put(&self, value: u64) -> Result<(), u64> {
            SlotRing::put(self, value)
        }
        fn take(&self) -> Option<u64> {
            SlotRing::take(self)
        }
    }

    /// A producer thread puts 0..10_000 (retrying while full); this thread must take them
    /// all, in order, within a bound.
    fn passes_values_in_order<H: Handoff>(handoff: Arc<H>) {
        let producer = {
            let handoff = Arc::clone(&handoff);
            std::thread::spawn(move || {
                for i in 0..10_000u64 {
                    let mut value = i;
                    while let Err(back) = handoff.put(value) {
                        value = back;
                        std::thread::yield_now();
                    }
                }
            })
        };
        let mut expected = 0u64;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while expected < 10_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "handoff stalled at {expected}"
            );
            match handoff.take() {
                Some(value) => {
                    assert_eq!(value, expected);
                    expected += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert_eq!(handoff.take(), None);
    }

    #[test]
    fn values_pass_in_order_between_threads() {
        passes_values_in_order(Arc::new(Slot::new()));
    }

    #[test]
    fn a_ring_passes_values_in_order_between_threads() {
        passes_values_in_order(Arc::new(SlotRing::<u64, 2>::new()));
    }

    #[test]
    fn a_ring_holds_n_values_and_hands_them_over_in_order() {
        let ring = SlotRing::<u32, 2>::new();
        assert_eq!(ring.take(), None);
        assert!(ring.put(1).is_ok() && ring.put(2).is_ok());
        assert!(ring.is_full());
        assert_eq!(ring.put(3), Err(3));
        assert_eq!(ring.take(), Some(1));
        assert!(!ring.is_full());
        assert!(ring.put(3).is_ok());
        assert_eq!(
            (ring.take(), ring.take(), ring.take()),
            (Some(2), Some(3), None)
        );
    }
}
