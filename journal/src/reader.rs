//! Reads frames back in sequence order, across segments, while a writer may still be appending.
//!
//! `next` returns `Ok(None)` at the current end, so a follower polls again (the wait and its
//! bound are the caller's). A torn frame at the end reads as the end too (recovery will cut it);
//! a damaged frame with intact frames after it is an error naming file and offset.

use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::JournalError;
use crate::frame::{all_zero, read_frame, Frame, FrameAt, FRAME_HEADER_SIZE};
use crate::scan::{later_valid_frame, map_segment};
use crate::segment_file::{
    list_segments, read_header, segment_file_name, SegmentEntry, SEGMENT_HEADER_SIZE,
};

struct OpenSegment {
    entry: SegmentEntry,
    map: Mmap,
    pos: usize,
}

impl OpenSegment {
    fn open(entry: SegmentEntry) -> Result<OpenSegment, JournalError> {
        let map = map_segment(&entry.path)?;
        read_header(&map, &entry)?;
        Ok(OpenSegment {
            entry,
            map,
            pos: SEGMENT_HEADER_SIZE,
        })
    }

    /// Sequence of the segment's first frame, if it has an intact one. Used instead of the
    /// header's first sequence, which a crash can leave set on a segment that never got a frame.
    fn first_frame(&self) -> Option<u64> {
        match read_frame(&self.map, SEGMENT_HEADER_SIZE) {
            FrameAt::Valid(frame, _) => Some(frame.sequence),
            _ => None,
        }
    }

    fn damaged(&self, offset: usize, reason: impl Into<String>) -> JournalError {
        JournalError::damaged(&self.entry.path, offset as u64, reason)
    }
}

/// A valid frame found at a position, copied out of the borrow so it can be re-borrowed.
struct Found {
    at: usize,
    len: usize,
    sequence: u64,
    timestamp_ns: u64,
}

/// Reads frames with sequence >= a start sequence. See the module docs.
pub struct JournalReader {
    dir: PathBuf,
    current: Option<OpenSegment>,
    /// The segment after `current`, once it exists.
    following: Option<OpenSegment>,
    from: u64,
    last: u64,
    /// Position in `current` of a torn frame seen at the end.
    torn_at: Option<usize>,
    /// Bytes of segments left behind, for progress.
    bytes_done: u64,
    /// The last `next_at_most` stopped at its limit, not at the end of the journal.
    at_limit: bool,
    /// Segment index and byte offset of the last frame read.
    last_at: Option<(u64, u64)>,
}

impl JournalReader {
    /// Opens `dir` to read frames from `from_sequence` on. An empty or missing directory reads as
    /// empty (and is looked at again by later `next` calls). Fails with
    /// [`JournalError::NotCovered`] if retention removed the segments holding `from_sequence`.
    pub fn open(dir: &Path, from_sequence: u64) -> Result<JournalReader, JournalError> {
        let mut reader = JournalReader {
            dir: dir.to_path_buf(),
            current: None,
            following: None,
            from: from_sequence,
            last: 0,
            torn_at: None,
            bytes_done: 0,
            at_limit: false,
            last_at: None,
        };
        reader.current = reader.start_segment()?;
        Ok(reader)
    }

    /// The segment holding `from`: the last one whose first frame is at or below it.
    fn start_segment(&self) -> Result<Option<OpenSegment>, JournalError> {
        let entries = list_segments(&self.dir)?;
        let Some(first) = entries.first() else {
            return Ok(None);
        };
        let mut chosen = OpenSegment::open(first.clone())?;
        if let (true, Some(oldest)) = (first.index > 1, chosen.first_frame()) {
            if oldest > self.from {
                let dir = self.dir.clone();
                return Err(JournalError::NotCovered {
                    dir,
                    from: self.from,
                    oldest,
                });
            }
        }
        for entry in &entries[1..] {
            let candidate = OpenSegment::open(entry.clone())?;
            match candidate.first_frame() {
                Some(first_sequence) if first_sequence <= self.from => chosen = candidate,
                _ => break,
            }
        }
        Ok(Some(chosen))
    }

