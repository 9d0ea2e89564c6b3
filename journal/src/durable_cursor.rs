//! The highest durable sequence, published in shared memory (`<run-dir>/durable`).
//!
//! Layout (192 bytes, mode 0600):
//!
//! | offset | size | field |
//! |--------|------|-------|
//! | 0      | 8    | magic "PWDURAB1" |
//! | 8      | 4    | layout version (u32 LE), written last; 2 since the doorbell |
//! | 64     | 8    | the durable sequence (u64, atomic), alone on its cache line |
//! | 128    | 8    | doorbell (`pinwheel_ring::Doorbell`): `sleepers` u32 at 128, futex word at 132 |
//!
//! The flusher stores the sequence with release ordering after `fdatasync` returns, then rings
//! the doorbell; edges load with acquire and release an answer only when its sequence is at or
//! below the value, and park on the doorbell while they wait ([`DurableCursor::wait_for`]). In
//! `none` durability the value is `u64::MAX` ([`DurableCursor::EVERYTHING`]): there is no
//! journal, so nothing is ever waited for.

use crate::private_file::{open_private, Existing};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use memmap2::{MmapMut, MmapOptions};
use pinwheel_ring::{Doorbell, WaitStrategy, Waiter};

use crate::error::{IoContext, JournalError};

const MAGIC: [u8; 8] = *b"PWDURAB1";
const VERSION: u32 = 2;
const VERSION_AT: usize = 8;
const VALUE_AT: usize = 64;
const DOORBELL_AT: usize = 128;
const FILE_SIZE: u64 = 192;
const _: () = assert!(DOORBELL_AT + pinwheel_ring::DOORBELL_BYTES <= FILE_SIZE as usize);
/// The file name inside the run directory.
pub const DURABLE_FILE_NAME: &str = "durable";

/// A mapping of `<run-dir>/durable`; cheap to read from any process.
#[derive(Debug)]
pub struct DurableCursor {
    map: MmapMut,
    path: PathBuf,
}

impl DurableCursor {
    /// The value meaning "no journal: everything counts as durable" (durability `none`).
    pub const EVERYTHING: u64 = u64::MAX;

    /// Creates (or resets to 0) the cursor file in `run_dir`. The engine does this at start.
    pub fn create(run_dir: &Path) -> Result<DurableCursor, JournalError> {
        let path = run_dir.join(DURABLE_FILE_NAME);
        let file = open_private(&path, Existing::Keep).at(&path)?;
        file.set_len(FILE_SIZE).at(&path)?;
        // SAFETY: the file is ours; other processes only touch the value through atomics.
        let mut map = unsafe { MmapOptions::new().map_mut(&file) }.at(&path)?;
        // Version last: an opener that sees a version sees the magic.
        map[VERSION_AT..VERSION_AT + 4].fill(0);
        map[0..8].copy_from_slice(&MAGIC);
        let cursor = DurableCursor { map, path };
        cursor.set(0);
        cursor.version_cell().store(VERSION, Ordering::Release);
        Ok(cursor)
    }

    /// Opens an existing cursor file (edges, followers, tools).
    pub fn open(run_dir: &Path) -> Result<DurableCursor, JournalError> {
        let path = run_dir.join(DURABLE_FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .at(&path)?;
        let len = file.metadata().at(&path)?.len();
        if len != FILE_SIZE {
            return Err(JournalError::damaged(
                &path,
                0,
                format!("durable cursor file is {len} bytes, expected {FILE_SIZE}"),
            ));
        }
        // SAFETY: as in `create`; the size was checked.
        let map = unsafe { MmapOptions::new().map_mut(&file) }.at(&path)?;
        let cursor = DurableCursor { map, path };
        if cursor.map[0..8] != MAGIC {
            return Err(JournalError::damaged(
                &cursor.path,
                0,
                "bad durable cursor magic",
            ));
        }
        let version = cursor.version_cell().load(Ordering::Acquire);
        if version != VERSION {
            return Err(JournalError::damaged(
                &cursor.path,
                VERSION_AT as u64,
                format!("durable cursor version {version}, this build reads {VERSION}"),
            ));
        }
        Ok(cursor)
    }

    fn version_cell(&self) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: offset 8 is 4-aligned inside a page-aligned 192-byte mapping that lives as long as `self`.
        unsafe {
            &*self
                .map
                .as_ptr()
                .add(VERSION_AT)
                .cast::<std::sync::atomic::AtomicU32>()
        }
    }

    fn value_cell(&self) -> &AtomicU64 {
        // SAFETY: offset 64 is 8-aligned inside a page-aligned 192-byte mapping that lives as long as `self`.
        unsafe { &*self.map.as_ptr().add(VALUE_AT).cast::<AtomicU64>() }
    }

    /// The highest sequence known to be durable (acquire).
    #[inline]
    pub fn get(&self) -> u64 {
        self.value_cell().load(Ordering::Acquire)
    }

    /// The doorbell rung after every new durable sequence: a reader waiting for one parks on
    /// it (with `pinwheel_ring::Waiter::idle_on`, and `get() >= wanted` as the re-check).
    pub fn doorbell(&self) -> &Doorbell {
        // SAFETY: offset 128 is 8-aligned inside the page-aligned 192-byte mapping that lives
        // as long as `self`; a doorbell is two atomics, valid in any bit pattern (zero: quiet).
        unsafe { &*self.map.as_ptr().add(DOORBELL_AT).cast::<Doorbell>() }
    }

    /// Publishes a new durable sequence (release) and wakes whoever is parked waiting for one.
    /// Only the flusher and the writer's open call this.
    #[inline]
    pub(crate) fn set(&self, sequence: u64) {
        self.value_cell().store(sequence, Ordering::Release);
        self.doorbell().ring();
    }

    /// Waits until `sequence` is durable or `timeout` passes (parked on the doorbell, so it
    /// returns microseconds after the flusher publishes, and no later than the timeout).
    /// True if durable.
    pub fn wait_for(&self, sequence: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut waiter = Waiter::new(WaitStrategy::Park);
        loop {
            if self.get() >= sequence {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            waiter.set_park_timeout(deadline - now);
            waiter.idle_on(self.doorbell(), || self.get() >= sequence);
        }
    }

    /// The cursor file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_set_through_one_mapping_is_seen_through_another() {
        let dir = tempfile::tempdir().unwrap();
        let writer = DurableCursor::create(dir.path()).unwrap();
        let reader = DurableCursor::open(dir.path()).unwrap();
        assert_eq!(reader.get(), 0);
        writer.set(77);
        assert_eq!(reader.get(), 77);
        assert!(reader.wait_for(77, Duration::from_millis(1)));
        assert!(!reader.wait_for(78, Duration::from_millis(5)));
    }

    #[test]
    fn opening_a_foreign_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(DURABLE_FILE_NAME),
            [1u8; FILE_SIZE as usize],
        )
        .unwrap();
        let err = DurableCursor::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("durable"), "{err}");
        assert_eq!(err.code(), "journal_damaged");
    }
}
