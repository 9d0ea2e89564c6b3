//! A one-value, single-producer single-consumer handoff between threads without locks.
//!
//! Used twice: the preparer hands a ready segment to the writer, and the writer hands a full
//! segment's mapping back so that unmapping (a syscall) never happens on the engine thread.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn values_pass_in_order_between_threads() {
        let slot = Arc::new(Slot::new());
        let producer = {
            let slot = Arc::clone(&slot);
            std::thread::spawn(move || {
                for i in 0..10_000u64 {
                    let mut value = i;
                    while let Err(back) = slot.put(value) {
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
            match slot.take() {
                Some(value) => {
                    assert_eq!(value, expected);
                    expected += 1;
                }
                None => std::thread::yield_now(),
            }
        }
        producer.join().unwrap();
        assert!(!slot.is_full());
    }
}
