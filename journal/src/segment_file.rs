//! Segment files: naming, the header, creation (preallocated, pre-faulted, synced) and listing.
//!
//! A segment is `<journal-dir>/<index>.seg` (index zero-padded to 20 digits, starting at 1), of a
//! fixed size, with a 64-byte header:
//! ```text
//! offset  size  field
//!      0     8  magic "PWJSEG01"
//!      8     4  layout version (u32 LE)
//!     12     4  CRC32C of bytes 0..12 and 16..32 (magic, version, index, size)
//!     16     8  segment index (u64 LE), equal to the number in the file name
//!     24     8  segment size in bytes (u64 LE), equal to the file length
//!     32     8  first sequence (u64 LE); 0 until the writer puts the first frame in
//! ```
//! Segments are named by index, not by first sequence, because the flusher prepares the next
//! segment before anyone knows which sequence will open it; the writer fills in the first
//! sequence with a plain memory store (no rename, no syscall on the hot path). The first
//! sequence is cross-checked against the first frame, whose CRC protects it.

use crate::private_file::{open_private, Existing};
use std::fs::{self, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{MmapMut, MmapOptions};

use crate::error::{IoContext, JournalError};

/// Bytes of the segment header; the first frame starts here.
pub const SEGMENT_HEADER_SIZE: usize = 64;
/// Magic at the start of every segment.
pub const SEGMENT_MAGIC: [u8; 8] = *b"PWJSEG01";
/// Layout version of segments and frames.
pub const SEGMENT_VERSION: u32 = 1;

const VERSION_AT: usize = 8;
const CRC_AT: usize = 12;
const INDEX_AT: usize = 16;
const SIZE_AT: usize = 24;
pub(crate) const FIRST_SEQUENCE_AT: usize = 32;
const SEGMENT_SUFFIX: &str = ".seg";
const TEMP_SUFFIX: &str = ".seg.tmp";

/// A segment file found in the journal directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentEntry {
    /// The index from the file name.
    pub index: u64,
    /// Full path of the file.
    pub path: PathBuf,
}

/// The decoded header of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub index: u64,
    pub segment_size: u64,
    pub first_sequence: u64,
}

/// The file name of segment `index`.
pub fn segment_file_name(index: u64) -> String {
    format!("{index:020}{SEGMENT_SUFFIX}")
}

fn header_crc(bytes: &[u8]) -> u32 {
    crc32c::crc32c_append(
        crc32c::crc32c(&bytes[0..CRC_AT]),
        &bytes[INDEX_AT..FIRST_SEQUENCE_AT],
    )
}

pub(crate) fn write_header(bytes: &mut [u8], index: u64, segment_size: u64) {
    bytes[0..8].copy_from_slice(&SEGMENT_MAGIC);
    bytes[VERSION_AT..VERSION_AT + 4].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    bytes[INDEX_AT..INDEX_AT + 8].copy_from_slice(&index.to_le_bytes());
    bytes[SIZE_AT..SIZE_AT + 8].copy_from_slice(&segment_size.to_le_bytes());
    let crc = header_crc(bytes);
    bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
}

fn first_sequence_cell(bytes: &[u8]) -> &AtomicU64 {
    assert!(bytes.len() >= SEGMENT_HEADER_SIZE && (bytes.as_ptr() as usize).is_multiple_of(8));
    // SAFETY: in bounds and 8-aligned (asserted; mappings are page-aligned); the cell lives as
    // long as `bytes`; other processes access it only through atomics too.
    unsafe { &*bytes.as_ptr().add(FIRST_SEQUENCE_AT).cast::<AtomicU64>() }
}

/// Reads the first-sequence field (acquire: the writer may be filling it in right now).
pub(crate) fn load_first_sequence(bytes: &[u8]) -> u64 {
    u64::from_le(first_sequence_cell(bytes).load(Ordering::Acquire))
}

