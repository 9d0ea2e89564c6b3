//! Engine counters for export by other processes: plain atomics in a `#[repr(C)]` block
//! that the hot loop can place in shared memory (no pointers, all-zero is a valid start).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::message::RejectReason;

/// Slots for command kinds (indexed by the kind byte; kinds are below 64).
pub const COMMAND_SLOTS: usize = 64;
/// Slots for reject reasons (indexed by the reason number; reasons are below 32).
pub const REJECT_SLOTS: usize = 32;

/// Counters written by the engine thread only, read by anyone.
///
/// There is a single writer, so increments are a relaxed load and store (no locked
/// read-modify-write on the hot path); readers may see a value one update late, never torn.
#[repr(C)]
#[derive(Debug)]
pub struct Counters {
    /// Commands applied, by [`crate::message::CommandKind`] byte (unknown kinds in slot 0).
    pub commands: [AtomicU64; COMMAND_SLOTS],
    /// Rejections, by [`RejectReason`] number.
    pub rejects: [AtomicU64; REJECT_SLOTS],
    /// The longest gap between two polls of the input rings, in nanoseconds.
    pub max_poll_gap_ns: AtomicU64,
    /// Events emitted.
    pub events: AtomicU64,
}

impl Counters {
    /// Size of the block in bytes (for mapping it into shared memory).
    pub const SIZE: usize = core::mem::size_of::<Counters>();

    /// All zero.
    pub fn new() -> Self {
        Self {
            commands: [const { AtomicU64::new(0) }; COMMAND_SLOTS],
            rejects: [const { AtomicU64::new(0) }; REJECT_SLOTS],
            max_poll_gap_ns: AtomicU64::new(0),
            events: AtomicU64::new(0),
        }
    }

    fn bump(counter: &AtomicU64, by: u64) {
        counter.store(counter.load(Ordering::Relaxed) + by, Ordering::Relaxed);
    }

    /// Counts one command of this kind byte.
    pub fn record_command(&self, kind: u8) {
        let slot = if (kind as usize) < COMMAND_SLOTS {
            kind as usize
        } else {
            0
        };
        Self::bump(&self.commands[slot], 1);
    }

    /// Counts one rejection.
    pub fn record_reject(&self, reason: RejectReason) {
        Self::bump(&self.rejects[reason as usize % REJECT_SLOTS], 1);
    }

    /// Counts emitted events.
    pub fn record_events(&self, count: u64) {
        Self::bump(&self.events, count);
    }

    /// Raises the longest poll gap if `gap_ns` is longer.
    pub fn record_poll_gap(&self, gap_ns: u64) {
        if gap_ns > self.max_poll_gap_ns.load(Ordering::Relaxed) {
            self.max_poll_gap_ns.store(gap_ns, Ordering::Relaxed);
        }
    }

    /// Commands seen of this kind byte.
    pub fn command_count(&self, kind: u8) -> u64 {
        self.commands[kind as usize % COMMAND_SLOTS].load(Ordering::Relaxed)
    }

    /// Rejections seen for this reason.
    pub fn reject_count(&self, reason: RejectReason) -> u64 {
        self.rejects[reason as usize % REJECT_SLOTS].load(Ordering::Relaxed)
    }
}

impl Default for Counters {
    fn default() -> Self {
        Self::new()
    }
}

const _: () = assert!(Counters::SIZE == (COMMAND_SLOTS + REJECT_SLOTS + 2) * 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_kind_and_reason_and_keeps_the_longest_gap() {
        let counters = Counters::new();
        counters.record_command(4);
        counters.record_command(4);
        counters.record_command(200);
        counters.record_reject(RejectReason::InsufficientBalance);
        counters.record_poll_gap(500);
        counters.record_poll_gap(200);
        assert_eq!(counters.command_count(4), 2);
        assert_eq!(counters.command_count(0), 1, "unknown kinds land in slot 0");
        assert_eq!(counters.reject_count(RejectReason::InsufficientBalance), 1);
        assert_eq!(counters.reject_count(RejectReason::Overflow), 0);
        assert_eq!(counters.max_poll_gap_ns.load(Ordering::Relaxed), 500);
    }
}
