//! Journal configuration: durability mode, segment size, flusher timing, retention.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::JournalError;

/// Smallest segment size accepted (two pages: header and at least one frame).
pub const MIN_SEGMENT_SIZE: u64 = 8 * 1024;
/// Largest segment size accepted (one mapping per segment; keeps offsets in `u32`-sized steps sane).
pub const MAX_SEGMENT_SIZE: u64 = 4 * 1024 * 1024 * 1024;
/// Segments are whole pages so that pre-faulting touches each page exactly once.
pub const PAGE_SIZE: u64 = 4096;
/// Default segment size: 64 MiB holds about 440 000 frames of 128-byte commands.
pub const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
/// Segments the preparer keeps ready ahead of the writer. One was not enough at the bench's
/// rate (~0.5 GB/s of journal, a 64 MiB segment every ~0.12 s): preparing one (create,
/// fallocate, fsync, rename, folder fsync, a staging file) sometimes took longer, and the
/// engine thread waited up to ~70 ms at a segment boundary. Each costs a staging file of
/// `segment_size` on tmpfs and a preallocated segment file.
pub const READY_SEGMENTS: usize = 2;
/// The default staging folder's name inside the journal directory.
pub const STAGE_DIR: &str = "stage";
/// Default async flush interval.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(5);

/// How hard the journal tries to keep an appended command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Durability {
    /// No journal at all (benchmarks). The durable cursor reads `u64::MAX`: everything counts as durable.
    None,
    /// Flushed on a short timer; a crash of the machine loses at most that window, never corrupts.
    Async,
    /// Group commit: the flusher calls `fdatasync` as soon as there is anything new and publishes
    /// the highest durable sequence right after; edges release answers only when durable.
    Sync,
}

impl Durability {
    /// Every mode with its name, for parsing, help texts and error messages.
    pub const ALL: [(Durability, &'static str); 3] = [
        (Durability::None, "none"),
        (Durability::Async, "async"),
        (Durability::Sync, "sync"),
    ];

    /// The name used in config files and on the command line.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(mode, _)| *mode == self)
            .map(|(_, name)| *name)
            .expect("every durability mode is in the table")
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Durability {
    type Err = JournalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(mode, _)| *mode)
            .ok_or_else(|| {
                JournalError::Config(format!(
                    "unknown durability {text:?}; expected one of none, async, sync"
                ))
            })
    }
}

/// What happens to segments wholly before the newest snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Retention {
    /// Keep every segment.
    Keep,
    /// Delete segments wholly covered by the snapshot.
    Delete,
    /// Move segments wholly covered by the snapshot to `<journal-dir>/archive/`.
    Archive,
}

impl Retention {
    /// Every policy with its name.
    pub const ALL: [(Retention, &'static str); 3] = [
        (Retention::Keep, "keep"),
        (Retention::Delete, "delete"),
        (Retention::Archive, "archive"),
    ];

    /// The name used in config files and on the command line.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(policy, _)| *policy == self)
            .map(|(_, name)| *name)
            .expect("every retention policy is in the table")
    }
}

impl fmt::Display for Retention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Retention {
    type Err = JournalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text.trim()))
            .map(|(policy, _)| *policy)
            .ok_or_else(|| {
                JournalError::Config(format!(
                    "unknown retention {text:?}; expected one of keep, delete, archive"
                ))
            })
    }
}

/// Everything the writer needs to know.
#[derive(Clone, Debug)]
pub struct JournalConfig {
    /// The journal directory, `<data-dir>/journal`.
    pub dir: PathBuf,
    /// Size of every segment file in bytes (a multiple of 4096).
    pub segment_size: u64,
    /// Durability mode.
    pub durability: Durability,
    /// Flush period in `async` mode.
    pub flush_interval: Duration,
    /// Core the flusher thread is pinned to, if any.
    pub flusher_core: Option<usize>,
    /// What retention does with covered segments.
    pub retention: Retention,
    /// Where the engine thread's staging segments live (see `stage.rs`): on tmpfs for speed
    /// (the engine puts them in its run directory); anywhere works. Default `<dir>/stage`.
    pub stage_dir: PathBuf,
}

impl JournalConfig {
    /// A configuration with the defaults for everything but the directory and durability.
    pub fn new(dir: impl Into<PathBuf>, durability: Durability) -> Self {
        let dir = dir.into();
        JournalConfig {
            stage_dir: dir.join(STAGE_DIR),
            dir,
            segment_size: DEFAULT_SEGMENT_SIZE,
            durability,
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            flusher_core: None,
            retention: Retention::Keep,
        }
    }

    /// Checks every value against its limits.
    pub fn validate(&self) -> Result<(), JournalError> {
        let size = self.segment_size;
        if !(MIN_SEGMENT_SIZE..=MAX_SEGMENT_SIZE).contains(&size) || !size.is_multiple_of(PAGE_SIZE)
        {
            return Err(JournalError::Config(format!(
                "segment_size {size} must be a multiple of {PAGE_SIZE} between {MIN_SEGMENT_SIZE} and {MAX_SEGMENT_SIZE}"
            )));
        }
        if self.durability == Durability::Async && self.flush_interval.is_zero() {
            return Err(JournalError::Config(
                "flush_interval must be greater than zero in async durability".into(),
            ));
        }
        if self.flush_interval > Duration::from_secs(60) {
            return Err(JournalError::Config(format!(
                "flush_interval {:?} is longer than the 60 s limit",
                self.flush_interval
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_round_trips_through_its_name() {
        for (mode, name) in Durability::ALL {
            assert_eq!(mode.to_string(), name);
            assert_eq!(name.parse::<Durability>().unwrap(), mode);
        }
        let err = "fast".parse::<Durability>().unwrap_err();
        assert_eq!(err.code(), "journal_config");
        assert!(err.to_string().contains("fast"));
    }

    #[test]
    fn retention_round_trips_through_its_name() {
        for (policy, name) in Retention::ALL {
            assert_eq!(name.parse::<Retention>().unwrap(), policy);
        }
        assert!("purge".parse::<Retention>().is_err());
    }

    #[test]
    fn segment_size_limits_are_enforced() {
        let mut config = JournalConfig::new("/tmp/x", Durability::Sync);
        assert!(config.validate().is_ok());
        config.segment_size = 5000;
        assert!(config.validate().is_err());
        config.segment_size = 4096;
        assert!(config.validate().is_err());
    }
}
