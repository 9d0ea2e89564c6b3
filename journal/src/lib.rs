//! pinwheel-journal: the journal, snapshots, crash recovery and replay.
//!
//! The engine thread appends each command as a frame into the mapped, pre-faulted staging copy
//! of a segment ([`JournalWriter::append`], a memcpy) and publishes once per batch
//! ([`JournalWriter::publish`]). A flusher thread copies published frames into the segment files
//! and makes them durable with `fdatasync` in groups, then publishes the highest durable
//! sequence in shared memory ([`DurableCursor`]). [`recover`] cuts a torn tail and names
//! any other damage; [`JournalReader`] and [`replay`] read frames back; snapshots are written
//! atomically by a follower ([`write_snapshot`], [`latest_snapshot`]); [`apply_retention`]
//! removes or archives segments a snapshot covers; [`verify`] checks everything.
//! The journal knows nothing of orders: payloads are opaque bytes.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod background;
mod config;
mod durable_cursor;
mod error;
mod flusher;
mod frame;
mod handoff;
mod lock;
pub mod measure;
mod preparer;
mod private_file;
mod reader;
mod recovery;
mod replay;
mod retention;
mod scan;
mod segment_file;
mod snapshot;
mod stage;
mod verify;
mod writer;

pub use config::{
    Durability, JournalConfig, Retention, DEFAULT_FLUSH_INTERVAL, DEFAULT_SEGMENT_SIZE,
    MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE, READY_SEGMENTS, STAGE_DIR,
};
pub use durable_cursor::{DurableCursor, DURABLE_FILE_NAME};
pub use error::JournalError;
pub use frame::{frame_size, Frame, FRAME_HEADER_SIZE, MAX_PAYLOAD};
pub use lock::{lock_path, LOCK_FILE_NAME};
pub use private_file::{open_private, Existing};
pub use reader::JournalReader;
pub use recovery::{recover, recover_staged, RecoveryReport};
pub use replay::{replay, replay_while};
pub use retention::{apply_retention, ARCHIVE_DIR};
pub use segment_file::{list_segments, segment_file_name, SegmentEntry, SEGMENT_HEADER_SIZE};
pub use snapshot::{
    latest_snapshot, latest_snapshot_at_most, read_snapshot, write_snapshot, Snapshot,
    SnapshotDamage,
};
pub use stage::StageMerge;
pub use verify::{verify, VerifyReport};
pub use writer::{FlusherStats, JournalWriter};

/// Entry points for the fuzz targets (`fuzz/`): encoders of what the journal reads back, so a
/// target can build intact headers and frames around fuzzed bytes. Not a stable API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::segment_file::SEGMENT_HEADER_SIZE;

    /// An intact header of segment `index` for a file of `segment_size` bytes.
    pub fn segment_header(index: u64, segment_size: u64) -> [u8; SEGMENT_HEADER_SIZE] {
        let mut header = [0u8; SEGMENT_HEADER_SIZE];
        crate::segment_file::write_header(&mut header, index, segment_size);
        header
    }

    /// One intact frame (CRC and padding included), as the writer and flusher leave it.
    pub fn frame(sequence: u64, timestamp_ns: u64, payload: &[u8]) -> Vec<u8> {
        assert!(
            payload.len() <= crate::frame::MAX_PAYLOAD,
            "payload too long"
        );
        let size = crate::frame::frame_size(payload.len());
        let mut words = vec![0u64; size / 8];
        // SAFETY: `words` is 8-aligned, zeroed, `size` bytes long and ours alone.
        unsafe {
            crate::frame::write_unsealed_frame(
                words.as_mut_ptr().cast::<u8>(),
                sequence,
                timestamp_ns,
                payload,
            )
        };
        let mut bytes: Vec<u8> = words.iter().flat_map(|word| word.to_ne_bytes()).collect();
        assert_eq!(crate::frame::seal_frames(&mut bytes), size);
        bytes
    }

    /// Fills in the CRC of every whole frame from the start of `bytes`; returns where it stopped.
    pub fn seal_frames(bytes: &mut [u8]) -> usize {
        crate::frame::seal_frames(bytes)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::frame::{read_frame, FrameAt};
        use crate::segment_file::{read_header, SegmentEntry};

        #[test]
        fn encoders_make_what_the_readers_accept() {
            let header = segment_header(3, 4096);
            let mut file = vec![0u8; 4096];
            file[..SEGMENT_HEADER_SIZE].copy_from_slice(&header);
            let entry = SegmentEntry {
                index: 3,
                path: "00000000000000000003.seg".into(),
            };
            let decoded = read_header(&file, &entry).unwrap();
            assert_eq!((decoded.index, decoded.segment_size), (3, 4096));
            let frame = frame(9, 10, b"payload");
            // An 8-aligned copy, as a mapping is.
            let mut words = vec![0u64; frame.len() / 8];
            for (word, chunk) in words.iter_mut().zip(frame.chunks(8)) {
                *word = u64::from_ne_bytes(chunk.try_into().unwrap());
            }
            // SAFETY: u64s are plain bytes; the slice covers exactly `words`.
            let bytes =
                unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), frame.len()) };
            match read_frame(bytes, 0) {
                FrameAt::Valid(read, size) => {
                    assert_eq!(
                        (read.sequence, read.payload, size),
                        (9, &b"payload"[..], 32)
                    )
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

/// Compile-time check: the writer moves to the engine thread, readers and cursors to followers.
#[allow(dead_code)]
fn assert_thread_safety() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<JournalWriter>();
    send::<JournalReader>();
    send_sync::<DurableCursor>();
}

/// Sub-directory of the data directory that holds the journal segments.
pub const JOURNAL_DIR: &str = "journal";
/// Sub-directory of the data directory that holds the snapshots.
pub const SNAPSHOT_DIR: &str = "snapshots";
