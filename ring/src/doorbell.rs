//! A doorbell: the futex word a reader parks on when its ring is empty, and the flag that tells
//! the writer whether anybody is parked, so that a writer whose readers are awake pays one
//! fence and one load per batch and never a syscall.
//!
//! Layout (8 bytes, in a file's header or on the heap; zeroed memory is a valid, quiet bell):
//!
//! | offset | size | field      | written by                                      |
//! |--------|------|------------|-------------------------------------------------|
//! | 0      | 4    | `sleepers` | readers: 1 before they park; writers: 0 on wake |
//! | 4      | 4    | `rings`    | writers: +1 on every wake (the futex word)      |
//!
//! The handshake (proved free of lost wake-ups by `loom_model`):
//!
//! - reader: `epoch = rings`; `sleepers = 1` (swap, acq-rel); SeqCst fence; re-check the ring,
//!   and leave if something is there; else `FUTEX_WAIT(rings, epoch, bound)`.
//! - writer, after publishing: SeqCst fence; load `sleepers`; only if it is 1: swap it to 0,
//!   `rings += 1`, `FUTEX_WAKE(rings, all)`.
//!
//! The two fences order "publish, then look for sleepers" against "announce, then look for
//! records": whichever fence comes second sees the other side's store. So either the reader's
//! re-check finds the record, or the writer finds the flag and bumps `rings` after the reader
//! read its epoch, and the kernel's compare in `FUTEX_WAIT` refuses to sleep on the old epoch.
//! A reader killed while parked leaves the flag set: the next batch costs the writer one
//! needless wake, which clears it. Every park is bounded in time, so even a broken writer
//! delays a reader by at most the bound, never forever.

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::time::Duration;

use crate::atom::Atom32;

/// How a park ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parked {
    /// The re-check after announcing found work: the reader did not sleep.
    Ready,
    /// A writer rang (or the word moved): look at the ring.
    Rung,
    /// The bound passed with no ring (or a signal interrupted the wait).
    TimedOut,
}

/// What the protocol needs of a doorbell: its two words, the fence, and the futex calls.
pub(crate) trait BellMemory {
    /// The 32-bit atomic type.
    type Word: Atom32;
    /// 1 while some reader may be parked.
    fn sleepers(&self) -> &Self::Word;
    /// The futex word: bumped by every wake.
    fn rings(&self) -> &Self::Word;
    /// A sequentially consistent fence of this memory's kind.
    fn fence_seq_cst();
    /// Blocks while `rings` holds `expected`, at most `timeout`.
    fn futex_wait(&self, expected: u32, timeout: Duration);
    /// Wakes every waiter on `rings`.
    fn futex_wake(&self);
}

/// The writer's side, after its records are published: true if it had to wake someone.
#[inline]
pub(crate) fn ring<B: BellMemory>(bell: &B) -> bool {
    // SeqCst fence: pairs with the parker's; the publication above is visible to a parker
    // whose fence comes later, and a parker whose fence came earlier is seen below.
    B::fence_seq_cst();
    if bell.sleepers().load(Relaxed) == 0 {
        return false;
    }
    wake(bell)
}

#[cold]
fn wake<B: BellMemory>(bell: &B) -> bool {
    // Acquire: synchronises with every parker's announcement, so each parker read its epoch
    // before the bump below. Zero: another writer took the flag and wakes them.
    if bell.sleepers().swap(0, Acquire) == 0 {
        return false;
    }
    bell.rings().fetch_add(1, Release);
    bell.futex_wake();
    true
}

/// The reader's side: announce, re-check with `ready`, sleep at most `timeout` unless rung.
pub(crate) fn park<B: BellMemory>(
    bell: &B,
    timeout: Duration,
    ready: impl FnOnce() -> bool,
) -> Parked {
    let epoch = bell.rings().load(Acquire);
    // AcqRel swap (not a store): several parkers' announcements form one release sequence, so
    // a writer that reads the last of them synchronises with all of them.
    bell.sleepers().swap(1, AcqRel);
    B::fence_seq_cst();
    if ready() {
        return Parked::Ready;
    }
    bell.futex_wait(epoch, timeout);
    if bell.rings().load(Acquire) != epoch {
        Parked::Rung
    } else {
        Parked::TimedOut
    }
}

