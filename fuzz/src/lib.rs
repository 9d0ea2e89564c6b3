//! What Pinwheel's fuzz targets share: the engine they start from, an edge state with the
//! default markets, a scratch directory for the targets that read files, and the checks every
//! answer to bad input must pass. Each target is in `fuzz_targets/`, one per decoder.

pub mod edge;
pub mod fixture;
pub mod scratch;
