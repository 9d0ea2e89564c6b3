//! The journal writer, owned by the engine thread.
//!
//! `append` is a memcpy into the segment's mapped, pre-faulted staging file (see `stage.rs`):
//! no syscall, no allocation, no lock, and no page a disk writeback can hold up. `publish` is
//! two release stores that the flusher thread picks up. Creating the next segment, unmapping
//! full ones, copying frames to the segment files and every `fdatasync` happen on other threads.

use std::collections::BTreeMap;
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::background::{pack_end, OpenSegment, PreparedSegment, Shared};
use crate::config::{Durability, JournalConfig};
use crate::durable_cursor::DurableCursor;
use crate::error::{IoContext, JournalError};
use crate::flusher::Flushed;
use crate::frame::{frame_size, write_unsealed_frame, MAX_PAYLOAD};
use crate::lock::JournalLock;
use crate::scan::find_tail;
use crate::segment_file::{
    create_segment, fdatasync, map_segment_mut, store_first_sequence, SegmentEntry,
    FIRST_SEQUENCE_AT, SEGMENT_HEADER_SIZE,
};
use crate::stage::{merge_stage, remove_stage_files, Stage};

/// How long the writer waits for the preparer at a segment boundary before giving up.
const SEGMENT_WAIT_LIMIT: Duration = Duration::from_secs(30);

/// The segment the writer appends to (through its staging file).
struct ActiveSegment {
    stage: Arc<Stage>,
    index: u64,
    /// Where the next frame goes.
    pos: usize,
}

/// The flusher's `fdatasync` calls so far (none in durability `none`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlusherStats {
    /// `fdatasync` calls made.
    pub syncs: u64,
    /// The slowest of them.
    pub slowest_sync: Duration,
}

/// Appends frames to the journal; owned by the engine thread. See the module docs.
pub struct JournalWriter {
    /// `None` in durability `none`: nothing is journaled.
    active: Option<ActiveSegment>,
    /// Last appended sequence.
    written: u64,
    /// Last sequence handed to the flusher.
    published: u64,
    shared: Option<Arc<Shared>>,
    threads: Vec<JoinHandle<()>>,
    /// Kept in durability `none`, where no flusher owns it.
    idle_cursor: Option<DurableCursor>,
    /// Held for the writer's lifetime: one writer per journal.
    _lock: Option<JournalLock>,
    /// Time `append` spent waiting for the preparer's next segment (a stall of the engine
    /// thread: the preparer fell behind the rate of appends).
    segment_wait: Duration,
}

impl JournalWriter {
    /// Opens the journal after recovery and starts the flusher and preparer threads.
    ///
    /// `next_sequence` must be above every sequence on disk. What is on disk is synced and
    /// published as durable before this returns. In durability `none` nothing is opened and
    /// the cursor is set to [`DurableCursor::EVERYTHING`].
    pub fn open(
        config: &JournalConfig,
        durable: DurableCursor,
        next_sequence: u64,
    ) -> Result<JournalWriter, JournalError> {
        config.validate()?;
        assert!(next_sequence >= 1, "sequences start at 1");
        let last = next_sequence - 1;
        if config.durability == Durability::None {
            durable.set(DurableCursor::EVERYTHING);
            return Ok(JournalWriter {
                active: None,
                written: last,
                published: last,
                shared: None,
                threads: Vec::new(),
                idle_cursor: Some(durable),
                _lock: None,
                segment_wait: Duration::ZERO,
            });
        }
        let lock = JournalLock::acquire(&config.dir, "journal writer")?;
        let tail = open_tail(config, next_sequence)?;
        durable.set(last);
        let active = tail.active;
        let files: BTreeMap<_, _> = tail.files.into_iter().collect();
        let next_index = tail
            .ready
            .as_ref()
            .map_or(active.index + 1, |r| r.index + 1);
        let shared = Arc::new(Shared {
            written: CachePadded::new(AtomicU64::new(last)),
            published_end: CachePadded::new(AtomicU64::new(pack_end(active.index, active.pos))),
            flush_bell: CachePadded::new(pinwheel_ring::Doorbell::new()),
            ready: crate::handoff::SlotRing::new(),
            retired: crate::handoff::Slot::new(),
            files: Mutex::new(files),
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            failure: Mutex::new(None),
            durable,
            config: config.clone(),
            syncs: AtomicU64::new(0),
            slowest_sync_ns: AtomicU64::new(0),
        });
        if let Some(ready) = tail.ready {
            assert!(
                shared.ready.put(ready).is_ok(),
                "the ready slot starts empty"
            );
        }
        let flushed = Flushed {
            index: active.index,
            pos: tail.flushed_pos,
            sequence: last,
        };
        let threads = spawn_threads(&shared, flushed, next_index)?;
        Ok(JournalWriter {
            active: Some(active),
            written: last,
            published: last,
            shared: Some(shared),
            threads,
            idle_cursor: None,
            _lock: Some(lock),
            segment_wait: Duration::ZERO,
        })
    }

