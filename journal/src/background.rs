//! State shared by the writer (engine thread), the flusher thread and the segment preparer.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_utils::CachePadded;

use crate::config::{JournalConfig, READY_SEGMENTS};
use crate::durable_cursor::DurableCursor;
use crate::error::JournalError;
use crate::handoff::{Slot, SlotRing};
use crate::stage::Stage;

/// A segment created and synced ahead of time, with its staging file, waiting for the writer.
pub(crate) struct PreparedSegment {
    pub index: u64,
    pub stage: Arc<Stage>,
}

/// A segment the flusher may still have to copy out and sync.
pub(crate) struct OpenSegment {
    pub file: File,
    pub path: PathBuf,
    pub stage: Arc<Stage>,
}

/// Packs the writer's published end (segment index, byte position) into one word, so that the
/// flusher reads both from one atomic load. Positions are 8-aligned and below 2^35 (segments
/// are at most 4 GiB), so `pos / 8` fits in the low 32 bits.
pub(crate) fn pack_end(index: u64, pos: usize) -> u64 {
    debug_assert!(index < 1 << 32 && pos.is_multiple_of(8) && (pos as u64 >> 3) < 1 << 32);
    index << 32 | (pos as u64 >> 3)
}

/// The inverse of [`pack_end`].
pub(crate) fn unpack_end(packed: u64) -> (u64, usize) {
    (packed >> 32, ((packed & 0xffff_ffff) << 3) as usize)
}

/// Everything the three journal threads share.
pub(crate) struct Shared {
    /// Highest sequence the writer has published (release by the writer, acquire by the flusher).
    pub written: CachePadded<AtomicU64>,
    /// Where the published frames end, [`pack_end`]ed; stored (release) just before `written`,
    /// so a flusher that read `written` finds every frame up to it below this end.
    pub published_end: CachePadded<AtomicU64>,
    /// Where an idle flusher parks (sync durability, unpinned); the writer rings it after
    /// every publish and on close, which costs a fence and a load while the flusher is awake.
    pub flush_bell: CachePadded<pinwheel_ring::Doorbell>,
    /// Preparer -> writer: the next segments, up to [`READY_SEGMENTS`] prepared ahead.
    pub ready: SlotRing<PreparedSegment, READY_SEGMENTS>,
    /// Writer -> preparer: the staging file of a full segment, to unmap off the hot path.
    pub retired: Slot<Arc<Stage>>,
    /// Segments that may hold frames not yet copied out and synced (and the prepared one), by
    /// index. Locked by the flusher and the preparer only, never by the writer.
    pub files: Mutex<BTreeMap<u64, OpenSegment>>,
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
