//! State shared by the writer (engine thread), the flusher thread and the segment preparer.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crossbeam_utils::CachePadded;
use memmap2::MmapMut;

use crate::config::JournalConfig;
use crate::durable_cursor::DurableCursor;
use crate::error::JournalError;
use crate::handoff::Slot;

/// A segment created, pre-faulted and synced ahead of time, waiting for the writer.
pub(crate) struct PreparedSegment {
    pub index: u64,
    pub map: MmapMut,
}

/// Everything the three journal threads share.
pub(crate) struct Shared {
    /// Highest sequence the writer has published (release by the writer, acquire by the flusher).
    pub written: CachePadded<AtomicU64>,
    /// Index of the segment the writer appends to; stored before any frame in it is published.
    pub writer_segment: CachePadded<AtomicU64>,
    /// Preparer -> writer: the next segment.
    pub ready: Slot<PreparedSegment>,
    /// Writer -> preparer: the mapping of a full segment, to unmap off the hot path.
    pub retired: Slot<MmapMut>,
    /// Open files of segments that may hold frames not yet synced (and the prepared one), by index.
    /// Locked by the flusher and the preparer only, never by the writer.
    pub files: Mutex<BTreeMap<u64, (File, PathBuf)>>,
    /// Set by the writer when it closes; the flusher syncs what is published, then both threads end.
    pub stop: AtomicBool,
    /// Set when a background thread failed; `failure` says why.
    pub failed: AtomicBool,
    pub failure: Mutex<Option<String>>,
    pub durable: DurableCursor,
    pub config: JournalConfig,
    /// `fdatasync` calls the flusher made, and the slowest of them (ns): what the device did
    /// while this writer ran, for benchmarks and diagnostics.
    pub syncs: AtomicU64,
    pub slowest_sync_ns: AtomicU64,
}

impl Shared {
    /// Records a background failure (loudly) so the writer and `health` can report it.
    pub(crate) fn fail(&self, thread: &str, err: JournalError) {
        tracing::error!(thread, error = %err, "journal background thread stopped");
        let mut failure = self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failure.get_or_insert_with(|| format!("{thread}: {err}"));
        self.failed.store(true, Ordering::Release);
    }

    /// The recorded failure, if any.
    pub(crate) fn failure(&self) -> Option<JournalError> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        let failure = self
            .failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(JournalError::Background(
            failure.clone().unwrap_or_default(),
        ))
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}