/// A doorbell in shared memory (a ring file's header) or on the heap.
#[repr(C)]
#[derive(Debug, Default)]
pub struct Doorbell {
    sleepers: AtomicU32,
    rings: AtomicU32,
}

/// Bytes a doorbell takes (offsets in the module table).
pub const DOORBELL_BYTES: usize = 8;
const _: () = assert!(std::mem::size_of::<Doorbell>() == DOORBELL_BYTES);

impl Doorbell {
    /// A quiet doorbell (nobody parked), as zeroed memory is.
    pub const fn new() -> Self {
        Self {
            sleepers: AtomicU32::new(0),
            rings: AtomicU32::new(0),
        }
    }

    /// Call after publishing a batch: wakes parked readers if there are any (one fence and
    /// one load otherwise). Returns whether it made the wake syscall.
    #[inline]
    pub fn ring(&self) -> bool {
        ring(self)
    }

    /// Parks the calling thread until the bell rings or `timeout` passes, unless `ready`,
    /// called after announcing, says there is work already.
    pub fn park(&self, timeout: Duration, ready: impl FnOnce() -> bool) -> Parked {
        park(self, timeout, ready)
    }

    /// Whether a reader announced it is parked (and no writer has woken it yet).
    pub fn has_sleepers(&self) -> bool {
        self.sleepers.load(Acquire) != 0
    }
}

impl BellMemory for Doorbell {
    type Word = AtomicU32;

    #[inline(always)]
    fn sleepers(&self) -> &AtomicU32 {
        &self.sleepers
    }

    #[inline(always)]
    fn rings(&self) -> &AtomicU32 {
        &self.rings
    }

    #[inline(always)]
    fn fence_seq_cst() {
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }

    fn futex_wait(&self, expected: u32, timeout: Duration) {
        crate::futex::wait(&self.rings, expected, timeout);
    }

    fn futex_wake(&self) {
        crate::futex::wake_all(&self.rings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn a_quiet_bell_costs_no_wake_and_a_ready_recheck_does_not_sleep() {
        let bell = Doorbell::new();
        assert!(!bell.ring(), "nobody parked: no syscall");
        let started = Instant::now();
        assert_eq!(bell.park(Duration::from_secs(5), || true), Parked::Ready);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(bell.has_sleepers(), "an aborted park leaves the flag");
        assert!(bell.ring(), "the next ring clears it with one wake");
        assert!(!bell.has_sleepers());
        assert!(!bell.ring());
    }

    #[test]
    #[cfg_attr(miri, ignore)] // futex syscalls
    fn a_park_with_nothing_rung_ends_at_its_bound() {
        let bell = Doorbell::new();
        let started = Instant::now();
        assert_eq!(
            bell.park(Duration::from_millis(20), || false),
            Parked::TimedOut
        );
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(19), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[test]
    #[cfg_attr(miri, ignore)] // futex syscalls
    fn a_parked_thread_is_woken_by_the_ring_after_a_publication() {
        let bell = Arc::new(Doorbell::new());
        let value = Arc::new(AtomicU64::new(0));
        let reader = {
            let (bell, value) = (Arc::clone(&bell), Arc::clone(&value));
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                while value.load(Acquire) == 0 && Instant::now() < deadline {
                    bell.park(Duration::from_secs(10), || value.load(Acquire) != 0);
                }
                value.load(Acquire)
            })
        };
        while !bell.has_sleepers() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let rung_at = Instant::now();
        value.store(7, Release);
        bell.ring();
        assert_eq!(reader.join().unwrap(), 7);
        assert!(
            rung_at.elapsed() < Duration::from_secs(5),
            "woken, not timed out"
        );
    }
}
