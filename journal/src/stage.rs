//! Staging segments: the engine thread's copy of the segment it appends to.
//!
//! Why: a store into a page of a disk file that the kernel is writing back waits for that
//! writeback (ext4 takes the page lock in `page_mkwrite`), so an engine that wrote straight into
//! the mapped segment stalled whenever the flusher synced. The engine now appends into a staging
//! file of the same layout, kept on tmpfs (the engine's run directory), which is never written
//! back to a disk; the flusher copies what is published into the segment file with `pwrite` and
//! then `fdatasync`s it. tmpfs outlives a killed engine process, so a staged frame that had not
//! reached its segment yet is not lost: recovery first copies staged frames into their segments
//! ([`merge_stage`]). A reboot loses the stage, as it loses the page cache.
//!
//! A staging file is named like its segment and holds a full image of it, header and frames;
//! the segment file is always a prefix of it.

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::{MmapMut, MmapOptions};

use crate::config::PAGE_SIZE;
use crate::error::{IoContext, JournalError};
use crate::frame::{all_zero, seal_frames};
use crate::scan::scan_to_tail;
use crate::segment_file::{
    create_private_file, fdatasync, load_first_sequence, map_segment_mut, preallocate, read_header,
    segment_file_name, segment_files, SegmentEntry, SEGMENT_HEADER_SIZE,
};

/// One staging file, mapped; shared by the writer (stores) and the flusher (reads).
pub(crate) struct Stage {
    /// Keeps the mapping alive. Never dereferenced once `base` is taken, so no reference to
    /// the whole mapping exists while two threads use it.
    _map: MmapMut,
    base: *mut u8,
    len: usize,
    path: PathBuf,
}

// SAFETY: the bytes are shared by two threads under the journal's publication protocol: the
// writer stores only at or after the published end, the flusher reads only before it, and the
// release store / acquire load of `Shared::published_end` orders the stores before the reads.
// Only the raw `base` is handed out, never a reference spanning both regions.
unsafe impl Send for Stage {}
// SAFETY: as above; `&Stage` gives no access to the bytes except through that protocol.
unsafe impl Sync for Stage {}

impl Stage {
    /// Creates the staging file of segment `index` in `stage_dir`: `size` bytes holding
    /// `prefix` (the segment's header and frames so far), the rest zero, every page touched so
    /// that the writer never faults on it.
    pub(crate) fn create(
        stage_dir: &Path,
        index: u64,
        prefix: &[u8],
        size: usize,
    ) -> Result<Stage, JournalError> {
        assert!(prefix.len() >= SEGMENT_HEADER_SIZE && prefix.len() <= size);
        fs::create_dir_all(stage_dir).at(stage_dir)?;
        let path = stage_dir.join(segment_file_name(index));
        let file = create_private_file(&path)?;
        let made = fill_stage(&file, &path, prefix, size);
        if made.is_err() {
            // A half-made stage would read as damage at the next start.
            let _ = fs::remove_file(&path);
        }
        let mut map = made?;
        let base = map.as_mut_ptr();
        Ok(Stage {
            _map: map,
            base,
            len: size,
            path,
        })
    }

    /// Start of the mapping (the writer appends through it).
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    /// Size in bytes (the segment's size).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bytes `from..to`.
    ///
    /// # Safety
    /// The writer must not store into `from..to` while the slice lives: the range is
    /// published (below the published end) or the writer has left this segment.
    pub(crate) unsafe fn published(&self, from: usize, to: usize) -> &[u8] {
        assert!(from <= to && to <= self.len, "range inside the stage");
        // SAFETY: in bounds (asserted); the mapping lives as long as `self`; the caller
        // guarantees no concurrent store into the range.
        unsafe { std::slice::from_raw_parts(self.base.add(from), to - from) }
    }

