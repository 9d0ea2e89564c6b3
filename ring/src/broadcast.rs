//! The output ring as files: one writer (the engine), any number of readers.

use std::path::Path;
use std::time::Duration;

use crate::broadcast_protocol::{Publisher, Subscriber};
use crate::doorbell::Doorbell;
use crate::layout::{check_ring_config, FileKind, Geometry, RingHead};
use crate::mapping::{create_or_open, map_head_writable, open_existing, Mapping};
use crate::slots::RingView;
use crate::{Lapped, RingError};

/// How long `open_or_create` waits for a file another process is initialising.
const ADOPT_WAIT: Duration = Duration::from_secs(2);

/// The single writer of a broadcast ring. It never waits for a reader.
pub struct BroadcastWriter {
    publisher: Publisher<RingView>,
}

impl BroadcastWriter {
    /// Creates the ring at `path`, or takes over an existing one with the same
    /// geometry and continues its sequence (engine restart).
    pub fn open_or_create(
        path: &Path,
        record_size: usize,
        capacity: usize,
    ) -> Result<Self, RingError> {
        check_ring_config(record_size, capacity).map_err(RingError::InvalidConfig)?;
        let geometry = Geometry {
            kind: FileKind::Broadcast,
            record_size,
            capacity,
        };
        let (mapping, created) = create_or_open(path, geometry, ADOPT_WAIT)?;
        mapping.header().take_over();
        let publisher = Publisher::resume(RingView::new(mapping, geometry));
        tracing::info!(
            path = %path.display(),
            created,
            next_sequence = publisher.next_sequence(),
            "broadcast ring opened for writing"
        );
        Ok(Self { publisher })
    }

    /// Publishes one record (exactly `record_size` bytes) and wakes parked readers; returns
    /// its sequence.
    #[inline]
    pub fn publish(&mut self, record: &[u8]) -> u64 {
        let sequence = self.publish_unrung(record);
        self.ring_readers();
        sequence
    }

    /// Publishes one record without waking parked readers: a writer that publishes several
    /// records per batch calls [`BroadcastWriter::ring_readers`] once after the batch.
    #[inline]
    pub fn publish_unrung(&mut self, record: &[u8]) -> u64 {
        let sequence = self.publisher.write(record);
        self.publisher.publish_cursor();
        sequence
    }

    /// Publishes records in order, advancing the shared cursor and ringing the readers' bell
    /// once; returns the sequence the next record will get (one past the last one published).
    #[inline]
    pub fn publish_batch<'a>(&mut self, records: impl IntoIterator<Item = &'a [u8]>) -> u64 {
        for record in records {
            self.publisher.write(record);
        }
        self.publisher.publish_cursor();
        self.ring_readers();
        self.publisher.next_sequence()
    }

    /// Wakes the readers parked on the ring's doorbell, if any said they are (one fence and
    /// one load when none did). Returns whether it made the wake syscall.
    #[inline]
    pub fn ring_readers(&self) -> bool {
        self.publisher
            .memory()
            .mapping()
            .at::<RingHead>(0)
            .doorbell
            .ring()
    }

    /// The sequence the next record gets.
    pub fn next_sequence(&self) -> u64 {
        self.publisher.next_sequence()
    }

    /// Bytes per record.
    pub fn record_size(&self) -> usize {
        self.publisher.memory().record_size()
    }

    /// Whether a reader said it is parked and was not yet woken (tests, diagnostics).
    pub fn readers_parked(&self) -> bool {
        self.publisher
            .memory()
            .mapping()
            .at::<RingHead>(0)
            .doorbell
            .has_sleepers()
    }

    /// Stamps the writer's liveness into the header (call every few ms, off the hot path).
    pub fn heartbeat(&self) {
        self.publisher.memory().mapping().header().beat();
    }
}

/// One reader of a broadcast ring, with its own cursor. Maps the slots read-only and the
/// header writable (for its doorbell).
pub struct BroadcastReader {
    subscriber: Subscriber<RingView>,
    head: Mapping,
    lapped_count: u64,
}