    /// Appends one frame. Hot path: a CRC and a memcpy into mapped memory.
    ///
    /// Panics if `sequence` does not increase, if the payload is over [`MAX_PAYLOAD`] or larger
    /// than a segment, or if the preparer could not supply a segment within 30 s.
    #[inline]
    pub fn append(&mut self, sequence: u64, timestamp_ns: u64, payload: &[u8]) {
        assert!(
            sequence > self.written,
            "journal sequence {sequence} does not follow {}",
            self.written
        );
        assert!(
            payload.len() <= MAX_PAYLOAD,
            "journal payload of {} bytes is over the limit",
            payload.len()
        );
        self.written = sequence;
        let Some(active) = self.active.as_mut() else {
            return;
        };
        let size = frame_size(payload.len());
        if active.pos + size > active.stage.len() {
            self.roll_over(size);
        }
        let active = self.active.as_mut().expect("durability is not none");
        let base = active.stage.base();
        if active.pos == SEGMENT_HEADER_SIZE {
            // SAFETY: the header is in bounds and 8-aligned (the mapping is page-aligned);
            // nothing of this segment is published yet, so the flusher does not read it.
            unsafe {
                base.add(FIRST_SEQUENCE_AT)
                    .cast::<u64>()
                    .write(sequence.to_le())
            };
        }
        // SAFETY: `pos` is 8-aligned (frame sizes are multiples of 8, the header is 64 bytes),
        // `pos + size` fits in the stage (checked above, and by `roll_over`), the space after
        // `pos` is zero (new stage, or the zeroed end copied at open), only this thread writes
        // the stage, and the flusher reads only below the published end, which is <= `pos`.
        unsafe { write_unsealed_frame(base.add(active.pos), sequence, timestamp_ns, payload) };
        active.pos += size;
    }

    /// Makes every appended frame visible to the flusher (one release store). Call once per batch.
    #[inline]
    pub fn publish(&mut self) {
        if self.published == self.written {
            return;
        }
        self.published = self.written;
        if let (Some(shared), Some(active)) = (&self.shared, &self.active) {
            // Release, both: the flusher that reads `written` finds the end stored before it,
            // and every frame below that end.
            let end = pack_end(active.index, active.pos);
            shared.published_end.store(end, Ordering::Release);
            shared.written.store(self.written, Ordering::Release);
            shared.flush_bell.ring();
        }
    }

    /// The last appended sequence (published or not).
    pub fn written_sequence(&self) -> u64 {
        self.written
    }

    /// The highest durable sequence (`u64::MAX` in durability `none`).
    pub fn durable_sequence(&self) -> u64 {
        match (&self.shared, &self.idle_cursor) {
            (Some(shared), _) => shared.durable.get(),
            (None, Some(cursor)) => cursor.get(),
            (None, None) => {
                unreachable!("only a closed writer has no cursor, and close consumes it")
            }
        }
    }

