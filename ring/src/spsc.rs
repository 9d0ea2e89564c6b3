//! The single-producer, single-consumer cursor protocol of an input ring.
//!
//! Slot `s & mask` holds record `s`. Its stamp (first word of the slot) is
//! `s + 1` once the record is complete, so the consumer polls the slot itself
//! (one cache line carries both "ready" and the record's start) and never the
//! producer's cursor. The producer learns what it may overwrite from the
//! consumer's `head`, re-read only when its cached copy says the ring is full.
//!
//! A producer killed mid-copy never stored the stamp, so its half-written
//! record stays invisible; everything it stamped is still delivered.

use std::sync::atomic::Ordering::{Acquire, Release};

use crate::atom::Atom;
use crate::RingFull;

/// Memory an SPSC ring lives in: a mapped file, or loom's model of one.
pub(crate) trait SpscMemory {
    /// The atomic word type.
    type Atom: Atom;
    /// Number of slots, a power of two.
    fn capacity(&self) -> u64;
    /// The stamp of `slot`: `s + 1` once record `s` is complete.
    fn stamp(&self, slot: usize) -> &Self::Atom;
    /// Records consumed (written by the consumer only).
    fn head(&self) -> &Self::Atom;
    /// Records published (written by the producer only; a hint for the next producer).
    fn tail(&self) -> &Self::Atom;
    /// Copies `record` into `slot`.
    ///
    /// # Safety
    /// The caller is the ring's only producer and the consumer is done with `slot`.
    unsafe fn write_record(&self, slot: usize, record: &[u8]);
    /// Lends the record in `slot` to `f`.
    ///
    /// # Safety
    /// The caller is the ring's only consumer, saw the slot's stamp (acquire), and
    /// has not yet released the slot by advancing `head`.
    unsafe fn read_record<R>(&self, slot: usize, f: impl FnOnce(&[u8]) -> R) -> R;
}

/// Why the cursors in a ring cannot be trusted.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BrokenCursors(pub String);

/// Refuses cursors no producer and consumer could have left. The producer stores `tail`
/// once per batch, after stamping the batch's records, and the consumer reads by stamps, so
/// `head` may pass the stored `tail` (a producer killed mid-batch), but never by more than
/// one batch, which is at most `capacity`; and `tail` is never more than `capacity` ahead.
fn check_cursors(head: u64, tail: u64, capacity: u64) -> Result<(), BrokenCursors> {
    if tail.abs_diff(head) > capacity {
        return Err(BrokenCursors(format!(
            "tail {tail} head {head} capacity {capacity}"
        )));
    }
    Ok(())
}

/// The producing end.
pub(crate) struct Producer<M: SpscMemory> {
    memory: M,
    /// Next sequence to write.
    tail: u64,
    /// Last `head` read from the consumer: everything below it is free.
    head_cache: u64,
    mask: u64,
}

impl<M: SpscMemory> Producer<M> {
    /// Takes over the producing end. The previous producer may have died after
    /// stamping a record but before advancing `tail`, so the true tail is found
    /// by walking the stamps from the stored one.
    pub(crate) fn attach(memory: M) -> Result<Self, BrokenCursors> {
        let capacity = memory.capacity();
        debug_assert!(capacity.is_power_of_two());
        let mask = capacity - 1;
        let head = memory.head().load(Acquire);
        let stored_tail = memory.tail().load(Acquire);
        check_cursors(head, stored_tail, capacity)?;
        // The consumer follows stamps, so it may already have read records the dead
        // producer stamped but never counted in `tail`: resume after the further of the two.
        let mut tail = stored_tail.max(head);
        while tail - head < capacity
            && memory.stamp((tail & mask) as usize).load(Acquire) == tail + 1
        {
            tail += 1;
        }
        memory.tail().store(tail, Release);
        Ok(Self {
            memory,
            tail,
            head_cache: head,
            mask,
        })
    }

    /// The memory this producer writes.
    pub(crate) fn memory(&self) -> &M {
        &self.memory
    }

