//! Loom models of the two cursor protocols and the doorbell's park/wake handshake: the real
//! `spsc`, `broadcast_protocol` and `doorbell` code, run on loom's atomics, under every
//! interleaving (and weak-memory outcome) loom explores up to the preemption bound.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p pinwheel-ring --lib --release loom_model`

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicU32, AtomicU64};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use crate::broadcast_protocol::{BroadcastMemory, Publisher, Subscriber};
use crate::doorbell::{park, ring, BellMemory};
use crate::spsc::{Consumer, Producer, SpscMemory};

const CAPACITY: usize = 2;
const RECORDS: u64 = 3;

fn model(body: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(body);
}

struct SpscModel {
    stamps: Vec<AtomicU64>,
    head: AtomicU64,
    tail: AtomicU64,
    /// Plain (non-atomic) cells: loom reports any access the protocol fails to order.
    records: Vec<UnsafeCell<[u8; 8]>>,
}

#[derive(Clone)]
struct SharedSpsc(Arc<SpscModel>);

impl SpscMemory for SharedSpsc {
    type Atom = AtomicU64;
    fn capacity(&self) -> u64 {
        CAPACITY as u64
    }
    fn stamp(&self, slot: usize) -> &AtomicU64 {
        &self.0.stamps[slot]
    }
    fn head(&self) -> &AtomicU64 {
        &self.0.head
    }
    fn tail(&self) -> &AtomicU64 {
        &self.0.tail
    }
    unsafe fn write_record(&self, slot: usize, record: &[u8]) {
        // SAFETY: loom checks that no other access to this cell races with this one.
        self.0.records[slot].with_mut(|cell| unsafe { (*cell).copy_from_slice(record) });
    }
    unsafe fn read_record<R>(&self, slot: usize, f: impl FnOnce(&[u8]) -> R) -> R {
        // SAFETY: loom checks that no write to this cell races with this read.
        self.0.records[slot].with(|cell| f(unsafe { &*cell }))
    }
}