    /// How the device behaved so far: the flusher's `fdatasync` count and the slowest one.
    /// A single slow sync holds up every acknowledgement behind it, so this explains a sync
    /// acknowledgement tail that the device's typical latency does not.
    pub fn flusher_stats(&self) -> FlusherStats {
        self.shared
            .as_ref()
            .map_or(FlusherStats::default(), |shared| FlusherStats {
                syncs: shared.syncs.load(Ordering::Relaxed),
                slowest_sync: Duration::from_nanos(shared.slowest_sync_ns.load(Ordering::Relaxed)),
            })
    }

    /// Starts [`flusher_stats`](Self::flusher_stats) afresh (a benchmark's measured window).
    pub fn reset_flusher_stats(&self) {
        if let Some(shared) = &self.shared {
            shared.syncs.store(0, Ordering::Relaxed);
            shared.slowest_sync_ns.store(0, Ordering::Relaxed);
        }
    }

    /// Total time `append` has waited for a prepared segment since the writer opened. Nonzero
    /// means the engine thread stalled at a segment boundary: appends outran the preparer.
    pub fn segment_wait(&self) -> Duration {
        self.segment_wait
    }

    /// `Err` if the flusher or preparer stopped (disk full, I/O error): nothing more becomes durable.
    pub fn health(&self) -> Result<(), JournalError> {
        self.shared
            .as_ref()
            .and_then(|shared| shared.failure())
            .map_or(Ok(()), Err)
    }

    /// Publishes what is appended, waits for the flusher to sync it, and stops the threads.
    pub fn close(mut self) -> Result<(), JournalError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), JournalError> {
        self.publish();
        // Taken, so that `Drop` after `close` has nothing left to do.
        let Some(shared) = self.shared.take() else {
            return Ok(());
        };
        shared.stop.store(true, Ordering::Release);
        shared.flush_bell.ring();
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                shared.fail(
                    "join",
                    JournalError::Background("a journal thread panicked".into()),
                );
            }
        }
        if let Some(failure) = shared.failure() {
            // The staging files may hold frames the segments lack: recovery copies them.
            return Err(failure);
        }
        remove_stage_files(&shared.config.stage_dir)
    }

    /// Switches to the prepared next segment. Cold: once per segment.
    #[cold]
    #[inline(never)]
    fn roll_over(&mut self, frame_size: usize) {
        let shared = Arc::clone(self.shared.as_ref().expect("durability is not none"));
        // `Instant::now` is a vDSO read, no syscall; once per segment.
        let started = Instant::now();
        let next = wait_bounded(&shared, "the next journal segment", || shared.ready.take());
        self.segment_wait += started.elapsed();
        let active = self.active.as_mut().expect("durability is not none");
        assert!(
            SEGMENT_HEADER_SIZE + frame_size <= next.stage.len(),
            "a {frame_size}-byte frame does not fit in a journal segment"
        );
        let full = std::mem::replace(&mut active.stage, next.stage);
        active.index = next.index;
        active.pos = SEGMENT_HEADER_SIZE;
        let mut full = Some(full);
        wait_bounded(&shared, "the preparer to take a full segment", || {
            let stage = full.take().expect("still ours");
            shared
                .retired
                .put(stage)
                .map_err(|back| full = Some(back))
                .ok()
        });
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown() {
            tracing::error!(error = %err, "journal writer closed with an error");
        }
    }
}

