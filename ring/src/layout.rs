//! The on-disk (in-shm) layout shared by every ring file: the header, the
//! file kinds, and the slot geometry.
//!
//! Every file starts with the 128-byte [`FileHeader`]:
//!
//! | offset | size | field          |
//! |--------|------|----------------|
//! | 0      | 8    | magic "PINWHEEL" |
//! | 8      | 4    | layout version (written last) |
//! | 12     | 4    | file kind (1 input, 2 broadcast, 3 control) |
//! | 16     | 8    | record size    |
//! | 24     | 8    | capacity       |
//! | 32     | 4    | writer pid     |
//! | 40     | 8    | writer heartbeat, CLOCK_MONOTONIC ns |
//!
//! Ring files (input and broadcast) then hold, each on its own 128-byte line:
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 128    | 8    | `tail`: input, the producer's published count; broadcast, the next sequence |
//! | 256    | 8    | `head`: input, the consumer's read count; broadcast, unused |
//! | 384    | 8    | doorbell (`doorbell.rs`): `sleepers` u32 at 384, futex word `rings` u32 at 388 |
//! | 512    | ..   | slots: slot `i` at `512 + i * stride`, stamp first, record at +8 |
//!
//! Input rings' doorbell is unused: the engine parks on the control file's. The broadcast
//! ring's is the one the output readers park on; readers map the header page (the first 4 KiB)
//! writable for it and the slots read-only.
//!
//! The control file then holds:
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 128    | 8    | attach epoch |
//! | 256    | 8    | the engine's doorbell: `sleepers` at 256, `rings` at 260 (every edge rings it after a push) |
//! | 384    | ..   | edge slots, one 128-byte line each: owner word, heartbeat, generation |

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crossbeam_utils::CachePadded;

use crate::doorbell::Doorbell;

/// First 8 bytes of every Pinwheel ring file.
pub const MAGIC: u64 = u64::from_le_bytes(*b"PINWHEEL");
/// Layout version written by this build; attaching to another version fails.
/// 2: the doorbells (ring files at 384, the control file at 256; slots moved after them).
pub const LAYOUT_VERSION: u32 = 2;
/// Records are whole cache lines.
pub const RECORD_ALIGN: usize = 64;
/// Bytes before a record inside its slot: the slot's stamp, padded so the
/// record's words stay 8-byte aligned. The stamp shares the record's first
/// cache line, so a reader that sees the stamp already holds the record's start.
pub const STAMP_BYTES: usize = 8;
/// The largest record this crate accepts.
pub const MAX_RECORD_SIZE: usize = 1 << 20;
/// The largest ring capacity (records) this crate accepts.
pub const MAX_CAPACITY: usize = 1 << 30;

/// What a ring file is for; stored in the header so a file cannot be mistaken for another kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum FileKind {
    Input = 1,
    Broadcast = 2,
    Control = 3,
}

/// Every file starts with this. The creator writes every field, then the
/// version last (release); an attacher that reads version 0 waits.
#[repr(C, align(128))]
pub(crate) struct FileHeader {
    pub magic: AtomicU64,
    pub version: AtomicU32,
    pub kind: AtomicU32,
    pub record_size: AtomicU64,
    pub capacity: AtomicU64,
    pub creator_pid: AtomicU32,
    pub _reserved: AtomicU32,
    pub heartbeat_ns: AtomicU64,
}

/// The header values an attacher validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub kind: FileKind,
    pub record_size: usize,
    pub capacity: usize,
}

/// Ring files: header, then the two cursors on their own cache lines, then the slots.
#[repr(C)]
pub(crate) struct RingHead {
    pub header: FileHeader,
    /// Input rings: the producer's published count (a hint for the next producer).
    /// Broadcast rings: the writer's next sequence.
    pub tail: CachePadded<AtomicU64>,
    /// Input rings: the consumer's read count. Unused by broadcast rings.
    pub head: CachePadded<AtomicU64>,
    /// Broadcast rings: where the readers park (the writer rings it after each batch).
    pub doorbell: CachePadded<Doorbell>,
}

/// Control file: header, then the attach epoch, then one padded slot per edge.
#[repr(C)]
pub(crate) struct ControlHead {
    pub header: FileHeader,
    /// Bumped by every edge that attaches, so the engine picks it up without a scan.
    pub attach_epoch: CachePadded<AtomicU64>,
    /// Where the engine parks when every input ring is empty; edges ring it after a push.
    pub doorbell: CachePadded<Doorbell>,
}

/// One edge's entry in the control file.
#[repr(C)]
pub(crate) struct EdgeSlot {
    /// `state | pid << 32` (see `control.rs`); changed only by compare-and-swap.
    pub owner: AtomicU64,
    /// The edge's last heartbeat, CLOCK_MONOTONIC ns.
    pub heartbeat_ns: AtomicU64,
    /// Bumped on every attach so the engine tells a new edge from an old one.
    pub generation: AtomicU64,
}

