//! The full, strict scan of a journal directory shared by recovery, verify and the writer.
//!
//! Rules, in the order they are checked:
//! - every segment header is intact and matches its file (else: damage at the header field);
//! - frames in every segment are intact, with strictly increasing sequences across segments,
//!   and the header's first sequence equals the first frame's (else: damage at the frame);
//! - after the last frame of a segment everything up to the segment's end is zero;
//! - something that is not an intact frame (bad CRC, impossible length, a zero length with data
//!   behind it) is a *torn tail* only if no intact later frame follows it in its segment and every
//!   later segment holds no frames; anything else is damage, named by file and byte offset;
//! - a segment without frames may only be followed by segments without frames (prepared ones).

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::{Advice, Mmap, MmapOptions};

use crate::error::{IoContext, JournalError};
use crate::frame::{all_zero, end_of_nonzero, read_frame, FrameAt, FRAME_ALIGN};
use crate::segment_file::{list_segments, read_header, SegmentEntry, SEGMENT_HEADER_SIZE};

/// A torn write found at the end of the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TornTail {
    /// The segment holding it.
    pub path: PathBuf,
    /// Where the torn frame starts.
    pub offset: u64,
    /// Just past the last non-zero byte of the torn frame.
    pub end: u64,
    /// Why the bytes at `offset` are not a frame.
    pub reason: &'static str,
}

/// What a strict scan found.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScanReport {
    pub segments: usize,
    pub frames: u64,
    pub first_sequence: Option<u64>,
    pub last_sequence: u64,
    pub first_segment_index: Option<u64>,
    pub torn_tail: Option<TornTail>,
}

/// Maps a segment read-only for a sequential pass.
pub(crate) fn map_segment(path: &Path) -> Result<Mmap, JournalError> {
    let file = File::open(path).at(path)?;
    // SAFETY: segments are only mutated through the journal's own code; readers tolerate a
    // concurrent writer through the atomic length field.
    let map = unsafe { MmapOptions::new().map(&file) }.at(path)?;
    // Only a hint; failure changes nothing.
    let _ = map.advise(Advice::Sequential);
    Ok(map)
}

/// Outcome of scanning one segment's frames.
pub(crate) struct SegmentScan {
    pub frames: u64,
    pub first: Option<u64>,
    pub last: u64,
    /// Where the zeroed end starts (or the invalid spot).
    pub end: usize,
    /// Offset and reason of the first spot that is not an intact frame nor the zeroed end.
    pub invalid: Option<(usize, &'static str)>,
}

/// Offset of an intact frame after `from` whose sequence follows `after`, if any.
pub(crate) fn later_valid_frame(bytes: &[u8], from: usize, after: u64) -> Option<usize> {
    // Sequences a real frame after a torn one could carry; cheap filter before the CRC.
    const PLAUSIBLE_SPAN: u64 = 1 << 40;
    let mut at = (from / FRAME_ALIGN + 1) * FRAME_ALIGN;
    while at + 16 <= bytes.len() {
        let sequence = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().expect("8 bytes"));
        if sequence > after && sequence - after < PLAUSIBLE_SPAN {
            if let FrameAt::Valid(..) = read_frame(bytes, at) {
                return Some(at);
            }
        }
        at += FRAME_ALIGN;
    }
    None
}

fn scan_segment(
    bytes: &[u8],
    entry: &SegmentEntry,
    header_first: u64,
    mut last: u64,
) -> Result<SegmentScan, JournalError> {
    let mut scan = SegmentScan {
        frames: 0,
        first: None,
        last,
        end: 0,
        invalid: None,
    };
    let mut pos = SEGMENT_HEADER_SIZE;
    loop {
        match read_frame(bytes, pos) {
            FrameAt::Valid(frame, size) => {
                if frame.sequence <= last {
                    let reason = format!("sequence {} does not follow {last}", frame.sequence);
                    return Err(JournalError::damaged(&entry.path, pos as u64, reason));
                }
                if scan.first.is_none() && frame.sequence != header_first {
                    let reason = format!(
                        "header first sequence {header_first}, first frame has {}",
                        frame.sequence
                    );
                    return Err(JournalError::damaged(&entry.path, 32, reason));
                }
                scan.first.get_or_insert(frame.sequence);
                scan.frames += 1;
                last = frame.sequence;
                pos += size;
            }
            FrameAt::Empty if all_zero(&bytes[pos..]) => break,
            FrameAt::Empty => {
                scan.invalid = Some((pos, "zero length field but data follows"));
                break;
            }
            FrameAt::Invalid(reason) => {
                scan.invalid = Some((pos, reason));
                break;
            }
        }
    }
    scan.last = last;
    scan.end = pos;
    Ok(scan)
}

