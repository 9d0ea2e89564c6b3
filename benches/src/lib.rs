//! pinwheel-benches: the harnesses behind `pinwheel bench`, `pinwheel lobster-check`.

pub mod alloc_count;
pub mod engine;
pub mod feed;
pub mod lobster;
pub mod ring;
