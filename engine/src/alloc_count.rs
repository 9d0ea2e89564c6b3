//! The one counting allocator: the system's, plus a per-thread count of allocations.
//!
//! No library installs it. A test binary that proves the hot path allocates nothing
//! declares it in its own file (`#[global_allocator] static A: CountingAllocator =
//! CountingAllocator;`); the `pinwheel` binary declares it only when built with the
//! `count-allocations` feature, for `pinwheel bench engine`. The measured work is wrapped in
//! [`count_allocations`]; [`is_counting`] tells whether the binary installed it at all.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The allocator: the system's, plus a per-thread count (install it as the global allocator).
pub struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the thread-locals may be gone while a thread shuts down.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as ours, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `work` with this thread's allocations counted; returns its result and the count.
pub fn count_allocations<T>(work: impl FnOnce() -> T) -> (T, u64) {
    ALLOCATIONS.with(|count| count.set(0));
    COUNTING.with(|counting| counting.set(true));
    let result = work();
    COUNTING.with(|counting| counting.set(false));
    (result, ALLOCATIONS.with(|count| count.replace(0)))
}

/// True when this binary's global allocator is the [`CountingAllocator`] (otherwise
/// [`count_allocations`] always reports 0, which proves nothing). Allocates once to find out.
pub fn is_counting() -> bool {
    let (_, allocations) = count_allocations(|| drop(std::hint::black_box(Box::new(0u64))));
    allocations > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_allocator_installed_nothing_is_counted() {
        // This test binary keeps the system allocator: counts would prove nothing, and say so.
        assert!(!is_counting());
        let (_, allocations) = count_allocations(|| std::hint::black_box(vec![1u8; 64]));
        assert_eq!(allocations, 0);
    }
}
