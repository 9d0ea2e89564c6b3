//! The engine's hot loop: drain the input rings, stamp, journal, apply, publish.
//!
//! One thread owns the [`Engine`]. Each poll is one [`Sequencer::poll`] with the input rings
//! as the command source and the output ring as the event sink: per command a fixed amount
//! of work (copy the record out of the ring, stamp the next sequence and the time, copy it
//! into the journal's mapped segment, apply it, copy each event into the output ring; no
//! syscall: the flusher thread makes the journal durable). When every ring is empty the loop
//! waits in one place, the [`Waiter`]. Housekeeping (edge attach/detach, heartbeats, the
//! stop flag) runs once every [`HOUSEKEEPING_EVERY`] polls, never per command.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pinwheel_journal::{Durability, DurableCursor, JournalConfig, JournalWriter, Retention};
use pinwheel_ring::{
    output_path, BroadcastWriter, EdgeChange, InputConfig, InputHub, Parked, WaitStrategy, Waiter,
};

use crate::config::EngineConfig;
use crate::message::{Command, Event, RECORD_SIZE};
use crate::recovery::{recover, Recovered};
use crate::sequencer::{CommandSource, Sequencer};
use crate::shared_counters::SharedCounters;
use crate::EventSink;

/// The shared counters' file name in the run directory.
pub const COUNTERS_FILE: &str = "counters";

/// The journal's staging folder inside the run directory.
pub const JOURNAL_STAGE_DIR: &str = "journal-stage";

/// Most commands taken from the rings per poll, by default.
pub const DEFAULT_BATCH: usize = 256;

/// Polls between two rounds of housekeeping.
pub const HOUSEKEEPING_EVERY: u64 = 1024;

/// Everything the engine process needs to run.
#[derive(Clone, Debug)]
pub struct HotLoopConfig {
    /// Directory of the rings, the durable cursor and the counters.
    pub run_dir: PathBuf,
    /// Directory of the journal and the snapshots.
    pub data_dir: PathBuf,
    /// How the loop waits when every ring is empty.
    pub wait: WaitStrategy,
    /// Journal durability.
    pub durability: Durability,
    /// Core to pin the engine thread to.
    pub engine_core: Option<usize>,
    /// Core to pin the journal flusher to.
    pub flusher_core: Option<usize>,
    /// Journal segment size in bytes.
    pub segment_size: u64,
    /// Flush period in `async` durability.
    pub flush_interval: Duration,
    /// What happens to journal segments covered by a snapshot.
    pub retention: Retention,
    /// Most edges attached at once.
    pub max_edges: u16,
    /// Records per input ring (power of two).
    pub input_capacity: usize,
    /// Records in the output ring (power of two).
    pub output_capacity: usize,
    /// Most commands taken from the rings per poll.
    pub batch: usize,
}

impl HotLoopConfig {
    /// Defaults for a shared host: park waiting, sync durability, no pinning.
    pub fn new(run_dir: PathBuf, data_dir: PathBuf) -> Self {
        Self {
            run_dir,
            data_dir,
            wait: WaitStrategy::Park,
            durability: Durability::Sync,
            engine_core: None,
            flusher_core: None,
            segment_size: 64 << 20,
            flush_interval: Duration::from_millis(2),
            retention: Retention::Keep,
            max_edges: 16,
            input_capacity: 1 << 14,
            output_capacity: 1 << 18,
            batch: DEFAULT_BATCH,
        }
    }

    /// The journal's configuration derived from this one.
    pub fn journal_config(&self) -> JournalConfig {
        JournalConfig {
            dir: self.data_dir.join("journal"),
            // tmpfs by default (the run directory): the engine thread's stores into the
            // staging copy never wait for a disk writeback.
            stage_dir: self.run_dir.join(JOURNAL_STAGE_DIR),
            segment_size: self.segment_size,
            durability: self.durability,
            flush_interval: self.flush_interval,
            flusher_core: self.flusher_core,
            retention: self.retention,
        }
    }
}

/// The output ring takes every event the engine emits, as it is emitted; the loop rings the
/// parked readers once per poll, not once per event.
impl EventSink for BroadcastWriter {
    #[inline]
    fn emit(&mut self, event: &Event) {
        self.publish_unrung(event.as_bytes());
    }
}

/// The input rings hand out their records in turns; each becomes a command.
impl CommandSource for InputHub {
    #[inline]
    fn drain(&mut self, max: usize, mut take: impl FnMut(Command)) -> usize {
        InputHub::drain(self, max, |edge_id, bytes| {
            let mut command = Command::from_bytes(bytes);
            // The ring says who wrote the record; the record's own claim is not trusted.
            command.head.edge_id = edge_id;
            take(command);
        })
    }
}

