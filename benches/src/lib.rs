//! pinwheel-benches: the harnesses behind `pinwheel bench`.

pub mod ring;