/// How long an attaching reader waits for the writer to create the file.
const READER_ATTACH_WAIT: Duration = Duration::from_secs(2);

impl BroadcastReader {
    /// Attaches at the current end: the first record read is the next one published.
    pub fn attach(path: &Path) -> Result<Self, RingError> {
        let mut reader = Self::attach_at(path, 0)?;
        reader.skip_to_latest();
        Ok(reader)
    }

    /// Attaches with `sequence` as the next record to read (a reader that
    /// asks for one already overwritten learns it with `Lapped` on its first read).
    pub fn attach_at(path: &Path, sequence: u64) -> Result<Self, RingError> {
        Self::attach_waiting(path, sequence, READER_ATTACH_WAIT)
    }

    /// Like [`BroadcastReader::attach_at`], waiting up to `wait` for the file.
    pub fn attach_waiting(path: &Path, sequence: u64, wait: Duration) -> Result<Self, RingError> {
        let (mapping, geometry) = open_existing(path, FileKind::Broadcast, false, wait)?;
        let head = map_head_writable(path, std::mem::size_of::<RingHead>())?;
        let subscriber = Subscriber::at(RingView::new(mapping, geometry), sequence);
        Ok(Self {
            subscriber,
            head,
            lapped_count: 0,
        })
    }

    /// The doorbell the writer rings after each batch: park on it with
    /// [`crate::Waiter::idle_on`] and [`BroadcastReader::has_next`] as the re-check.
    pub fn doorbell(&self) -> &Doorbell {
        &self.head.at::<RingHead>(0).doorbell
    }

    /// Whether the writer has published past this reader's position (a record to read, or a
    /// lap to report).
    #[inline]
    pub fn has_next(&self) -> bool {
        self.subscriber.writer_cursor() > self.subscriber.position()
    }

    /// Copies the next record into `out` (at least `record_size` bytes) and
    /// returns its sequence; `Ok(None)` if none is complete yet. `Err(Lapped)`
    /// if the writer overwrote it: the reader logs it, counts it, and continues
    /// from `oldest_available`; the caller re-syncs.
    #[inline]
    pub fn try_next(&mut self, out: &mut [u8]) -> Result<Option<u64>, Lapped> {
        let size = self.record_size();
        assert!(
            out.len() >= size,
            "output buffer of {} bytes for {size}-byte records",
            out.len()
        );
        match self.subscriber.read(&mut out[..size]) {
            Err(lapped) => Err(self.note_lap(lapped)),
            ok => ok,
        }
    }

    #[cold]
    fn note_lap(&mut self, lapped: Lapped) -> Lapped {
        self.lapped_count += 1;
        tracing::warn!(
            path = %self.subscriber.memory().mapping().path().display(),
            expected = lapped.expected,
            oldest_available = lapped.oldest_available,
            lapped_count = self.lapped_count,
            "broadcast reader lapped by the writer: records lost, re-sync needed"
        );
        lapped
    }

    /// Jumps to the current end (the next record the writer publishes).
    pub fn skip_to_latest(&mut self) {
        let cursor = self.subscriber.writer_cursor();
        self.subscriber.seek(cursor);
    }

    /// The sequence this reader reads next.
    pub fn position(&self) -> u64 {
        self.subscriber.position()
    }

    /// The writer's next sequence, as last published.
    pub fn writer_position(&self) -> u64 {
        self.subscriber.writer_cursor()
    }

    /// Bytes per record.
    pub fn record_size(&self) -> usize {
        self.subscriber.memory().record_size()
    }

    /// Whether the writer's heartbeat is younger than `max_age` and its process exists.
    pub fn writer_alive(&self, max_age: Duration) -> bool {
        self.subscriber
            .memory()
            .mapping()
            .header()
            .writer_alive(max_age)
    }

    /// How many times this reader was lapped.
    pub fn lapped_count(&self) -> u64 {
        self.lapped_count
    }
}
