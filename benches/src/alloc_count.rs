//! The counting allocator, installed as the global allocator of whatever binary links the
//! benches, so benchmarks report allocations per operation.

pub use pinwheel_engine::alloc_count::{count_allocations, CountingAllocator};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_this_threads_allocations_only_while_asked() {
        let (_, none) = count_allocations(|| 1 + 1);
        assert_eq!(none, 0);
        let (vector, some) = count_allocations(|| std::hint::black_box(vec![1u8; 64]));
        assert_eq!(some, 1);
        drop(vector);
        let _outside = std::hint::black_box(vec![0u8; 8]);
        let (_, after) = count_allocations(|| ());
        assert_eq!(
            after, 0,
            "allocations outside the counted work are not counted"
        );
    }
}
