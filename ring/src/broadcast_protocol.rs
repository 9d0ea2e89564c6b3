//! The one-writer, many-reader protocol of the output ring (a per-slot seqlock).
//!
//! Slot `s & mask` holds record `s`. Its stamp is `2s + 1` while the writer
//! copies record `s` in, and `2s + 2` once it is complete. Record words are
//! relaxed atomics, so a reader racing the writer reads stale or new words,
//! never undefined bytes; it then re-reads the stamp after an acquire fence and
//! keeps the copy only if the stamp did not move. The writer never reads
//! anything a reader writes (readers map the slots read-only); the only word readers write is
//! the doorbell's parked flag (`doorbell.rs`), which can cost the writer a needless wake, never
//! a wrong record.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crate::atom::Atom;
use crate::Lapped;

/// Memory a broadcast ring lives in: a mapped file, or loom's model of one.
pub(crate) trait BroadcastMemory {
    /// The atomic word type.
    type Atom: Atom;
    /// Number of slots, a power of two.
    fn capacity(&self) -> u64;
    /// 8-byte words per record.
    fn words(&self) -> usize;
    /// The writer's next sequence (records published).
    fn cursor(&self) -> &Self::Atom;
    /// The stamp of `slot`.
    fn stamp(&self, slot: usize) -> &Self::Atom;
    /// Word `index` of the record in `slot`.
    fn word(&self, slot: usize, index: usize) -> &Self::Atom;
}

/// Stamp of a slot while record `sequence` is being written into it.
#[inline(always)]
pub(crate) fn writing(sequence: u64) -> u64 {
    2 * sequence + 1
}

/// Stamp of a slot holding the complete record `sequence`.
#[inline(always)]
pub(crate) fn complete(sequence: u64) -> u64 {
    2 * sequence + 2
}

/// The writing end.
pub(crate) struct Publisher<M: BroadcastMemory> {
    memory: M,
    next: u64,
    mask: u64,
}

impl<M: BroadcastMemory> Publisher<M> {
    /// Continues the ring's sequence. A writer that died after completing a
    /// record but before advancing the cursor is caught up by the stamps, so no
    /// sequence is ever published twice with different contents.
    pub(crate) fn resume(memory: M) -> Self {
        let mask = memory.capacity() - 1;
        let mut next = memory.cursor().load(Acquire);
        let limit = next + memory.capacity();
        while next < limit && memory.stamp((next & mask) as usize).load(Acquire) == complete(next) {
            next += 1;
        }
        memory.cursor().store(next, Release);
        Self { memory, next, mask }
    }

    /// The memory this writer writes.
    pub(crate) fn memory(&self) -> &M {
        &self.memory
    }

    /// The sequence the next record gets.
    #[inline(always)]
    pub(crate) fn next_sequence(&self) -> u64 {
        self.next
    }

    /// Writes one record into its slot: announce, copy, complete.
    #[inline]
    pub(crate) fn write(&mut self, record: &[u8]) -> u64 {
        let sequence = self.next;
        let slot = (sequence & self.mask) as usize;
        let stamp = self.memory.stamp(slot);
        debug_assert_eq!(record.len(), self.memory.words() * 8);
        // Announce the overwrite before touching the record ...
        stamp.store(writing(sequence), Relaxed);
        // ... and keep the record stores after it: a reader whose copy saw any new word
        // (then fences acquire) is guaranteed to see the announcement on its re-check.
        M::Atom::fence(Release);
        for (index, chunk) in record.chunks_exact(8).enumerate() {
            let word = u64::from_ne_bytes(chunk.try_into().expect("8-byte chunk"));
            self.memory.word(slot, index).store(word, Relaxed);
        }
        // Release: a reader that sees `complete` sees every word above.
        stamp.store(complete(sequence), Release);
        self.next = sequence + 1;
        sequence
    }

    /// Makes everything written so far findable by attaching readers.
    #[inline(always)]
    pub(crate) fn publish_cursor(&self) {
        self.memory.cursor().store(self.next, Release);
    }
}

/// One reading end; any number may exist.
pub(crate) struct Subscriber<M: BroadcastMemory> {
    memory: M,
    next: u64,
    mask: u64,
}

impl<M: BroadcastMemory> Subscriber<M> {
    /// A reader whose next record is `sequence`.
    pub(crate) fn at(memory: M, sequence: u64) -> Self {
        let mask = memory.capacity() - 1;
        Self {
            memory,
            next: sequence,
            mask,
        }
    }

    /// The writer's next sequence as last published.
    pub(crate) fn writer_cursor(&self) -> u64 {
        self.memory.cursor().load(Acquire)
    }

    /// The sequence this reader wants next.
    #[inline(always)]
    pub(crate) fn position(&self) -> u64 {
        self.next
    }

    /// Moves the reader to `sequence`.
    pub(crate) fn seek(&mut self, sequence: u64) {
        self.next = sequence;
    }

    /// The memory this reader maps.
    pub(crate) fn memory(&self) -> &M {
        &self.memory
    }

