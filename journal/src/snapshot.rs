//! Snapshots of the engine state: `<data-dir>/snapshots/<sequence>.snap`, written atomically.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "PWSNAP01"
//!      8     4  layout version (u32 LE)
//!     12     4  CRC32C of bytes 0..12 and 16..64
//!     16     8  sequence the snapshot covers (every frame up to it is applied)
//!     24     8  the engine's state hash at that sequence
//!     32     8  body length in bytes
//!     40     4  block size of the body CRC table
//!     44     4  CRC32C of the CRC table
//!     64   4*n  CRC32C of each body block (n = body length / block size, rounded up), padded to 8
//!      …        body
//! ```
//! Per-block CRCs let a damaged body be named to within one block. Writing: a temporary file
//! in the same directory, `fsync`, rename over the final name, `fsync` of the directory; a crash
//! leaves either the old set of snapshots or the new one, plus at most an ignored temp file.
//!
//! [`latest_snapshot`] falls back to an older valid snapshot when the newest is damaged: it logs
//! the damage at error level and lists it in [`Snapshot::skipped`]. That is safe because a reader
//! starting from the older snapshot fails with `NotCovered` if retention already removed the
//! frames it needs. [`crate::verify`] fails on any damaged snapshot.

use crate::private_file::{open_private, Existing};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, JournalError};
use crate::segment_file::fsync_dir;

const MAGIC: [u8; 8] = *b"PWSNAP01";
const VERSION: u32 = 1;
const HEADER_SIZE: usize = 64;
/// Body bytes covered by one CRC in the table.
const BLOCK_SIZE: usize = 64 * 1024;
const SUFFIX: &str = ".snap";
/// Marks a snapshot being written: `<sequence>.snap.tmp-<pid>`.
const TEMP_MARK: &str = ".tmp-";

/// A snapshot read back and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Every frame up to this sequence is in the state.
    pub sequence: u64,
    /// The engine's state hash at `sequence`.
    pub state_hash: u64,
    /// The engine's serialised state.
    pub body: Vec<u8>,
    /// The file it was read from.
    pub path: PathBuf,
    /// Newer snapshots that were damaged and skipped to reach this one.
    pub skipped: Vec<SnapshotDamage>,
}

/// A damaged snapshot passed over by [`latest_snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotDamage {
    /// The damaged file.
    pub path: PathBuf,
    /// Byte offset of the damage.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
}

fn header_crc(header: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(&header[0..12]), &header[16..HEADER_SIZE])
}

fn block_crcs(body: &[u8]) -> Vec<u8> {
    let mut table = Vec::with_capacity(body.len().div_ceil(BLOCK_SIZE) * 4 + 8);
    for block in body.chunks(BLOCK_SIZE) {
        table.extend_from_slice(&crc32c::crc32c(block).to_le_bytes());
    }
    table.resize(table.len().next_multiple_of(8), 0);
    table
}

