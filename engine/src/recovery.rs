//! Rebuilding the engine's state at its start: repair the journal, then the newest valid
//! snapshot and the journal after it, through the [`JournalFollower`] that also serves
//! `pinwheel journal replay`, the snapshot follower, the feed's catch-up and the edge's
//! history, so all of them agree on what the journal means.

use std::fmt;
use std::path::{Path, PathBuf};

use pinwheel_journal::{JournalError, RecoveryReport};

use crate::config::{EngineConfig, MarketTable};
use crate::journal_follower::JournalFollower;
pub use crate::journal_follower::{replay_into, Replayed};
use crate::message::Event;
use crate::{Engine, EventSink};

/// An engine rebuilt from disk, and what was found on the way.
pub struct Recovered {
    /// The rebuilt engine.
    pub engine: Engine,
    /// What recovery found.
    pub report: RecoverySummary,
}

/// What recovery found, for the log and the CLI.
#[derive(Clone, Debug, Default)]
pub struct RecoverySummary {
    /// The snapshot recovery started from, if any: its file and sequence.
    pub snapshot: Option<(PathBuf, u64)>,
    /// Commands replayed from the journal after the snapshot.
    pub replayed: u64,
    /// Last sequence applied (journal frames, including rejected commands, and the snapshot):
    /// the engine stamps the next command with this plus one.
    pub last_sequence: u64,
    /// A torn final frame that was cut off: its file and byte offset.
    pub torn_tail: Option<(PathBuf, u64)>,
    /// The state hash after recovery.
    pub state_hash: u64,
}

impl fmt::Display for RecoverySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.snapshot {
            Some((path, sequence)) => {
                write!(f, "snapshot {} (sequence {sequence}), ", path.display())?
            }
            None => write!(f, "no snapshot, ")?,
        }
        write!(
            f,
            "{} commands replayed, last sequence {}, state hash {:016x}",
            self.replayed, self.last_sequence, self.state_hash
        )?;
        if let Some((path, offset)) = &self.torn_tail {
            write!(f, ", torn tail cut at {}:{offset}", path.display())?;
        }
        Ok(())
    }
}

/// Drops events: recovery only rebuilds state.
pub struct DiscardEvents;

impl EventSink for DiscardEvents {
    fn emit(&mut self, _event: &Event) {}

    fn discards(&self) -> bool {
        true
    }
}

/// The journal folder inside a data directory.
pub fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(pinwheel_journal::JOURNAL_DIR)
}

/// The snapshot folder inside a data directory.
pub fn snapshot_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(pinwheel_journal::SNAPSHOT_DIR)
}

/// Rebuilds the engine from `data_dir`.
///
/// `repair` is the engine's start: `Some(stage_dir)` first copies the frames a killed engine
/// left in its staging folder into the journal, then cuts a torn final frame off. Read-only
/// callers (tools, followers) pass `None`.
pub fn recover(
    data_dir: &Path,
    config: &EngineConfig,
    repair: Option<&Path>,
) -> anyhow::Result<Recovered> {
    let (follower, report) = recover_follower(data_dir, config, repair)?;
    Ok(Recovered {
        engine: follower.into_engine(),
        report,
    })
}

/// [`recover`], keeping the follower to follow the journal on from where recovery ended.
pub fn recover_follower(
    data_dir: &Path,
    config: &EngineConfig,
    repair: Option<&Path>,
) -> anyhow::Result<(JournalFollower, RecoverySummary)> {
    let table = MarketTable::resolve(config)?;
    let journal = journal_dir(data_dir);
    std::fs::create_dir_all(&journal)?;
    std::fs::create_dir_all(snapshot_dir(data_dir))?;
    let torn_tail = match repair {
        Some(stage_dir) => checked_recovery(&journal, stage_dir)?.torn_tail,
        None => None,
    };
    let mut follower = JournalFollower::start(data_dir, table, &config.capacity, Some(u64::MAX))?;
    let replay = follower.replay(None, &mut DiscardEvents, false)?;
    let report = RecoverySummary {
        snapshot: follower.snapshot().cloned(),
        replayed: replay.applied,
        last_sequence: follower.last_sequence(),
        torn_tail,
        state_hash: follower.engine().state_hash(),
    };
    Ok((follower, report))
}

fn checked_recovery(journal: &Path, stage_dir: &Path) -> Result<RecoveryReport, JournalError> {
    let report = pinwheel_journal::recover_staged(journal, stage_dir)?;
    if report.staged.frames > 0 {
        tracing::info!(frames = report.staged.frames, stage = %stage_dir.display(), "journal: copied staged frames into their segments");
    }
    if let Some((path, offset)) = &report.torn_tail {
        tracing::warn!(file = %path.display(), offset, "journal ended in a torn frame (a crash mid-write); cut it off");
    }
    Ok(report)
}
