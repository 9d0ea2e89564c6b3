//! The link's engine side over the real shared-memory rings and the journal's durable cursor.

use std::path::Path;
use std::time::Duration;

use pinwheel_journal::DurableCursor;
use pinwheel_ring::{BroadcastReader, InputProducer, WaitStrategy, Waiter};

use crate::link::{DurableSource, InputSink, OutputSource, ReaderLapped};

/// This edge's input ring.
pub struct RingInput {
    producer: InputProducer,
    run_dir: std::path::PathBuf,
    max_age: Duration,
}

impl RingInput {
    /// Claims an input ring in `run_dir` (waits up to `timeout` for the engine).
    pub fn attach(
        run_dir: &Path,
        timeout: Duration,
        engine_max_age: Duration,
    ) -> anyhow::Result<Self> {
        let producer = InputProducer::attach(run_dir, timeout).map_err(|e| {
            anyhow::anyhow!(
                "attaching to the engine's input rings in {}: {e}",
                run_dir.display()
            )
        })?;
        Ok(Self {
            producer,
            run_dir: run_dir.to_path_buf(),
            max_age: engine_max_age,
        })
    }
}

impl InputSink for RingInput {
    fn try_push(&mut self, record: &[u8]) -> bool {
        self.producer.try_push(record).is_ok()
    }

    fn engine_alive(&self) -> bool {
        self.producer.engine_alive(self.max_age)
    }

    fn heartbeat(&mut self) {
        self.producer.heartbeat();
    }

    fn edge_id(&self) -> u16 {
        self.producer.edge_id()
    }

    fn ensure_attached(&mut self) -> bool {
        if self.producer.is_attached() {
            return true;
        }
        // Bounded: this runs on the heartbeat task, never on a request.
        match InputProducer::attach(&self.run_dir, Duration::from_millis(200)) {
            Ok(producer) => {
                tracing::warn!(
                    old = self.producer.edge_id(),
                    new = producer.edge_id(),
                    "input ring was reclaimed; attached anew"
                );
                self.producer = producer;
                true
            }
            Err(error) => {
                tracing::warn!(%error, "input ring was reclaimed and re-attaching failed; will retry");
                false
            }
        }
    }
}

/// The engine's output ring.
pub struct RingOutput {
    reader: BroadcastReader,
    waiter: Waiter,
}

impl RingOutput {
    /// Attaches to `<run_dir>/output`, reading from the newest record on.
    pub fn attach(run_dir: &Path, wait: WaitStrategy) -> anyhow::Result<Self> {
        let path = pinwheel_ring::output_path(run_dir);
        let mut reader = BroadcastReader::attach(&path)
            .map_err(|e| anyhow::anyhow!("attaching to {}: {e}", path.display()))?;
        reader.skip_to_latest();
        Ok(Self {
            reader,
            waiter: Waiter::new(wait),
        })
    }
}

impl OutputSource for RingOutput {
    fn try_next(&mut self, buffer: &mut [u8]) -> Result<Option<u64>, ReaderLapped> {
        self.reader.try_next(buffer).map_err(|_| ReaderLapped)
    }

    fn skip_to_latest(&mut self) {
        self.reader.skip_to_latest();
    }

    fn idle(&mut self) {
        // With `park`: sleeps on the ring's doorbell until the engine's next batch.
        let reader = &self.reader;
        self.waiter.idle_on(reader.doorbell(), || reader.has_next());
    }

    fn reset_idle(&mut self) {
        self.waiter.reset();
    }

    fn lag(&self) -> u64 {
        self.reader
            .writer_position()
            .saturating_sub(self.reader.position())
    }
}

/// The journal's highest durable sequence (`<run_dir>/durable`).
pub struct JournalDurable {
    cursor: DurableCursor,
    waiter: Waiter,
}

impl JournalDurable {
    /// Reads `cursor`, idling with `wait` (`park`: on the cursor's doorbell, which the flusher
    /// rings after every sync).
    pub fn new(cursor: DurableCursor, wait: WaitStrategy) -> Self {
        Self {
            cursor,
            waiter: Waiter::new(wait),
        }
    }
}

impl DurableSource for JournalDurable {
    fn durable(&self) -> u64 {
        self.cursor.get()
    }

    fn idle_until(&mut self, sequence: u64) {
        let cursor = &self.cursor;
        self.waiter
            .idle_on(cursor.doorbell(), || cursor.get() >= sequence);
    }

    fn reset_idle(&mut self) {
        self.waiter.reset();
    }
}