/// Stores the first-sequence field (release: frames written after it are published later).
pub(crate) fn store_first_sequence(bytes: &[u8], sequence: u64) {
    first_sequence_cell(bytes).store(sequence.to_le(), Ordering::Release);
}

/// Decodes and checks a segment header against the file's name and length.
pub(crate) fn read_header(
    bytes: &[u8],
    entry: &SegmentEntry,
) -> Result<SegmentHeader, JournalError> {
    let bad =
        |offset: usize, reason: String| JournalError::damaged(&entry.path, offset as u64, reason);
    if bytes.len() < SEGMENT_HEADER_SIZE {
        return Err(bad(
            0,
            format!(
                "file is {} bytes, shorter than a segment header",
                bytes.len()
            ),
        ));
    }
    if bytes[0..8] != SEGMENT_MAGIC {
        return Err(bad(0, "bad segment magic".into()));
    }
    let version = u32::from_le_bytes(
        bytes[VERSION_AT..VERSION_AT + 4]
            .try_into()
            .expect("4 bytes"),
    );
    if version != SEGMENT_VERSION {
        return Err(bad(
            VERSION_AT,
            format!("segment version {version}, this build reads {SEGMENT_VERSION}"),
        ));
    }
    let stored = u32::from_le_bytes(bytes[CRC_AT..CRC_AT + 4].try_into().expect("4 bytes"));
    if stored != header_crc(bytes) {
        return Err(bad(CRC_AT, "segment header CRC32C mismatch".into()));
    }
    let index = u64::from_le_bytes(bytes[INDEX_AT..INDEX_AT + 8].try_into().expect("8 bytes"));
    let segment_size = u64::from_le_bytes(bytes[SIZE_AT..SIZE_AT + 8].try_into().expect("8 bytes"));
    if index != entry.index {
        return Err(bad(
            INDEX_AT,
            format!(
                "header says segment {index}, file name says {}",
                entry.index
            ),
        ));
    }
    if segment_size != bytes.len() as u64 {
        return Err(bad(
            SIZE_AT,
            format!("header says {segment_size} bytes, file has {}", bytes.len()),
        ));
    }
    Ok(SegmentHeader {
        index,
        segment_size,
        first_sequence: load_first_sequence(bytes),
    })
}

/// Lists the segments of a journal directory in index order (a missing directory is empty).
///
/// Leftover `*.seg.tmp` files (a crash while preparing a segment) are ignored. Indexes must be
/// contiguous: a hole means a segment was lost, and is reported.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentEntry>, JournalError> {
    let entries = segment_files(dir)?;
    for pair in entries.windows(2) {
        if pair[1].index != pair[0].index + 1 {
            return Err(JournalError::damaged(
                &pair[1].path,
                0,
                format!("segment {} is missing before this one", pair[0].index + 1),
            ));
        }
    }
    Ok(entries)
}

/// The files named like segments in `dir`, in index order, holes allowed (a missing
/// directory is empty).
pub(crate) fn segment_files(dir: &Path) -> Result<Vec<SegmentEntry>, JournalError> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).at(dir),
    };
    let mut entries = Vec::new();
    for item in read {
        let item = item.at(dir)?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SEGMENT_SUFFIX) else {
            continue;
        };
        if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(index) = stem.parse::<u64>() else {
            continue;
        };
        entries.push(SegmentEntry {
            index,
            path: item.path(),
        });
    }
    entries.sort_by_key(|entry| entry.index);
    Ok(entries)
}

/// Maps a whole segment file read-write.
pub(crate) fn map_segment_mut(path: &Path) -> Result<(File, MmapMut), JournalError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .at(path)?;
    // SAFETY: the journal's files are only ever mutated through the journal's own code, which
    // coordinates through the atomic length and first-sequence fields.
    let map = unsafe { MmapOptions::new().map_mut(&file) }.at(path)?;
    Ok((file, map))
}

/// `fdatasync` on a file.
pub(crate) fn fdatasync(file: &File, path: &Path) -> Result<(), JournalError> {
    file.sync_data().at(path)
}

