//! pinwheel-benches: the harnesses behind `pinwheel bench`.

pub mod e2e;
pub mod ring;
