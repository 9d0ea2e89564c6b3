//! pinwheel-benches: the harnesses behind `pinwheel bench`, the report that runs them all,
//! and the market maker.

pub mod mm;
pub mod report;
pub mod ring;
