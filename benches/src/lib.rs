//! pinwheel-benches: the harnesses behind `pinwheel bench`, the report that runs them all,
//! `pinwheel lobster-check`, and the market maker.

pub mod alloc_count;
pub mod e2e;
pub mod engine;
pub mod feed;
pub mod journal;
pub mod lobster;
pub mod mm;
pub mod report;
pub mod ring;
