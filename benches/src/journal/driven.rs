//! An engine driven the way the hot loop drives it: stamp each command with the next sequence
//! and a never-decreasing time, journal it (queries are not), apply it, publish once per batch.
//! Only the rings are missing: commands come from a slice instead of the input rings.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use pinwheel_engine::hot_loop::{is_journaled, HotLoopConfig};
use pinwheel_engine::message::Command;
use pinwheel_engine::{Counters, Engine};
use pinwheel_journal::{Durability, DurableCursor, FlusherStats, JournalWriter};

use crate::engine::workload::{self, CountingSink};

/// Commands between two publishes: the hot loop's default batch.
pub const BATCH: usize = 256;

/// A fresh engine with its own journal, run directory and durable cursor.
pub struct DrivenEngine {
    /// The engine being driven.
    pub engine: Engine,
    /// Counts events and rejections (every command of the workload must be accepted).
    pub sink: CountingSink,
    /// The data directory (`journal/` inside it), for replay and recovery.
    pub data_dir: PathBuf,
    /// The journal's staging folder: on tmpfs (/dev/shm) when there is one, as the engine's
    /// run directory is by default.
    pub stage_dir: PathBuf,
    _stage: tempfile::TempDir,
    journal: JournalWriter,
    /// A second mapping of the cursor the flusher publishes: what an edge reads.
    durable: DurableCursor,
    counters: Counters,
    next_sequence: u64,
    last_timestamp_ns: u64,
}

impl DrivenEngine {
    /// A fresh engine and journal under `root` (`run/`, `data/`), with the engine's own journal
    /// settings (flush interval, flusher) except `durability` and `segment_size`.
    ///
    /// Call this on an unpinned thread: the flusher and preparer threads inherit its affinity,
    /// and the engine too opens its journal before it pins itself.
    pub fn open(root: &Path, durability: Durability, segment_size: u64) -> anyhow::Result<Self> {
        let mut config = HotLoopConfig::new(root.join("run"), root.join("data"));
        config.durability = durability;
        config.segment_size = segment_size;
        std::fs::create_dir_all(&config.run_dir)
            .with_context(|| format!("cannot create {}", config.run_dir.display()))?;
        let cursor = DurableCursor::create(&config.run_dir)?;
        let durable = DurableCursor::open(&config.run_dir)?;
        let stage = staging_folder(&config.run_dir)?;
        let mut journal_config = config.journal_config();
        journal_config.stage_dir = stage.path().to_path_buf();
        let journal = JournalWriter::open(&journal_config, cursor, 1)?;
        Ok(Self {
            engine: workload::engine(),
            sink: CountingSink::default(),
            data_dir: config.data_dir,
            stage_dir: journal_config.stage_dir,
            _stage: stage,
            journal,
            durable,
            counters: Counters::new(),
            next_sequence: 1,
            last_timestamp_ns: 0,
        })
    }

    /// Stamps, journals and applies one command, as the hot loop does; returns its sequence.
    #[inline]
    pub fn step(&mut self, command: &Command) -> u64 {
        let mut command = *command;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.last_timestamp_ns = self.last_timestamp_ns.max(now);
        command.head.timestamp_ns = self.last_timestamp_ns;
        if is_journaled(command.head.kind) {
            command.head.sequence = self.next_sequence;
            self.next_sequence += 1;
            self.journal.append(
                command.head.sequence,
                command.head.timestamp_ns,
                command.as_bytes(),
            );
        } else {
            // A query reads the state of the last journaled command.
            command.head.sequence = self.next_sequence - 1;
        }
        self.engine
            .apply_counted(&command, &mut self.sink, &self.counters);
        command.head.sequence
    }

    /// Hands everything appended to the flusher (once per batch, like the hot loop).
    #[inline]
    pub fn publish(&mut self) {
        self.journal.publish();
    }

    /// Drives `commands` in batches of [`BATCH`], publishing after each; `after_batch` gets
    /// the batch's length (for progress bars).
    pub fn drive(&mut self, commands: &[Command], mut after_batch: impl FnMut(usize)) {
        for batch in commands.chunks(BATCH) {
            for command in batch {
                self.step(command);
            }
            self.publish();
            after_batch(batch.len());
        }
    }

    /// The last sequence stamped.
    pub fn last_sequence(&self) -> u64 {
        self.next_sequence - 1
    }

    /// Time the journal writer waited for prepared segments (an engine-thread stall).
    pub fn segment_wait(&self) -> Duration {
        self.journal.segment_wait()
    }

    /// The highest durable sequence, read as an edge reads it (`u64::MAX` in `none`).
    #[inline]
    pub fn durable_sequence(&self) -> u64 {
        self.durable.get()
    }

    /// Waits at most `limit` until every stamped command is durable.
    pub fn wait_durable(&self, limit: Duration) -> anyhow::Result<()> {
        let target = self.last_sequence();
        if !self.durable.wait_for(target, limit) {
            self.journal.health()?;
            anyhow::bail!("sequence {target} was not durable within {limit:?}");
        }
        Ok(())
    }

    /// The flusher's `fdatasync` count and slowest call since the last reset.
    pub fn flusher_stats(&self) -> FlusherStats {
        self.journal.flusher_stats()
    }

    /// Starts the flusher's statistics afresh.
    pub fn reset_flusher_stats(&self) {
        self.journal.reset_flusher_stats();
    }

    /// `Err` if the flusher or preparer stopped.
    pub fn health(&self) -> anyhow::Result<()> {
        Ok(self.journal.health()?)
    }

    /// Closes the journal (the flusher syncs what is left) and returns the engine.
    pub fn close(self) -> anyhow::Result<Engine> {
        self.journal.close()?;
        Ok(self.engine)
    }
}

/// A fresh staging folder in /dev/shm (tmpfs), or in `fallback` where there is none.
fn staging_folder(fallback: &Path) -> anyhow::Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let parent = if shm.is_dir() { shm } else { fallback };
    tempfile::Builder::new()
        .prefix("pinwheel-bench-stage-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot make a staging folder in {}", parent.display()))
}