/// [`scan_segment`], where a broken frame with an intact one after it is damage: frames are
/// written in order, so only the last one can be torn.
pub(crate) fn scan_to_tail(
    bytes: &[u8],
    entry: &SegmentEntry,
    header_first: u64,
    last: u64,
) -> Result<SegmentScan, JournalError> {
    let scan = scan_segment(bytes, entry, header_first, last)?;
    if let Some((offset, reason)) = scan.invalid {
        if later_valid_frame(bytes, offset, scan.last).is_some() {
            return Err(JournalError::damaged(&entry.path, offset as u64, reason));
        }
    }
    Ok(scan)
}

/// Fails unless every segment after `from` is intact and holds no frames.
fn check_rest_empty(entries: &[SegmentEntry], what: &str) -> Result<(), JournalError> {
    for entry in entries {
        let map = map_segment(&entry.path)?;
        read_header(&map, entry)?;
        if !all_zero(&map[SEGMENT_HEADER_SIZE..]) {
            let at = SEGMENT_HEADER_SIZE
                + map[SEGMENT_HEADER_SIZE..]
                    .iter()
                    .position(|b| *b != 0)
                    .unwrap_or(0);
            return Err(JournalError::damaged(
                &entry.path,
                at as u64,
                format!("data after {what}"),
            ));
        }
    }
    Ok(())
}

/// Scans the whole journal under the rules above (read-only).
pub(crate) fn scan_journal(dir: &Path) -> Result<ScanReport, JournalError> {
    let entries = list_segments(dir)?;
    let mut report = ScanReport {
        segments: entries.len(),
        first_segment_index: entries.first().map(|e| e.index),
        ..ScanReport::default()
    };
    let mut empty_since: Option<&SegmentEntry> = None;
    for (i, entry) in entries.iter().enumerate() {
        let map = map_segment(&entry.path)?;
        let header = read_header(&map, entry)?;
        let scan = scan_to_tail(&map, entry, header.first_sequence, report.last_sequence)?;
        if scan.frames > 0 {
            if let Some(empty) = empty_since {
                let reason = format!(
                    "segment holds no frames, but segment {} after it does",
                    entry.index
                );
                return Err(JournalError::damaged(
                    &empty.path,
                    SEGMENT_HEADER_SIZE as u64,
                    reason,
                ));
            }
            report
                .first_sequence
                .get_or_insert(scan.first.expect("frames > 0"));
            report.frames += scan.frames;
            report.last_sequence = scan.last;
        } else if scan.invalid.is_none() {
            empty_since.get_or_insert(entry);
        }
        if let Some((offset, reason)) = scan.invalid {
            let damage = JournalError::damaged(&entry.path, offset as u64, reason);
            check_rest_empty(&entries[i + 1..], "a torn frame").map_err(|_| damage)?;
            let end = offset.max(end_of_nonzero(&map));
            report.torn_tail = Some(TornTail {
                path: entry.path.clone(),
                offset: offset as u64,
                end: end as u64,
                reason,
            });
            break;
        }
    }
    Ok(report)
}

/// Where the writer continues: the last segment with frames, and the empty ones after it.
pub(crate) struct Tail {
    /// The last segment holding frames, where its frames end, and its last sequence.
    pub current: Option<(SegmentEntry, usize, u64)>,
    /// Intact segments without frames after `current` (prepared but never used), in index order.
    pub empty: Vec<SegmentEntry>,
}

/// Finds the tail by scanning backwards from the newest segment; anything but intact frames
/// followed by zeroes is an error (recovery must run first).
pub(crate) fn find_tail(dir: &Path) -> Result<Tail, JournalError> {
    let entries = list_segments(dir)?;
    let mut tail = Tail {
        current: None,
        empty: Vec::new(),
    };
    for entry in entries.iter().rev() {
        let map = map_segment(&entry.path)?;
        let header = read_header(&map, entry)?;
        let scan = scan_segment(&map, entry, header.first_sequence, 0)?;
        if let Some((offset, reason)) = scan.invalid {
            let reason = format!("{reason} (run recovery before opening the writer)");
            return Err(JournalError::damaged(&entry.path, offset as u64, reason));
        }
        if scan.frames > 0 {
            tail.current = Some((entry.clone(), scan.end, scan.last));
            break;
        }
        tail.empty.insert(0, entry.clone());
    }
    Ok(tail)
}