    /// Free slots, re-reading the consumer's head only when the cache says none.
    #[inline]
    fn free_slots(&mut self, wanted: u64) -> u64 {
        let capacity = self.mask + 1;
        let free = capacity - (self.tail - self.head_cache);
        if free >= wanted {
            return free;
        }
        // Acquire: the consumer released these slots after it finished reading them.
        self.head_cache = self.memory.head().load(Acquire);
        debug_assert!(self.head_cache <= self.tail);
        capacity - (self.tail - self.head_cache)
    }

    /// Copies the record into the next slot and stamps it (release) last.
    #[inline]
    fn write_one(&mut self, record: &[u8]) {
        let slot = (self.tail & self.mask) as usize;
        // SAFETY: single producer (by construction) and `free_slots` showed the
        // consumer has released this slot.
        unsafe { self.memory.write_record(slot, record) };
        // Release: a consumer that sees the stamp sees the whole record.
        self.memory.stamp(slot).store(self.tail + 1, Release);
        self.tail += 1;
    }

    /// Appends one record, or says the ring is full.
    #[inline]
    pub(crate) fn try_push(&mut self, record: &[u8]) -> Result<(), RingFull> {
        if self.free_slots(1) == 0 {
            return Err(RingFull);
        }
        self.write_one(record);
        self.memory.tail().store(self.tail, Release);
        Ok(())
    }

    /// Appends as many of `records` as fit, in order; returns how many.
    #[inline]
    pub(crate) fn try_push_batch(&mut self, records: &[&[u8]]) -> usize {
        let count = (self.free_slots(records.len() as u64) as usize).min(records.len());
        for record in &records[..count] {
            self.write_one(record);
        }
        if count > 0 {
            self.memory.tail().store(self.tail, Release);
        }
        count
    }
}

/// The consuming end.
pub(crate) struct Consumer<M: SpscMemory> {
    memory: M,
    /// Next sequence to read.
    head: u64,
    mask: u64,
}

impl<M: SpscMemory> Consumer<M> {
    /// Takes over the consuming end where the last consumer left it.
    pub(crate) fn adopt(memory: M) -> Result<Self, BrokenCursors> {
        let capacity = memory.capacity();
        let head = memory.head().load(Acquire);
        check_cursors(head, memory.tail().load(Acquire), capacity)?;
        Ok(Self {
            memory,
            head,
            mask: capacity - 1,
        })
    }