/// Spins, then yields, until `attempt` succeeds; panics after the limit or if a background thread failed.
fn wait_bounded<T>(shared: &Shared, what: &str, mut attempt: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + SEGMENT_WAIT_LIMIT;
    let mut spins = 0u32;
    loop {
        if let Some(value) = attempt() {
            return value;
        }
        if let Some(err) = shared.failure() {
            panic!("journal writer cannot continue waiting for {what}: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "journal writer waited {SEGMENT_WAIT_LIMIT:?} for {what}"
        );
        spins += 1;
        if spins < 1000 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// What the writer continues from.
struct OpenedTail {
    active: ActiveSegment,
    files: Vec<(u64, OpenSegment)>,
    ready: Option<PreparedSegment>,
    /// How far the active segment's file already holds its stage (0: the header is rewritten).
    flushed_pos: usize,
}

/// Picks the segment to continue in (the last with frames, else the first empty one, else a new
/// segment 1), reuses one empty segment after it as the ready one and removes any others.
/// Staged frames a killed writer left behind are copied into their segments first.
fn open_tail(config: &JournalConfig, next_sequence: u64) -> Result<OpenedTail, JournalError> {
    merge_stage(&config.dir, &config.stage_dir)?;
    let tail = find_tail(&config.dir)?;
    let mut empty = tail.empty.into_iter();
    let (entry, pos) = match tail.current {
        Some((entry, end, last)) => {
            if last >= next_sequence {
                return Err(JournalError::SequenceMismatch {
                    dir: config.dir.clone(),
                    last,
                    requested: next_sequence,
                });
            }
            (entry, end)
        }
        None => match empty.next() {
            Some(entry) => (entry, SEGMENT_HEADER_SIZE),
            None => {
                let (_, _, path) = create_segment(&config.dir, 1, config.segment_size)?;
                (SegmentEntry { index: 1, path }, SEGMENT_HEADER_SIZE)
            }
        },
    };
    let current = continue_segment(config, entry, pos)?;
    let active = ActiveSegment {
        stage: Arc::clone(&current.1.stage),
        index: current.0,
        pos,
    };
    let mut files = vec![current];
    let mut ready = None;
    if let Some(spare) = empty.next() {
        // Reused rather than recreated: a follower may already have it mapped.
        let (index, segment) = continue_segment(config, spare, SEGMENT_HEADER_SIZE)?;
        let stage = Arc::clone(&segment.stage);
        ready = Some(PreparedSegment { index, stage });
        files.push((index, segment));
    }
    for extra in empty {
        fs::remove_file(&extra.path).at(&extra.path)?;
    }
    let flushed_pos = if pos == SEGMENT_HEADER_SIZE { 0 } else { pos };
    Ok(OpenedTail {
        active,
        files,
        ready,
        flushed_pos,
    })
}

/// Opens an existing segment whose frames end at `pos` and stages a copy of it.
fn continue_segment(
    config: &JournalConfig,
    entry: SegmentEntry,
    pos: usize,
) -> Result<(u64, OpenSegment), JournalError> {
    let (file, map) = map_segment_mut(&entry.path)?;
    if pos == SEGMENT_HEADER_SIZE {
        // A crash can leave the first sequence set on a segment that never got its frame.
        store_first_sequence(&map, 0);
    }
    // What recovery kept may still sit in the page cache only: make it durable before we say so.
    fdatasync(&file, &entry.path)?;
    let stage = Stage::create(&config.stage_dir, entry.index, &map[..pos], map.len())?;
    let segment = OpenSegment {
        file,
        path: entry.path,
        stage: Arc::new(stage),
    };
    Ok((entry.index, segment))
}

fn spawn_threads(
    shared: &Arc<Shared>,
    flushed: Flushed,
    next_index: u64,
) -> Result<Vec<JoinHandle<()>>, JournalError> {
    let spawn_error = |err: std::io::Error| {
        JournalError::Background(format!("cannot start a journal thread: {err}"))
    };
    let flusher_shared = Arc::clone(shared);
    let flusher = std::thread::Builder::new()
        .name("pinwheel-journal-flush".into())
        .spawn(move || crate::flusher::run_flusher(flusher_shared, flushed))
        .map_err(spawn_error)?;
    let preparer_shared = Arc::clone(shared);
    let preparer = std::thread::Builder::new()
        .name("pinwheel-journal-prep".into())
        .spawn(move || crate::preparer::run_preparer(preparer_shared, next_index));
    match preparer {
        Ok(preparer) => Ok(vec![flusher, preparer]),
        Err(err) => {
            shared.stop.store(true, Ordering::Release);
            let _ = flusher.join();
            Err(spawn_error(err))
        }
    }
}
