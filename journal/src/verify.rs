//! `pinwheel journal verify`: checks every frame and every snapshot of a data directory.

use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::scan::scan_journal;
use crate::snapshot::{list_snapshots, read_snapshot};
use crate::{JOURNAL_DIR, SNAPSHOT_DIR};

/// What verify checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Segment files checked.
    pub segments: usize,
    /// Intact frames.
    pub frames: u64,
    /// First and last sequence in the journal.
    pub first_sequence: Option<u64>,
    /// Last sequence in the journal (0 if none).
    pub last_sequence: u64,
    /// A torn frame at the very end (a crash mid-write; recovery cuts it), with file and offset.
    pub torn_tail: Option<(PathBuf, u64)>,
    /// Every snapshot, all intact: file and sequence, newest first.
    pub snapshots: Vec<(PathBuf, u64)>,
}

/// Checks every frame in `<data_dir>/journal` and every snapshot in `<data_dir>/snapshots`.
///
/// Fails on any damage (naming file and offset) and when retention removed segments that no
/// snapshot covers. A torn tail alone is not damage: it is reported in the result.
pub fn verify(data_dir: &Path) -> Result<VerifyReport, JournalError> {
    let journal_dir = data_dir.join(JOURNAL_DIR);
    let scan = scan_journal(&journal_dir)?;
    let mut snapshots = Vec::new();
    for (_, path) in list_snapshots(&data_dir.join(SNAPSHOT_DIR))? {
        let snapshot = read_snapshot(&path)?;
        snapshots.push((path, snapshot.sequence));
    }
    let trimmed = scan.first_segment_index.is_some_and(|index| index > 1);
    if let (true, Some(oldest)) = (trimmed, scan.first_sequence) {
        let newest = snapshots.first().map_or(0, |(_, sequence)| *sequence);
        if newest + 1 < oldest {
            return Err(JournalError::NotCovered {
                dir: journal_dir,
                from: newest + 1,
                oldest,
            });
        }
    }
    Ok(VerifyReport {
        segments: scan.segments,
        frames: scan.frames,
        first_sequence: scan.first_sequence,
        last_sequence: scan.last_sequence,
        torn_tail: scan.torn_tail.map(|torn| (torn.path, torn.offset)),
        snapshots,
    })
}
