//! pinwheel-benches: the harnesses behind `pinwheel bench`.

pub mod feed;
pub mod ring;