    /// Fills in the CRCs of the frames in `from..to` (the writer leaves them to the flusher).
    ///
    /// # Safety
    /// As for [`Stage::published`], and no slice of the range may be alive: only the flusher
    /// touches a published range, one call at a time.
    pub(crate) unsafe fn seal(&self, from: usize, to: usize) {
        assert!(from <= to && to <= self.len, "range inside the stage");
        // SAFETY: in bounds (asserted); the mapping lives as long as `self`; the writer stores
        // only at or after the published end, and the caller holds no other view of the range.
        let bytes = unsafe { std::slice::from_raw_parts_mut(self.base.add(from), to - from) };
        let sealed = seal_frames(bytes);
        // Whole frames, then (in a full segment's last range) only its zeroed end.
        debug_assert!(
            all_zero(&bytes[sealed..]),
            "a published range holds whole frames"
        );
    }

    /// Removes the staging file (its mapping stays valid until dropped). Already gone is
    /// fine: the segment it mirrored is durable, which is all the removal is for.
    pub(crate) fn remove_file(&self) -> Result<(), JournalError> {
        match fs::remove_file(&self.path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other.at(&self.path),
        }
    }
}

/// Reserves `size` bytes for a new staging file, maps it, copies `prefix` in and touches every
/// later page.
fn fill_stage(
    file: &File,
    path: &Path,
    prefix: &[u8],
    size: usize,
) -> Result<MmapMut, JournalError> {
    // Reserved up front: a tmpfs too small for the stage (a container's 64 MiB /dev/shm)
    // fails here with ENOSPC naming the file, instead of killing the engine with SIGBUS on
    // its first store into a page that cannot be had.
    preallocate(file, path, size as u64)?;
    // SAFETY: the file was just created for this stage; only the journal maps it.
    let mut map = unsafe { MmapOptions::new().map_mut(file) }.at(path)?;
    map[..prefix.len()].copy_from_slice(prefix);
    let page = PAGE_SIZE as usize;
    // A write, not a read: on tmpfs a read fault maps the shared zero page, and the first
    // store would fault again.
    for at in (prefix.len().div_ceil(page) * page..size).step_by(page) {
        map[at] = 0;
    }
    Ok(map)
}

/// Copies `from..to` of `stage` into the segment file at the same offsets. A range starting at
/// 0 writes the header first, so a reader never finds frames under a header without a first
/// sequence.
pub(crate) fn copy_out(
    stage: &Stage,
    file: &File,
    path: &Path,
    from: usize,
    to: usize,
) -> Result<(), JournalError> {
    let mut at = from;
    if at == 0 && to >= SEGMENT_HEADER_SIZE {
        // SAFETY: the header was written before any frame of this segment was published.
        let header = unsafe { stage.published(0, SEGMENT_HEADER_SIZE) };
        file.write_all_at(header, 0).at(path)?;
        at = SEGMENT_HEADER_SIZE;
    }
    // SAFETY: the caller passes a published range (see `Stage::published`).
    let bytes = unsafe { stage.published(at, to) };
    file.write_all_at(bytes, at as u64).at(path)
}

/// What [`merge_stage`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageMerge {
    /// Frames copied from staging files into their segments.
    pub frames: u64,
    /// A torn frame at the end of a staging file (the engine died mid-append): file and offset.
    /// It is not copied.
    pub torn: Option<(PathBuf, u64)>,
}

/// Copies every staged frame its segment lacks into the segment, syncs it and removes the
/// staging file. Idempotent. A staging file that disagrees with its segment is damage.
pub(crate) fn merge_stage(
    journal_dir: &Path,
    stage_dir: &Path,
) -> Result<StageMerge, JournalError> {
    let mut merged = StageMerge::default();
    for staged in segment_files(stage_dir)? {
        let segment = SegmentEntry {
            index: staged.index,
            path: journal_dir.join(segment_file_name(staged.index)),
        };
        let (frames, torn) = merge_one(&staged, &segment)?;
        merged.frames += frames;
        merged.torn = merged.torn.or(torn);
        fs::remove_file(&staged.path).at(&staged.path)?;
    }
    Ok(merged)
}