    /// Whether a complete record is waiting.
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        let slot = (self.head & self.mask) as usize;
        self.memory.stamp(slot).load(Acquire) == self.head + 1
    }

    /// Lends up to `max` waiting records to `f`, oldest first, then releases
    /// their slots to the producer with one store.
    #[inline]
    pub(crate) fn drain(&mut self, max: usize, mut f: impl FnMut(&[u8])) -> usize {
        let mut read = 0u64;
        while (read as usize) < max {
            let sequence = self.head + read;
            let slot = (sequence & self.mask) as usize;
            // Acquire: pairs with the producer's release of the stamp.
            let stamp = self.memory.stamp(slot).load(Acquire);
            // Anything but `sequence + 1` means "not yet" (a stamp from the future could
            // only come from a broken producer: it stalls that producer's ring, nothing else).
            if stamp != sequence + 1 {
                break;
            }
            // SAFETY: single consumer; the stamp says the record is complete and the
            // producer cannot reuse the slot before `head` passes it (below).
            unsafe { self.memory.read_record(slot, &mut f) };
            read += 1;
        }
        if read > 0 {
            self.head += read;
            // Release: the producer overwrites these slots only after our reads.
            self.memory.head().store(self.head, Release);
        }
        read as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slots::RingView;

    fn ring(capacity: usize) -> (Producer<RingView>, Consumer<RingView>) {
        let producer = Producer::attach(RingView::heap(64, capacity)).unwrap();
        let consumer = Consumer::adopt(producer.memory().alias()).unwrap();
        (producer, consumer)
    }

    fn record(value: u64) -> [u8; 64] {
        let mut bytes = [0u8; 64];
        for chunk in bytes.chunks_exact_mut(8) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        bytes
    }

    fn drain_values(consumer: &mut Consumer<RingView>, max: usize) -> Vec<u64> {
        let mut values = Vec::new();
        consumer.drain(max, |bytes| {
            let first = u64::from_le_bytes(bytes[..8].try_into().unwrap());
            assert!(bytes.chunks_exact(8).all(|c| c == first.to_le_bytes()));
            values.push(first);
        });
        values
    }

    #[test]
    fn records_come_out_in_order_and_a_full_ring_refuses() {
        let (mut producer, mut consumer) = ring(4);
        for value in 0..4 {
            producer.try_push(&record(value)).unwrap();
        }
        assert_eq!(producer.try_push(&record(99)), Err(RingFull));
        assert_eq!(drain_values(&mut consumer, 3), vec![0, 1, 2]);
        producer.try_push(&record(4)).unwrap();
        assert_eq!(drain_values(&mut consumer, 10), vec![3, 4]);
        assert_eq!(drain_values(&mut consumer, 10), Vec::<u64>::new());
        assert!(!consumer.has_pending());
    }

    #[test]
    fn a_batch_takes_what_fits() {
        let (mut producer, mut consumer) = ring(4);
        let records: Vec<[u8; 64]> = (10..16).map(record).collect();
        let refs: Vec<&[u8]> = records.iter().map(|r| &r[..]).collect();
        assert_eq!(producer.try_push_batch(&refs), 4);
        assert_eq!(drain_values(&mut consumer, 2), vec![10, 11]);
        assert_eq!(producer.try_push_batch(&refs[4..]), 2);
        assert_eq!(drain_values(&mut consumer, 10), vec![12, 13, 14, 15]);
    }

    #[test]
    fn a_new_producer_continues_after_the_last_stamped_record() {
        let (mut producer, mut consumer) = ring(8);
        producer.try_push(&record(1)).unwrap();
        producer.try_push(&record(2)).unwrap();
        // The old producer "died" after stamping record 2 but before storing tail.
        producer.memory().tail().store(1, Release);
        let mut successor = Producer::attach(producer.memory().alias()).unwrap();
        successor.try_push(&record(3)).unwrap();
        assert_eq!(drain_values(&mut consumer, 10), vec![1, 2, 3]);
    }

    #[test]
    fn a_new_producer_continues_after_records_the_consumer_took_past_the_stored_tail() {
        let (mut producer, mut consumer) = ring(8);
        let records: Vec<[u8; 64]> = (1..=3).map(record).collect();
        let refs: Vec<&[u8]> = records.iter().map(|r| &r[..]).collect();
        assert_eq!(producer.try_push_batch(&refs), 3);
        // The old producer "died" mid-batch: its stamps are out, its tail store is not, and
        // the consumer has already read the stamped records.
        producer.memory().tail().store(0, Release);
        assert_eq!(drain_values(&mut consumer, 10), vec![1, 2, 3]);
        let adopted = Consumer::adopt(producer.memory().alias());
        assert!(
            adopted.is_ok(),
            "a restarted consumer accepts these cursors"
        );
        let mut successor = Producer::attach(producer.memory().alias()).unwrap();
        successor.try_push(&record(4)).unwrap();
        assert_eq!(drain_values(&mut consumer, 10), vec![4]);
    }

    #[test]
    fn broken_cursors_are_refused() {
        let (producer, _) = ring(4);
        producer.memory().head().store(9, Release);
        assert!(Producer::attach(producer.memory().alias()).is_err());
        assert!(Consumer::adopt(producer.memory().alias()).is_err());
    }

    #[test]
    fn threads_pass_records_without_loss_or_tearing() {
        let (mut producer, mut consumer) = ring(16);
        let count: u64 = if cfg!(miri) { 200 } else { 100_000 };
        let writer = std::thread::spawn(move || {
            for value in 0..count {
                while producer.try_push(&record(value)).is_err() {
                    std::thread::yield_now();
                }
            }
        });
        let mut expected = 0;
        while expected < count {
            let values = drain_values(&mut consumer, 7);
            if values.is_empty() {
                std::thread::yield_now();
            }
            for value in values {
                assert_eq!(value, expected);
                expected += 1;
            }
        }
        writer.join().unwrap();
    }
}
