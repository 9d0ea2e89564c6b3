//! pinwheel-benches: the harnesses behind `pinwheel bench` and `pinwheel lobster-check`.

pub mod alloc_count;
pub mod engine;
pub mod lobster;