/// Where the intact frames end, how many there are, and whether a torn frame follows them.
fn frames_end(bytes: &[u8], entry: &SegmentEntry) -> Result<(usize, u64, bool), JournalError> {
    let header = read_header(bytes, entry)?;
    let scan = scan_to_tail(bytes, entry, header.first_sequence, 0)?;
    Ok((scan.end, scan.frames, scan.invalid.is_some()))
}

/// Merges one staging file; returns the frames copied and a torn staged frame, if any.
fn merge_one(
    staged: &SegmentEntry,
    segment: &SegmentEntry,
) -> Result<(u64, Option<(PathBuf, u64)>), JournalError> {
    let (_, mut stage) = map_segment_mut(&staged.path)?;
    match read_header(&stage, staged) {
        Ok(_) => {}
        Err(_) if all_zero(&stage) => {
            // Made but never filled (the preparer died between creating and writing it): the
            // writer never saw it, so it holds nothing.
            tracing::warn!(file = %staged.path.display(), "journal: removing an empty, half-made staging file");
            return Ok((0, None));
        }
        Err(damage) => return Err(damage),
    }
    let disk = match segment.path.exists() {
        true => Some(map_segment_mut(&segment.path)?),
        false => None,
    };
    let (disk_end, disk_frames) = match &disk {
        Some((_, bytes)) => {
            let (end, frames, _) = frames_end(bytes, segment)?;
            (end, frames)
        }
        None => (SEGMENT_HEADER_SIZE, 0),
    };
    // The flusher had not copied the frames after `disk_end`, so their CRCs are not filled
    // in yet (see `crate::frame`); those before are left as they are, so a staged copy that
    // differs from the segment still shows.
    if let Some(unflushed) = stage.get_mut(disk_end..) {
        seal_frames(unflushed);
    }
    let (stage_end, stage_frames, stage_torn) = frames_end(&stage, staged)?;
    let torn = stage_torn.then(|| (staged.path.clone(), stage_end as u64));
    let Some((file, disk)) = disk else {
        if stage_frames == 0 {
            return Ok((0, torn));
        }
        let reason = "staged frames for a segment the journal does not have".to_string();
        return Err(JournalError::damaged(
            &staged.path,
            SEGMENT_HEADER_SIZE as u64,
            reason,
        ));
    };
    let differs = disk.len() != stage.len()
        || disk_end > stage_end
        || (disk_frames > 0 && disk[..disk_end] != stage[..disk_end]);
    if differs {
        let reason = format!(
            "does not match its staging copy {} (a stage of another journal?)",
            staged.path.display()
        );
        return Err(JournalError::damaged(&segment.path, 0, reason));
    }
    drop(disk);
    if stage_end > disk_end {
        if disk_frames == 0 {
            file.write_all_at(&stage[..SEGMENT_HEADER_SIZE], 0)
                .at(&segment.path)?;
        }
        file.write_all_at(&stage[disk_end..stage_end], disk_end as u64)
            .at(&segment.path)?;
        fdatasync(&file, &segment.path)?;
    }
    debug_assert!(stage_frames >= disk_frames);
    debug_assert!(stage_end == SEGMENT_HEADER_SIZE || load_first_sequence(&stage) > 0);
    Ok((stage_frames - disk_frames, torn))
}

/// Removes every staging file in `stage_dir` (after a clean close: all are in their segments),
/// and the folder itself if nothing else is in it.
pub(crate) fn remove_stage_files(stage_dir: &Path) -> Result<(), JournalError> {
    for staged in segment_files(stage_dir)? {
        fs::remove_file(&staged.path).at(&staged.path)?;
    }
    // Only an empty folder goes; anything else in it is not ours to remove.
    let _ = fs::remove_dir(stage_dir);
    Ok(())
}
