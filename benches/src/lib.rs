//! pinwheel-benches: the harnesses behind `pinwheel bench` and the report that runs them all.

pub mod e2e;
pub mod engine;
pub mod feed;
pub mod journal;
pub mod report;
pub mod ring;
