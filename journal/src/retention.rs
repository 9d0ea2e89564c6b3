//! Retention: segments wholly before a snapshot may be deleted or archived.

use std::fs;
use std::path::Path;

use crate::config::Retention;
use crate::error::{IoContext, JournalError};
use crate::frame::{read_frame, FrameAt};
use crate::scan::map_segment;
use crate::segment_file::{
    fsync_dir, list_segments, read_header, SegmentEntry, SEGMENT_HEADER_SIZE,
};

/// Sub-directory of the journal directory that archived segments are moved to.
pub const ARCHIVE_DIR: &str = "archive";

/// First frame's sequence of a segment (`None` if it holds no frames).
fn first_frame_sequence(entry: &SegmentEntry) -> Result<Option<u64>, JournalError> {
    let map = map_segment(&entry.path)?;
    read_header(&map, entry)?;
    match read_frame(&map, SEGMENT_HEADER_SIZE) {
        FrameAt::Valid(frame, _) => Ok(Some(frame.sequence)),
        FrameAt::Empty => Ok(None),
        FrameAt::Invalid(reason) => Err(JournalError::damaged(
            &entry.path,
            SEGMENT_HEADER_SIZE as u64,
            reason,
        )),
    }
}

/// Deletes or archives, oldest first, every segment whose frames are all at or below
/// `snapshot_sequence`; returns how many. A segment counts as covered only when the next segment's
/// first frame is at most `snapshot_sequence + 1`, so the segment the writer appends to, and any
/// segment a reader starting at `snapshot_sequence + 1` needs, are always kept.
pub fn apply_retention(
    journal_dir: &Path,
    snapshot_sequence: u64,
    retention: Retention,
) -> Result<usize, JournalError> {
    if retention == Retention::Keep {
        return Ok(0);
    }
    let entries = list_segments(journal_dir)?;
    let archive = journal_dir.join(ARCHIVE_DIR);
    let mut removed = 0;
    for pair in entries.windows(2) {
        let Some(next_first) = first_frame_sequence(&pair[1])? else {
            break;
        };
        if next_first > snapshot_sequence.saturating_add(1) {
            break;
        }
        let path = &pair[0].path;
        match retention {
            Retention::Delete => fs::remove_file(path).at(path)?,
            Retention::Archive => {
                fs::create_dir_all(&archive).at(&archive)?;
                let target = archive.join(path.file_name().expect("segment files have names"));
                fs::rename(path, &target).at(&target)?;
            }
            Retention::Keep => unreachable!("returned above"),
        }
        removed += 1;
    }
    if removed > 0 {
        if retention == Retention::Archive {
            fsync_dir(&archive)?;
        }
        fsync_dir(journal_dir)?;
        tracing::info!(removed, snapshot_sequence, policy = %retention, "journal retention applied");
    }
    Ok(removed)
}