/// `fsync` on a directory, so a rename or a new file in it is durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// Sizes `file` to `size` bytes and reserves its blocks: a full disk (or tmpfs) is an error
/// here, not a SIGBUS when a mapped page is first written.
pub(crate) fn preallocate(file: &File, path: &Path, size: u64) -> Result<(), JournalError> {
    file.set_len(size).at(path)?;
    // SAFETY: plain syscall on a file descriptor we own.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, size as libc::off_t) };
    // Filesystems without fallocate still work: set_len made the file.
    if rc != 0 && rc != libc::EOPNOTSUPP && rc != libc::EINVAL {
        return Err(std::io::Error::from_raw_os_error(rc)).at(path);
    }
    Ok(())
}

/// Creates (or truncates) `path` for reading and writing, mode 0600: journal files are the
/// exchange's data and nobody else's business.
pub(crate) fn create_private_file(path: &Path) -> Result<File, JournalError> {
    open_private(path, Existing::Truncate).at(path)
}

/// Creates segment `index`: preallocated, header written and synced, then
/// renamed into place and the directory synced. Returns the open file and its mapping.
pub(crate) fn create_segment(
    dir: &Path,
    index: u64,
    size: u64,
) -> Result<(File, MmapMut, PathBuf), JournalError> {
    let final_path = dir.join(segment_file_name(index));
    let temp_path = dir.join(format!("{index:020}{TEMP_SUFFIX}"));
    let file = create_private_file(&temp_path)?;
    preallocate(&file, &temp_path, size)?;
    // SAFETY: the file is new and private to us until renamed.
    let mut map = unsafe { MmapOptions::new().map_mut(&file) }.at(&temp_path)?;
    write_header(&mut map[..SEGMENT_HEADER_SIZE], index, size);
    // Size, allocation and header on disk before the name appears; no data pages are dirty.
    // The pages are not touched: the engine writes into a staging copy (see `stage.rs`) and
    // the flusher fills the file with `pwrite`.
    file.sync_all().at(&temp_path)?;
    fs::rename(&temp_path, &final_path).at(&final_path)?;
    fsync_dir(dir)?;
    Ok((file, map, final_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_segment_has_a_valid_header_and_zeroed_body() {
        let dir = tempfile::tempdir().unwrap();
        let (_file, map, path) = create_segment(dir.path(), 3, 16384).unwrap();
        let entry = SegmentEntry {
            index: 3,
            path: path.clone(),
        };
        let header = read_header(&map, &entry).unwrap();
        assert_eq!(
            header,
            SegmentHeader {
                index: 3,
                segment_size: 16384,
                first_sequence: 0
            }
        );
        assert!(map[SEGMENT_HEADER_SIZE..].iter().all(|b| *b == 0));
        assert_eq!(list_segments(dir.path()).unwrap(), vec![entry]);
    }

    #[test]
    fn header_damage_and_name_mismatch_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (_file, mut map, path) = create_segment(dir.path(), 1, 8192).unwrap();
        let wrong = SegmentEntry {
            index: 2,
            path: path.clone(),
        };
        let err = read_header(&map, &wrong).unwrap_err();
        assert!(err.to_string().contains("file name says 2"), "{err}");
        map[SIZE_AT] ^= 1;
        let right = SegmentEntry { index: 1, path };
        let err = read_header(&map, &right).unwrap_err();
        assert!(
            matches!(err, JournalError::Damaged { offset: 12, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_missing_middle_segment_is_reported_and_temp_files_ignored() {
        let dir = tempfile::tempdir().unwrap();
        create_segment(dir.path(), 1, 8192).unwrap();
        create_segment(dir.path(), 3, 8192).unwrap();
        std::fs::write(dir.path().join("00000000000000000004.seg.tmp"), b"junk").unwrap();
        let err = list_segments(dir.path()).unwrap_err();
        assert!(err.to_string().contains("segment 2 is missing"), "{err}");
    }
}