fn encode_header(sequence: u64, state_hash: u64, body_len: u64, table: &[u8]) -> [u8; HEADER_SIZE] {
    let mut header = [0u8; HEADER_SIZE];
    header[0..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[16..24].copy_from_slice(&sequence.to_le_bytes());
    header[24..32].copy_from_slice(&state_hash.to_le_bytes());
    header[32..40].copy_from_slice(&body_len.to_le_bytes());
    header[40..44].copy_from_slice(&(BLOCK_SIZE as u32).to_le_bytes());
    header[44..48].copy_from_slice(&crc32c::crc32c(table).to_le_bytes());
    let crc = header_crc(&header);
    header[12..16].copy_from_slice(&crc.to_le_bytes());
    header
}

/// The file name of the snapshot at `sequence`.
pub fn snapshot_file_name(sequence: u64) -> String {
    format!("{sequence:020}{SUFFIX}")
}

/// Writes a snapshot atomically into `dir` (created if missing); returns its path.
pub fn write_snapshot(
    dir: &Path,
    sequence: u64,
    state_hash: u64,
    body: &[u8],
) -> Result<PathBuf, JournalError> {
    fs::create_dir_all(dir).at(dir)?;
    remove_stale_temp_files(dir)?;
    let final_path = dir.join(snapshot_file_name(sequence));
    let temp_name = format!(
        "{}{TEMP_MARK}{}",
        snapshot_file_name(sequence),
        std::process::id()
    );
    let temp_path = dir.join(temp_name);
    let table = block_crcs(body);
    let header = encode_header(sequence, state_hash, body.len() as u64, &table);
    let mut file = open_private(&temp_path, Existing::Truncate).at(&temp_path)?;
    file.write_all(&header).at(&temp_path)?;
    file.write_all(&table).at(&temp_path)?;
    file.write_all(body).at(&temp_path)?;
    file.sync_all().at(&temp_path)?;
    drop(file);
    fs::rename(&temp_path, &final_path).at(&final_path)?;
    fsync_dir(dir)?;
    Ok(final_path)
}

/// Temp files of snapshot writers killed mid-write. There is one snapshot writer per data
/// directory (the follower), so any temp file found before writing is stale.
fn remove_stale_temp_files(dir: &Path) -> Result<(), JournalError> {
    for item in fs::read_dir(dir).at(dir)? {
        let path = item.at(dir)?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        if name.contains(TEMP_MARK) {
            tracing::info!(file = %path.display(), "removing the temp file of an interrupted snapshot");
            fs::remove_file(&path).at(&path)?;
        }
    }
    Ok(())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads and checks one snapshot file; damage is an error naming the file and offset.
pub fn read_snapshot(path: &Path) -> Result<Snapshot, JournalError> {
    let bytes = fs::read(path).at(path)?;
    let bad = |offset: usize, reason: String| JournalError::damaged(path, offset as u64, reason);
    if bytes.len() < HEADER_SIZE || bytes[0..8] != MAGIC {
        return Err(bad(0, "not a snapshot: bad magic or too short".into()));
    }
    let version = u32_at(&bytes, 8);
    if version != VERSION {
        return Err(bad(
            8,
            format!("snapshot version {version}, this build reads {VERSION}"),
        ));
    }
    if u32_at(&bytes, 12) != header_crc(&bytes[..HEADER_SIZE]) {
        return Err(bad(12, "snapshot header CRC32C mismatch".into()));
    }
    let (sequence, state_hash, body_len) = (
        u64_at(&bytes, 16),
        u64_at(&bytes, 24),
        u64_at(&bytes, 32) as usize,
    );
    if u32_at(&bytes, 40) as usize != BLOCK_SIZE {
        return Err(bad(
            40,
            format!(
                "snapshot block size {}, expected {BLOCK_SIZE}",
                u32_at(&bytes, 40)
            ),
        ));
    }
    let table_len = (body_len.div_ceil(BLOCK_SIZE) * 4).next_multiple_of(8);
    let body_at = HEADER_SIZE + table_len;
    if bytes.len() != body_at + body_len {
        return Err(bad(
            32,
            format!(
                "snapshot says {body_len} body bytes, the file holds {}",
                bytes.len().saturating_sub(body_at)
            ),
        ));
    }
    let table = &bytes[HEADER_SIZE..body_at];
    if crc32c::crc32c(table) != u32_at(&bytes, 44) {
        return Err(bad(HEADER_SIZE, "snapshot CRC table damaged".into()));
    }
    let body = &bytes[body_at..];
    for (block, chunk) in body.chunks(BLOCK_SIZE).enumerate() {
        if crc32c::crc32c(chunk) != u32_at(table, block * 4) {
            let start = body_at + block * BLOCK_SIZE;
            return Err(bad(
                start,
                format!(
                    "snapshot body CRC32C mismatch in bytes {start}..{}",
                    start + chunk.len()
                ),
            ));
        }
    }
    Ok(Snapshot {
        sequence,
        state_hash,
        body: body.to_vec(),
        path: path.to_path_buf(),
        skipped: Vec::new(),
    })
}

/// Snapshot files in `dir`, newest first (temporary files are ignored).
pub(crate) fn list_snapshots(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).at(dir),
    };
    let mut found = Vec::new();
    for item in read {
        let path = item.at(dir)?.path();
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        let Some(stem) = name.strip_suffix(SUFFIX) else {
            continue;
        };
        if let (true, Ok(sequence)) = (
            stem.bytes().all(|b| b.is_ascii_digit()),
            stem.parse::<u64>(),
        ) {
            found.push((sequence, path));
        }
    }
    found.sort_by_key(|(sequence, _)| std::cmp::Reverse(*sequence));
    Ok(found)
}

/// The newest valid snapshot in `dir`, falling back past damaged ones (see the module docs).
pub fn latest_snapshot(dir: &Path) -> Result<Option<Snapshot>, JournalError> {
    latest_snapshot_at_most(dir, u64::MAX)
}

/// [`latest_snapshot`] among the snapshots at or below `max_sequence` (newer ones are not read).
pub fn latest_snapshot_at_most(
    dir: &Path,
    max_sequence: u64,
) -> Result<Option<Snapshot>, JournalError> {
    let mut skipped = Vec::new();
    let listed = list_snapshots(dir)?;
    let eligible = listed
        .into_iter()
        .filter(|(sequence, _)| *sequence <= max_sequence);
    for (_, path) in eligible {
        match read_snapshot(&path) {
            Ok(mut snapshot) => {
                snapshot.skipped = skipped;
                return Ok(Some(snapshot));
            }
            Err(JournalError::Damaged {
                path,
                offset,
                reason,
            }) => {
                tracing::error!(file = %path.display(), offset, %reason, "damaged snapshot skipped; falling back to an older one");
                skipped.push(SnapshotDamage {
                    path,
                    offset,
                    reason,
                });
            }
            Err(other) => return Err(other),
        }
    }
    Ok(None)
}
