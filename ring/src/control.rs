//! The control file: one slot per edge, claimed by compare-and-swap.
//!
//! A slot's `owner` word is `state | pid << 32`. Transitions (who makes them):
//!
//! | from      | to        | by     | when                                                   |
//! |-----------|-----------|--------|--------------------------------------------------------|
//! | FREE      | CLAIMING  | edge   | attach: the edge found a free slot                      |
//! | CLAIMING  | ATTACHED  | edge   | attach: ring opened, heartbeat and generation stored    |
//! | CLAIMING  | FREE      | edge   | attach failed after claiming                            |
//! | CLAIMING  | FREE      | engine | the claiming pid is gone                                |
//! | ATTACHED  | DETACHED  | edge   | the producer was dropped                                |
//! | ATTACHED  | DEAD      | engine | pid gone or heartbeat older than the timeout            |
//! | DETACHED  | FREE      | engine | the ring is drained: `EdgeChange::Detached`             |
//! | DEAD      | FREE      | engine | the ring is drained: `EdgeChange::Reclaimed`            |
//!
//! Only the engine frees a slot that held a producer, and only once every
//! record the producer stamped has been read, so nothing finished is lost.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::layout::{ControlHead, EdgeSlot, FileHeader, FileKind, Geometry, EDGE_SLOT_SIZE};
use crate::mapping::{create_or_open, open_existing, Mapping};
use crate::RingError;

/// Slot states (low 32 bits of `owner`).
pub(crate) const FREE: u32 = 0;
pub(crate) const CLAIMING: u32 = 1;
pub(crate) const ATTACHED: u32 = 2;
pub(crate) const DETACHED: u32 = 3;
pub(crate) const DEAD: u32 = 4;

/// The owner word for `state` held by `pid`.
pub(crate) fn owner(state: u32, pid: u32) -> u64 {
    (u64::from(pid) << 32) | u64::from(state)
}

/// The state part of an owner word.
pub(crate) fn state_of(owner: u64) -> u32 {
    owner as u32
}

/// The pid part of an owner word.
pub(crate) fn pid_of(owner: u64) -> u32 {
    (owner >> 32) as u32
}

/// A mapped control file.
pub(crate) struct Control {
    mapping: Mapping,
    max_edges: u16,
}

impl Control {
    /// Creates the control file or adopts an existing one with as many slots.
    pub(crate) fn create_or_open(
        path: &Path,
        max_edges: u16,
        wait: Duration,
    ) -> Result<(Self, bool), RingError> {
        let geometry = Self::geometry(max_edges);
        let (mapping, created) = create_or_open(path, geometry, wait)?;
        Ok((Self { mapping, max_edges }, created))
    }

    /// Opens an existing control file, waiting up to `wait` for the engine to create it.
    pub(crate) fn open(path: &Path, wait: Duration) -> Result<Self, RingError> {
        let (mapping, geometry) = open_existing(path, FileKind::Control, true, wait)?;
        let max_edges = geometry.capacity as u16;
        Ok(Self { mapping, max_edges })
    }

    fn geometry(max_edges: u16) -> Geometry {
        Geometry {
            kind: FileKind::Control,
            record_size: EDGE_SLOT_SIZE,
            capacity: usize::from(max_edges),
        }
    }

    /// Number of edge slots.
    pub(crate) fn max_edges(&self) -> u16 {
        self.max_edges
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        self.mapping.path()
    }

    /// The header (its heartbeat and pid are the engine's).
    pub(crate) fn header(&self) -> &FileHeader {
        self.mapping.header()
    }

    /// Bumped by every attaching edge.
    pub(crate) fn attach_epoch(&self) -> &std::sync::atomic::AtomicU64 {
        &self.mapping.at::<ControlHead>(0).attach_epoch
    }

    /// The engine's doorbell.
    pub(crate) fn doorbell(&self) -> &crate::Doorbell {
        &self.mapping.at::<ControlHead>(0).doorbell
    }

    /// The slot of `edge`.
    pub(crate) fn slot(&self, edge: u16) -> &EdgeSlot {
        assert!(
            edge < self.max_edges,
            "edge {edge} out of {} slots",
            self.max_edges
        );
        let offset = std::mem::size_of::<ControlHead>() + usize::from(edge) * EDGE_SLOT_SIZE;
        self.mapping.at::<EdgeSlot>(offset)
    }

    /// Moves `edge`'s slot from `from` to `to` if nobody changed it meanwhile.
    pub(crate) fn transition(&self, edge: u16, from: u64, to: u64) -> bool {
        self.slot(edge)
            .owner
            .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Claims the first free slot for `pid`.
    pub(crate) fn claim_free_slot(&self, pid: u32) -> Option<u16> {
        (0..self.max_edges)
            .find(|&edge| self.transition(edge, owner(FREE, 0), owner(CLAIMING, pid)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_words_pack_state_and_pid() {
        let word = owner(ATTACHED, 0xDEAD_BEEF);
        assert_eq!(state_of(word), ATTACHED);
        assert_eq!(pid_of(word), 0xDEAD_BEEF);
        assert_eq!(owner(FREE, 0), 0, "a zeroed file is all free slots");
    }
}
