//! An engine driven by the hot loop's own step, [`Sequencer::poll`]: stamp each command with
//! the next sequence and a never-decreasing time, journal it (queries are not), apply it,
//! publish once per batch. Only the rings are missing: commands come from a slice instead of
//! the input rings, and events go to a counting sink instead of the output ring.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use pinwheel_engine::hot_loop::{HotLoopConfig, DEFAULT_BATCH};
use pinwheel_engine::message::Command;
use pinwheel_engine::sequencer::Sequencer;
use pinwheel_engine::{Counters, Engine};
use pinwheel_journal::{Durability, DurableCursor, FlusherStats, JournalWriter};

use crate::engine::workload::{self, CountingSink};

/// Commands per poll (and so between two publishes): the hot loop's default batch.
pub const BATCH: usize = DEFAULT_BATCH;

/// A fresh engine with its own journal, run directory and durable cursor.
pub struct DrivenEngine {
    /// The engine and its journal, stepped as the hot loop steps them.
    sequencer: Sequencer,
    /// Counts events and rejections (every command of the workload must be accepted).
    pub sink: CountingSink,
    /// The data directory (`journal/` inside it), for replay and recovery.
    pub data_dir: PathBuf,
    /// The journal's staging folder: on tmpfs (/dev/shm) when there is one, as the engine's
    /// run directory is by default.
    pub stage_dir: PathBuf,
    _stage: tempfile::TempDir,
    /// A second mapping of the cursor the flusher publishes: what an edge reads.
    durable: DurableCursor,
    counters: Counters,
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
            sequencer: Sequencer::new(workload::engine(), journal, 1, BATCH),
            sink: CountingSink::default(),
            data_dir: config.data_dir,
            stage_dir: journal_config.stage_dir,
            _stage: stage,
            durable,
            counters: Counters::new(),
        })
    }

    /// Stamps, journals and applies one command with the hot loop's step; returns its
    /// sequence. [`DrivenEngine::publish`] hands it to the flusher.
    #[inline]
    pub fn step(&mut self, command: &Command) -> u64 {
        let mut command = *command;
        self.sequencer
            .step(&mut command, &mut self.sink, &self.counters)
    }

    /// Hands everything appended to the flusher (once per batch, like the hot loop).
    #[inline]
    pub fn publish(&mut self) {
        self.sequencer.publish();
    }

    /// Drives `commands` through the hot loop's poll, a batch at a time (the hot loop's
    /// default batch); `after_batch` gets each batch's length (for progress bars).
    pub fn drive(&mut self, mut commands: &[Command], mut after_batch: impl FnMut(usize)) {
        while !commands.is_empty() {
            let polled = self
                .sequencer
                .poll(&mut commands, &mut self.sink, &self.counters);
            after_batch(polled);
        }
    }

    /// The engine being driven.
    pub fn engine(&self) -> &Engine {
        self.sequencer.engine()
    }

    /// The last sequence stamped.
    pub fn last_sequence(&self) -> u64 {
        self.sequencer.last_sequence()
    }

    /// Time the journal writer waited for prepared segments (an engine-thread stall).
    pub fn segment_wait(&self) -> Duration {
        self.sequencer.journal().segment_wait()
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
            self.sequencer.journal().health()?;
            anyhow::bail!("sequence {target} was not durable within {limit:?}");
        }
        Ok(())
    }

    /// The flusher's `fdatasync` count and slowest call since the last reset.
    pub fn flusher_stats(&self) -> FlusherStats {
        self.sequencer.journal().flusher_stats()
    }

    /// Starts the flusher's statistics afresh.
    pub fn reset_flusher_stats(&self) {
        self.sequencer.journal().reset_flusher_stats();
    }

    /// `Err` if the flusher or preparer stopped.
    pub fn health(&self) -> anyhow::Result<()> {
        Ok(self.sequencer.journal().health()?)
    }

    /// Closes the journal (the flusher syncs what is left) and returns the engine.
    pub fn close(self) -> anyhow::Result<Engine> {
        Ok(self.sequencer.close()?)
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
