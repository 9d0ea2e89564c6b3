//! Crash recovery of the journal: a torn frame at the very end is cut off and reported; damage
//! anywhere else stops recovery with an error naming file and byte offset.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::STAGE_DIR;
use crate::error::{IoContext, JournalError};
use crate::lock::JournalLock;
use crate::scan::{scan_journal, TornTail};
use crate::segment_file::{fdatasync, map_segment_mut};
use crate::stage::{merge_stage, StageMerge};

/// What recovery found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The last intact sequence (0 if the journal holds no frames).
    pub last_sequence: u64,
    /// Intact frames in the journal.
    pub frames: u64,
    /// The torn frame that was cut off: its segment file and byte offset.
    pub torn_tail: Option<(PathBuf, u64)>,
    /// The first sequence in the journal, if any.
    pub first_sequence: Option<u64>,
    /// Segment files in the journal.
    pub segments: usize,
    /// What was copied from the staging files first (frames a killed engine had staged).
    pub staged: StageMerge,
}

/// [`recover_staged`] with the default staging folder, `<dir>/stage`.
pub fn recover(dir: &Path) -> Result<RecoveryReport, JournalError> {
    recover_staged(dir, &dir.join(STAGE_DIR))
}

/// Copies the frames staged in `stage_dir` into their segments, scans every segment of `dir`,
/// cuts a torn tail (zeroes it and syncs), removes leftover temporary segment files, and
/// reports. Any damage before the tail is an error.
pub fn recover_staged(dir: &Path, stage_dir: &Path) -> Result<RecoveryReport, JournalError> {
    if !dir.exists() {
        return Ok(RecoveryReport {
            last_sequence: 0,
            frames: 0,
            torn_tail: None,
            first_sequence: None,
            segments: 0,
            staged: StageMerge::default(),
        });
    }
    let _lock = JournalLock::acquire(dir, "recovery")?;
    let staged = merge_stage(dir, stage_dir)?;
    if let Some((path, offset)) = &staged.torn {
        tracing::warn!(file = %path.display(), offset, "journal: a staged frame was torn (the engine died mid-append); not copied");
    }
    let scan = scan_journal(dir)?;
    if let Some(torn) = &scan.torn_tail {
        cut_torn_tail(torn)?;
        tracing::warn!(file = %torn.path.display(), offset = torn.offset, reason = torn.reason, "journal: cut off a torn frame at the tail (a crash in mid-write)");
    }
    remove_temp_files(dir)?;
    Ok(RecoveryReport {
        last_sequence: scan.last_sequence,
        frames: scan.frames,
        torn_tail: scan.torn_tail.map(|torn| (torn.path, torn.offset)),
        first_sequence: scan.first_sequence,
        segments: scan.segments,
        staged,
    })
}

fn cut_torn_tail(torn: &TornTail) -> Result<(), JournalError> {
    let (file, mut map) = map_segment_mut(&torn.path)?;
    let (start, end) = (torn.offset as usize, torn.end as usize);
    assert!(
        start <= end && end <= map.len(),
        "torn range inside the segment"
    );
    map[start..end].fill(0);
    fdatasync(&file, &torn.path)
}

/// Segments half-created by a preparer that died; the preparer would truncate them anyway.
fn remove_temp_files(dir: &Path) -> Result<(), JournalError> {
    let Ok(read) = fs::read_dir(dir) else {
        return Ok(());
    };
    for item in read {
        let path = item.at(dir)?.path();
        if path.to_str().is_some_and(|name| name.ends_with(".seg.tmp")) {
            tracing::info!(file = %path.display(), "journal: removing a half-prepared segment");
            fs::remove_file(&path).at(&path)?;
        }
    }
    Ok(())
}
