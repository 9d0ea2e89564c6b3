//! Errors. Every variant that concerns a file names it and says what differs.

use std::path::PathBuf;
use std::time::Duration;

/// Why a ring file could not be created, opened or attached.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    /// An I/O call failed.
    #[error("{path}: {op} failed: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (open, create, map, ...).
        op: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file does not start with Pinwheel's magic number.
    #[error(
        "{path}: wrong magic {found:#018x}, expected {expected:#018x} (not a Pinwheel ring file)"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic found in the file.
        found: u64,
        /// Pinwheel's magic.
        expected: u64,
    },
    /// The file was written by another layout version.
    #[error("{path}: layout version {found}, this build reads version {expected}")]
    BadVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build understands.
        expected: u32,
    },
    /// The file is a ring of another kind (input, broadcast, control).
    #[error("{path}: file kind {found}, expected {expected}")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// Kind found in the header.
        found: u32,
        /// Kind expected by the caller.
        expected: u32,
    },
    /// The record size in the header differs from the one asked for.
    #[error("{path}: record size {found} bytes, expected {expected}")]
    RecordSize {
        /// The file.
        path: PathBuf,
        /// Record size in the header.
        found: u64,
        /// Record size asked for.
        expected: u64,
    },
    /// The capacity in the header differs from the one asked for, or is not a power of two.
    #[error("{path}: capacity {found}, expected {expected}")]
    Capacity {
        /// The file.
        path: PathBuf,
        /// Capacity in the header.
        found: u64,
        /// Capacity asked for (or the next power of two when the header's is not one).
        expected: u64,
    },
    /// The file's length does not match what its header describes (truncated or padded).
    #[error("{path}: file length {found} bytes, header describes {expected}")]
    FileLength {
        /// The file.
        path: PathBuf,
        /// Actual length.
        found: u64,
        /// Length implied by the header.
        expected: u64,
    },
    /// The file's permission bits are not 0600.
    #[error("{path}: permissions {found:#o}, expected {expected:#o}")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Mode bits found.
        found: u32,
        /// Mode bits required.
        expected: u32,
    },
    /// The file did not appear or stayed uninitialised (version 0) for the whole wait.
    #[error("{path}: {what} after waiting {waited:?}")]
    Timeout {
        /// The file.
        path: PathBuf,
        /// What was still missing.
        what: &'static str,
        /// How long the caller waited.
        waited: Duration,
    },
    /// Every edge slot in the control file is taken.
    #[error("{path}: all {max_edges} edge slots are taken")]
    NoFreeSlot {
        /// The control file.
        path: PathBuf,
        /// Number of slots.
        max_edges: u16,
    },
    /// The cursors in the file break the ring's invariants.
    #[error("{path}: corrupt cursors: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Which invariant is broken.
        what: String,
    },
    /// The configuration asked for is impossible.
    #[error("invalid ring configuration: {0}")]
    InvalidConfig(String),
}

/// The input ring has no free slot (the engine has not caught up), or the
/// producer was reclaimed by the engine (see `InputProducer::is_attached`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ring full")]
pub struct RingFull;

/// A broadcast reader fell more than a ring's capacity behind the writer:
/// the record it wanted was overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("lapped: wanted sequence {expected}, oldest still available is {oldest_available}")]
pub struct Lapped {
    /// The sequence the reader wanted next.
    pub expected: u64,
    /// The oldest sequence still in the ring; the reader continues from here.
    pub oldest_available: u64,
}