/// Bytes one control slot takes.
pub(crate) const EDGE_SLOT_SIZE: usize = std::mem::size_of::<CachePadded<EdgeSlot>>();

const _: () = assert!(std::mem::size_of::<FileHeader>().is_multiple_of(RECORD_ALIGN));
const _: () = assert!(std::mem::size_of::<RingHead>().is_multiple_of(RECORD_ALIGN));
const _: () = assert!(std::mem::size_of::<ControlHead>().is_multiple_of(RECORD_ALIGN));
const _: () = assert!(std::mem::align_of::<CachePadded<AtomicU64>>() >= RECORD_ALIGN);
// The offsets in the module's tables.
const _: () = assert!(std::mem::offset_of!(RingHead, tail) == 128);
const _: () = assert!(std::mem::offset_of!(RingHead, head) == 256);
const _: () = assert!(std::mem::offset_of!(RingHead, doorbell) == 384);
const _: () = assert!(std::mem::size_of::<RingHead>() == 512);
const _: () = assert!(std::mem::offset_of!(ControlHead, attach_epoch) == 128);
const _: () = assert!(std::mem::offset_of!(ControlHead, doorbell) == 256);
const _: () = assert!(std::mem::size_of::<ControlHead>() == 384);
/// Bytes of a ring file that hold its header, cursors and doorbell: the part a broadcast
/// reader maps writable.
pub(crate) const RING_HEAD_PAGE: usize = 4096;
const _: () = assert!(std::mem::size_of::<RingHead>() <= RING_HEAD_PAGE);

/// Bytes between the starts of two slots holding `record_size`-byte records.
pub(crate) fn slot_stride(record_size: usize) -> usize {
    (STAMP_BYTES + record_size).next_multiple_of(RECORD_ALIGN)
}

/// The length a file of this geometry must have.
pub(crate) fn file_len(geometry: Geometry) -> usize {
    match geometry.kind {
        FileKind::Input | FileKind::Broadcast => {
            std::mem::size_of::<RingHead>() + geometry.capacity * slot_stride(geometry.record_size)
        }
        FileKind::Control => {
            std::mem::size_of::<ControlHead>() + geometry.capacity * EDGE_SLOT_SIZE
        }
    }
}

/// Checks a requested record size and capacity.
pub(crate) fn check_ring_config(record_size: usize, capacity: usize) -> Result<(), String> {
    if record_size == 0
        || !record_size.is_multiple_of(RECORD_ALIGN)
        || record_size > MAX_RECORD_SIZE
    {
        return Err(format!(
            "record size {record_size} must be a non-zero multiple of {RECORD_ALIGN} up to {MAX_RECORD_SIZE}"
        ));
    }
    if !capacity.is_power_of_two() || !(2..=MAX_CAPACITY).contains(&capacity) {
        return Err(format!(
            "capacity {capacity} must be a power of two between 2 and {MAX_CAPACITY}"
        ));
    }
    Ok(())
}

impl FileHeader {
    /// Fills a fresh (zeroed) header, version last.
    pub(crate) fn initialise(&self, geometry: Geometry) {
        self.magic.store(MAGIC, Ordering::Relaxed);
        self.kind.store(geometry.kind as u32, Ordering::Relaxed);
        self.record_size
            .store(geometry.record_size as u64, Ordering::Relaxed);
        self.capacity
            .store(geometry.capacity as u64, Ordering::Relaxed);
        self.creator_pid
            .store(std::process::id(), Ordering::Relaxed);
        self.heartbeat_ns
            .store(crate::clock::monotonic_ns(), Ordering::Relaxed);
        // Release: an attacher that reads the version also reads every field above.
        self.version.store(LAYOUT_VERSION, Ordering::Release);
    }

    /// Records the calling process as the file's writer and beats once.
    pub(crate) fn take_over(&self) {
        self.creator_pid
            .store(std::process::id(), Ordering::Relaxed);
        self.beat();
    }

    /// Stamps the heartbeat with now.
    pub(crate) fn beat(&self) {
        self.heartbeat_ns
            .store(crate::clock::monotonic_ns(), Ordering::Relaxed);
    }

    /// Whether the writer's heartbeat is younger than `max_age` and its process exists.
    pub(crate) fn writer_alive(&self, max_age: std::time::Duration) -> bool {
        let beat = self.heartbeat_ns.load(Ordering::Relaxed);
        let pid = self.creator_pid.load(Ordering::Relaxed);
        crate::clock::heartbeat_fresh(beat, max_age.as_nanos() as u64)
            && crate::clock::pid_alive(pid)
    }
}
