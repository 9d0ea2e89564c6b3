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