    /// The next frame, or `Ok(None)` at the current end of the journal.
    // Not `Iterator`: each frame borrows the reader's mapping (a lending iterator).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Frame<'_>>, JournalError> {
        self.next_at_most(u64::MAX)
    }

    /// Like [`JournalReader::next`], but treats frames above `max_sequence` as not there yet.
    /// A follower passes the durable cursor here, so it never applies what a power loss could undo.
    pub fn next_at_most(&mut self, max_sequence: u64) -> Result<Option<Frame<'_>>, JournalError> {
        let found = loop {
            if self.current.is_none() {
                self.current = self.start_segment()?;
                if self.current.is_none() {
                    return Ok(None);
                }
            }
            match self.step(max_sequence)? {
                Step::Frame(found) if found.sequence < self.from => continue,
                Step::Frame(found) => break found,
                Step::Again => continue,
                Step::End => return Ok(None),
            }
        };
        let segment = self.current.as_ref().expect("a frame was found in it");
        let payload =
            &segment.map[found.at + FRAME_HEADER_SIZE..found.at + FRAME_HEADER_SIZE + found.len];
        Ok(Some(Frame {
            sequence: found.sequence,
            timestamp_ns: found.timestamp_ns,
            payload,
        }))
    }

    /// One move: read the frame at the position, switch segment, or report the end.
    fn step(&mut self, max_sequence: u64) -> Result<Step, JournalError> {
        let segment = self.current.as_mut().expect("checked by the caller");
        let pos = segment.pos;
        match read_frame(&segment.map, pos) {
            FrameAt::Valid(frame, size) => {
                if frame.sequence <= self.last {
                    return Err(segment.damaged(
                        pos,
                        format!("sequence {} does not follow {}", frame.sequence, self.last),
                    ));
                }
                self.at_limit = frame.sequence > max_sequence;
                if self.at_limit {
                    return Ok(Step::End);
                }
                let found = Found {
                    at: pos,
                    len: frame.payload.len(),
                    sequence: frame.sequence,
                    timestamp_ns: frame.timestamp_ns,
                };
                self.last_at = Some((segment.entry.index, pos as u64));
                segment.pos += size;
                self.last = frame.sequence;
                self.torn_at = None;
                Ok(Step::Frame(found))
            }
            FrameAt::Empty => self.at_empty(pos),
            FrameAt::Invalid(reason) => self.at_invalid(pos, reason),
        }
    }

    /// Nothing written at `pos`: the end for now, unless the writer moved to the next segment.
    fn at_empty(&mut self, pos: usize) -> Result<Step, JournalError> {
        if !self.following_started()? {
            return Ok(Step::End);
        }
        let segment = self.current.as_ref().expect("checked by the caller");
        // The writer published the next segment's first frame after its last frame here: look again.
        if !matches!(read_frame(&segment.map, pos), FrameAt::Empty) {
            return Ok(Step::Again);
        }
        if !all_zero(&segment.map[pos..]) {
            return Err(segment.damaged(
                pos,
                "zero length field but data follows, and the journal continues in the next segment",
            ));
        }
        self.bytes_done += segment.map.len() as u64;
        self.current = self.following.take();
        Ok(Step::Again)
    }

    /// Something unreadable at `pos`: a torn tail (read as the end) or damage (an error).
    fn at_invalid(&mut self, pos: usize, reason: &'static str) -> Result<Step, JournalError> {
        if self.torn_at == Some(pos) {
            return Ok(Step::End);
        }
        let later_here = {
            let segment = self.current.as_ref().expect("checked by the caller");
            later_valid_frame(&segment.map, pos, self.last).is_some()
        };
        if later_here || self.following_started()? {
            let segment = self.current.as_ref().expect("checked by the caller");
            // A live writer finishes a frame before it starts the next one: if it completed this
            // one since it was read, it was being written, not damaged.
            if matches!(read_frame(&segment.map, pos), FrameAt::Valid(..)) {
                return Ok(Step::Again);
            }
            return Err(segment.damaged(pos, reason));
        }
        self.torn_at = Some(pos);
        Ok(Step::End)
    }

    /// Opens the next segment if it exists; true once the writer has put a frame in it (so it
    /// will never write to the current segment again).
    fn following_started(&mut self) -> Result<bool, JournalError> {
        if self.following.is_none() {
            let index = self
                .current
                .as_ref()
                .expect("checked by the caller")
                .entry
                .index
                + 1;
            let path = self.dir.join(segment_file_name(index));
            if !path.exists() {
                return Ok(false);
            }
            self.following = Some(OpenSegment::open(SegmentEntry { index, path })?);
        }
        let following = self.following.as_ref().expect("opened above");
        Ok(following.first_frame().is_some())
    }

    /// After the last frame was read offline: checks nothing but zeroes (or one torn frame) follows.
    /// Returns the torn frame's file and offset, if there is one. Damage is an error.
    pub fn check_end(&mut self) -> Result<Option<(PathBuf, u64)>, JournalError> {
        let Some(segment) = self.current.as_ref() else {
            return Ok(None);
        };
        let pos = segment.pos;
        let mut torn = None;
        if !all_zero(&segment.map[pos..]) {
            if later_valid_frame(&segment.map, pos, self.last).is_some() {
                // A live writer completed the frame since the last read: the journal goes on.
                if matches!(read_frame(&segment.map, pos), FrameAt::Valid(..)) {
                    return Ok(None);
                }
                return Err(segment.damaged(
                    pos,
                    "data that is not an intact frame, with intact frames after it",
                ));
            }
            torn = Some((segment.entry.path.clone(), pos as u64));
        }
        let mut index = segment.entry.index + 1;
        loop {
            let path = self.dir.join(segment_file_name(index));
            if !path.exists() {
                return Ok(torn);
            }
            let later = OpenSegment::open(SegmentEntry { index, path })?;
            if !all_zero(&later.map[SEGMENT_HEADER_SIZE..]) {
                let at = torn.as_ref().map_or(pos as u64, |(_, offset)| *offset);
                return Err(JournalError::damaged(
                    &segment.entry.path,
                    at,
                    format!("the journal stops here but segment {index} holds data"),
                ));
            }
            index += 1;
        }
    }

    /// True if the last `next_at_most` returned `None` because the next frame is above its limit.
    pub fn stopped_at_limit(&self) -> bool {
        self.at_limit
    }

    /// Segment index and byte offset of the last frame read (for `journal inspect`).
    pub fn last_position(&self) -> Option<(u64, u64)> {
        self.last_at
    }

    /// The last sequence read (0 before the first).
    pub fn last_sequence(&self) -> u64 {
        self.last
    }

    /// Bytes of the journal read so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_done
            + self
                .current
                .as_ref()
                .map_or(0, |segment| segment.pos as u64)
    }
}

enum Step {
    Frame(Found),
    Again,
    End,
}
