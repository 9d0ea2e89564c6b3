//! pinwheel-benches: the harnesses behind `pinwheel bench` and `pinwheel lobster-check`.

pub mod lobster;