    /// Copies the next record into `out` if it is complete. `Ok(None)`: not written
    /// yet. `Err(Lapped)`: overwritten; the reader has moved to the oldest record
    /// still available.
    #[inline]
    pub(crate) fn read(&mut self, out: &mut [u8]) -> Result<Option<u64>, Lapped> {
        let sequence = self.next;
        let slot = (sequence & self.mask) as usize;
        let stamp = self.memory.stamp(slot);
        let wanted = complete(sequence);
        // Acquire: pairs with the writer's release of `complete`.
        let before = stamp.load(Acquire);
        if before < wanted {
            return Ok(None);
        }
        if before > wanted {
            return Err(self.lapped());
        }
        for (index, chunk) in out.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&self.memory.word(slot, index).load(Relaxed).to_ne_bytes());
        }
        // Acquire fence: if any word copied above came from a later overwrite, the
        // re-check below sees (at least) that overwrite's announcement.
        M::Atom::fence(Acquire);
        if stamp.load(Relaxed) != wanted {
            return Err(self.lapped());
        }
        self.next = sequence + 1;
        Ok(Some(sequence))
    }

    /// The reader was overtaken: report it and move to the oldest record that is
    /// not about to be overwritten.
    #[cold]
    fn lapped(&mut self) -> Lapped {
        let expected = self.next;
        let cursor = self.writer_cursor();
        let oldest = (cursor + 1)
            .saturating_sub(self.memory.capacity())
            .max(expected + 1);
        self.next = oldest;
        Lapped {
            expected,
            oldest_available: oldest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::RingView;

    fn record(value: u64) -> [u8; 64] {
        let mut bytes = [0u8; 64];
        for chunk in bytes.chunks_exact_mut(8) {
            chunk.copy_from_slice(&value.to_ne_bytes());
        }
        bytes
    }

    fn value_of(bytes: &[u8]) -> u64 {
        let first = u64::from_ne_bytes(bytes[..8].try_into().unwrap());
        assert!(
            bytes.chunks_exact(8).all(|c| c == first.to_ne_bytes()),
            "torn record"
        );
        first
    }

    #[test]
    fn readers_see_records_in_order_and_wait_at_the_end() {
        let mut publisher = Publisher::resume(RingView::heap(64, 8));
        let mut reader = Subscriber::at(publisher.memory().alias(), 0);
        let mut out = [0u8; 64];
        assert_eq!(reader.read(&mut out), Ok(None));
        for value in 100..105 {
            publisher.write(&record(value));
        }
        publisher.publish_cursor();
        for sequence in 0..5 {
            assert_eq!(reader.read(&mut out), Ok(Some(sequence)));
            assert_eq!(value_of(&out), 100 + sequence);
        }
        assert_eq!(reader.read(&mut out), Ok(None));
    }

    #[test]
    fn a_lapped_reader_is_told_and_resumes_at_the_oldest_record() {
        let mut publisher = Publisher::resume(RingView::heap(64, 4));
        let mut reader = Subscriber::at(publisher.memory().alias(), 0);
        for value in 0..10 {
            publisher.write(&record(value));
        }
        publisher.publish_cursor();
        let mut out = [0u8; 64];
        let lapped = reader.read(&mut out).unwrap_err();
        assert_eq!(
            lapped,
            Lapped {
                expected: 0,
                oldest_available: 7
            }
        );
        assert_eq!(reader.read(&mut out), Ok(Some(7)));
        assert_eq!(value_of(&out), 7);
    }

    #[test]
    fn a_restarted_writer_continues_after_the_last_complete_record() {
        let mut publisher = Publisher::resume(RingView::heap(64, 8));
        publisher.write(&record(1));
        publisher.publish_cursor();
        publisher.write(&record(2)); // died before publishing the cursor
        let memory = publisher.memory().alias();
        assert_eq!(memory.cursor().load(Acquire), 1);
        let successor = Publisher::resume(memory);
        assert_eq!(successor.next_sequence(), 2);
    }

    #[test]
    fn a_racing_reader_never_gets_a_torn_record() {
        let mut publisher = Publisher::resume(RingView::heap(64, 4));
        let mut reader = Subscriber::at(publisher.memory().alias(), 0);
        let count: u64 = if cfg!(miri) { 300 } else { 200_000 };
        let writer = std::thread::spawn(move || {
            for value in 0..count {
                publisher.write(&record(value));
                publisher.publish_cursor();
            }
        });
        let mut out = [0u8; 64];
        let (mut good, mut laps) = (0u64, 0u64);
        while reader.position() < count {
            match reader.read(&mut out) {
                Ok(Some(sequence)) => {
                    assert_eq!(value_of(&out), sequence);
                    good += 1;
                }
                Ok(None) => std::thread::yield_now(),
                Err(lapped) => {
                    assert!(lapped.oldest_available > lapped.expected);
                    laps += 1;
                }
            }
        }
        writer.join().unwrap();
        assert!(good > 0 && good + laps > 0);
    }
}