/// Runs the engine until `stop` is set: recovery, then the hot loop.
pub fn run(
    config: &HotLoopConfig,
    engine_config: &EngineConfig,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let mut stage = Stage::open(config, engine_config)?;
    pin_current_thread(config.engine_core);
    tracing::info!(next_sequence = stage.sequencer.last_sequence() + 1, run_dir = %config.run_dir.display(), "engine running");
    stage.poll_until(config, stop);
    let last_sequence = stage.sequencer.last_sequence();
    let engine = stage.sequencer.close()?;
    tracing::info!(
        last_sequence,
        state_hash = %format!("{:016x}", engine.state_hash()),
        "engine stopped"
    );
    Ok(())
}

/// Everything the engine thread owns while it runs.
struct Stage {
    sequencer: Sequencer,
    hub: InputHub,
    output: BroadcastWriter,
    counters: SharedCounters,
}

impl Stage {
    /// Recovers the state, then opens the rings, the counters and the journal.
    fn open(config: &HotLoopConfig, engine_config: &EngineConfig) -> anyhow::Result<Self> {
        let journal_config = config.journal_config();
        let Recovered { engine, report } = recover(
            &config.data_dir,
            engine_config,
            Some(&journal_config.stage_dir),
        )?;
        tracing::info!(%report, "recovered");
        let input = InputConfig {
            max_edges: config.max_edges,
            capacity: config.input_capacity,
            record_size: RECORD_SIZE,
            heartbeat_timeout: Duration::from_secs(2),
        };
        // The durable cursor exists before the output ring, so a reader that finds the ring
        // also finds the cursor that tells it what it may release; so the run directory must
        // exist before the rings create it.
        pinwheel_ring::ensure_run_dir(&config.run_dir)?;
        let durable = DurableCursor::create(&config.run_dir)?;
        let hub = InputHub::open_or_create(&config.run_dir, input)?;
        let output = BroadcastWriter::open_or_create(
            &output_path(&config.run_dir),
            RECORD_SIZE,
            config.output_capacity,
        )?;
        let counters = SharedCounters::open_or_create(&config.run_dir.join(COUNTERS_FILE))?;
        let next_sequence = report.last_sequence + 1;
        let journal = JournalWriter::open(&journal_config, durable, next_sequence)?;
        Ok(Self {
            sequencer: Sequencer::new(engine, journal, next_sequence, config.batch),
            hub,
            output,
            counters,
        })
    }

    /// The hot loop: no allocation, lock, syscall or log line per command.
    fn poll_until(&mut self, config: &HotLoopConfig, stop: &AtomicBool) {
        let mut waiter = Waiter::new(config.wait);
        let mut polls: u64 = 0;
        let mut last_poll = Instant::now();
        loop {
            let now = Instant::now();
            self.counters
                .get()
                .record_poll_gap(now.duration_since(last_poll).as_nanos() as u64);
            last_poll = now;
            let polled = self
                .sequencer
                .poll(&mut self.hub, &mut self.output, self.counters.get());
            let parked = if polled > 0 {
                self.output.ring_readers();
                waiter.reset();
                None
            } else {
                self.idle(&mut waiter)
            };
            polls += 1;
            // A park that timed out is an idle engine: a good moment for the heartbeats.
            if polls.is_multiple_of(HOUSEKEEPING_EVERY) || parked == Some(Parked::TimedOut) {
                housekeeping(&mut self.hub, &self.output);
                if stop.load(Ordering::Relaxed) {
                    return;
                }
            }
        }
    }

    /// One idle step: with `park`, sleeps on the input rings' doorbell (every edge rings it).
    fn idle(&self, waiter: &mut Waiter) -> Option<Parked> {
        waiter.idle_on(self.hub.doorbell(), || self.hub.has_pending())
    }
}

/// Edge attach/detach/reclaim and the heartbeats that tell edges the engine is alive.
fn housekeeping(hub: &mut InputHub, output: &BroadcastWriter) {
    hub.maintain(|change| match change {
        EdgeChange::Attached(edge) => tracing::info!(edge, "edge attached"),
        EdgeChange::Detached(edge) => tracing::info!(edge, "edge detached"),
        EdgeChange::Reclaimed(edge) => {
            tracing::warn!(edge, "edge died; its ring was drained and reclaimed")
        }
    });
    hub.heartbeat();
    output.heartbeat();
}

/// Pins the calling thread to `core` if it is one this process may use.
pub fn pin_current_thread(core: Option<usize>) {
    let Some(core) = core else { return };
    let allowed = core_affinity::get_core_ids().unwrap_or_default();
    match allowed.into_iter().find(|id| id.id == core) {
        Some(id) if core_affinity::set_for_current(id) => tracing::info!(core, "pinned"),
        _ => tracing::warn!(
            core,
            "cannot pin to this core (not allowed for this process); running unpinned"
        ),
    }
}