#[test]
fn loom_model_spsc_delivers_every_record_once_in_order() {
    model(|| {
        let memory = spsc_model();
        let mut producer = Producer::attach(memory.clone()).unwrap();
        let mut consumer = Consumer::adopt(memory).unwrap();
        let writer = thread::spawn(move || {
            for value in 0..RECORDS {
                while producer.try_push(&value.to_le_bytes()).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut expected = 0;
        while expected < RECORDS {
            let read = consumer.drain(2, |bytes| {
                assert_eq!(u64::from_le_bytes(bytes.try_into().unwrap()), expected);
                expected += 1;
            });
            if read == 0 {
                thread::yield_now();
            }
        }
        writer.join().unwrap();
    });
}

const WORDS: usize = 2;

struct BroadcastModel {
    cursor: AtomicU64,
    stamps: Vec<AtomicU64>,
    words: Vec<[AtomicU64; WORDS]>,
}

#[derive(Clone)]
struct SharedBroadcast(Arc<BroadcastModel>);

impl BroadcastMemory for SharedBroadcast {
    type Atom = AtomicU64;
    fn capacity(&self) -> u64 {
        CAPACITY as u64
    }
    fn words(&self) -> usize {
        WORDS
    }
    fn cursor(&self) -> &AtomicU64 {
        &self.0.cursor
    }
    fn stamp(&self, slot: usize) -> &AtomicU64 {
        &self.0.stamps[slot]
    }
    fn word(&self, slot: usize, index: usize) -> &AtomicU64 {
        &self.0.words[slot][index]
    }
}

fn broadcast_record(sequence: u64) -> [u8; 8 * WORDS] {
    let mut bytes = [0u8; 8 * WORDS];
    for (index, chunk) in bytes.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&(sequence * 10 + index as u64).to_ne_bytes());
    }
    bytes
}

#[test]
fn loom_model_broadcast_reader_never_keeps_a_torn_or_overwritten_record() {
    model(|| {
        let memory = SharedBroadcast(Arc::new(BroadcastModel {
            cursor: AtomicU64::new(0),
            stamps: (0..CAPACITY).map(|_| AtomicU64::new(0)).collect(),
            words: (0..CAPACITY)
                .map(|_| [AtomicU64::new(0), AtomicU64::new(0)])
                .collect(),
        }));
        let mut publisher = Publisher::resume(memory.clone());
        let mut reader = Subscriber::at(memory, 0);
        let writer = thread::spawn(move || {
            for sequence in 0..RECORDS {
                publisher.write(&broadcast_record(sequence));
                publisher.publish_cursor();
            }
        });
        let mut out = [0u8; 8 * WORDS];
        let mut last = None;
        while reader.position() < RECORDS {
            match reader.read(&mut out) {
                Ok(Some(sequence)) => {
                    assert_eq!(out, broadcast_record(sequence), "torn or wrong record");
                    assert!(last.is_none_or(|l| sequence > l), "went backwards");
                    last = Some(sequence);
                }
                Ok(None) => thread::yield_now(),
                Err(lapped) => assert!(lapped.oldest_available > lapped.expected),
            }
        }
        writer.join().unwrap();
    });
}

/// A doorbell on loom's atomics, with the kernel's futex modelled as a mutex and a condition
/// variable: `wait` compares the word under the lock and sleeps on the condition, `wake` takes
/// the lock and notifies. The model has no time bound on a wait, so a lost wake-up is a
/// deadlock, which loom reports.
struct BellModel {
    sleepers: AtomicU32,
    rings: AtomicU32,
    kernel: Mutex<()>,
    queue: Condvar,
}

#[derive(Clone)]
struct SharedBell(Arc<BellModel>);

impl SharedBell {
    fn new() -> Self {
        Self(Arc::new(BellModel {
            sleepers: AtomicU32::new(0),
            rings: AtomicU32::new(0),
            kernel: Mutex::new(()),
            queue: Condvar::new(),
        }))
    }
}

impl BellMemory for SharedBell {
    type Word = AtomicU32;
    fn sleepers(&self) -> &AtomicU32 {
        &self.0.sleepers
    }
    fn rings(&self) -> &AtomicU32 {
        &self.0.rings
    }
    fn fence_seq_cst() {
        loom::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
    }
    fn futex_wait(&self, expected: u32, _timeout: std::time::Duration) {
        let guard = self.0.kernel.lock().unwrap();
        if self.0.rings.load(std::sync::atomic::Ordering::Relaxed) == expected {
            drop(self.0.queue.wait(guard).unwrap());
        }
    }
    fn futex_wake(&self) {
        let _guard = self.0.kernel.lock().unwrap();
        self.0.queue.notify_all();
    }
}

/// A consumer that parks on `bell` whenever its ring is empty, until it has read `count`.
fn park_until_read(consumer: &mut Consumer<SharedSpsc>, bell: &SharedBell, count: u64) {
    let mut expected = 0;
    while expected < count {
        let read = consumer.drain(2, |bytes| {
            assert_eq!(u64::from_le_bytes(bytes.try_into().unwrap()), expected);
            expected += 1;
        });
        if read == 0 {
            park(bell, std::time::Duration::MAX, || consumer.has_pending());
        }
    }
}

fn spsc_model() -> SharedSpsc {
    SharedSpsc(Arc::new(SpscModel {
        stamps: (0..CAPACITY).map(|_| AtomicU64::new(0)).collect(),
        head: AtomicU64::new(0),
        tail: AtomicU64::new(0),
        records: (0..CAPACITY).map(|_| UnsafeCell::new([0; 8])).collect(),
    }))
}

#[test]
fn loom_model_a_parked_reader_is_always_woken_for_a_published_record() {
    model(|| {
        let memory = spsc_model();
        let bell = SharedBell::new();
        let mut producer = Producer::attach(memory.clone()).unwrap();
        let mut consumer = Consumer::adopt(memory).unwrap();
        let writer_bell = bell.clone();
        let writer = thread::spawn(move || {
            for value in 0..2u64 {
                producer.try_push(&value.to_le_bytes()).unwrap();
                ring(&writer_bell);
            }
        });
        park_until_read(&mut consumer, &bell, 2);
        writer.join().unwrap();
    });
}

#[test]
fn loom_model_the_engine_parked_on_one_bell_is_woken_by_either_of_two_writers() {
    model(|| {
        let bell = SharedBell::new();
        let rings = [spsc_model(), spsc_model()];
        let mut writers = Vec::new();
        for memory in &rings {
            let mut producer = Producer::attach(memory.clone()).unwrap();
            let writer_bell = bell.clone();
            writers.push(thread::spawn(move || {
                producer.try_push(&0u64.to_le_bytes()).unwrap();
                ring(&writer_bell);
            }));
        }
        let mut consumers: Vec<_> = rings
            .iter()
            .map(|memory| Consumer::adopt(memory.clone()).unwrap())
            .collect();
        let mut read = 0;
        while read < 2 {
            let drained: usize = consumers.iter_mut().map(|c| c.drain(1, |_| ())).sum();
            read += drained;
            if drained == 0 && read < 2 {
                park(&bell, std::time::Duration::MAX, || {
                    consumers.iter().any(|c| c.has_pending())
                });
            }
        }
        for writer in writers {
            writer.join().unwrap();
        }
    });
}

#[test]
fn loom_model_two_parked_readers_of_one_ring_are_both_woken() {
    model(|| {
        let cursor = Arc::new(AtomicU64::new(0));
        let bell = SharedBell::new();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (cursor, bell) = (Arc::clone(&cursor), bell.clone());
                thread::spawn(move || {
                    while cursor.load(std::sync::atomic::Ordering::Acquire) == 0 {
                        park(&bell, std::time::Duration::MAX, || {
                            cursor.load(std::sync::atomic::Ordering::Acquire) != 0
                        });
                    }
                })
            })
            .collect();
        cursor.store(1, std::sync::atomic::Ordering::Release);
        ring(&bell);
        for reader in readers {
            reader.join().unwrap();
        }
    });
}
