//! Rebuilding the engine's state: newest valid snapshot, then the journal after it.
//!
//! The same code serves the engine's start, `pinwheel journal replay`, the snapshot
//! follower and the feed's catch-up, so all of them agree on what the journal means.

use std::fmt;
use std::path::{Path, PathBuf};

use pinwheel_journal::{latest_snapshot, JournalError, RecoveryReport};

use crate::config::{EngineConfig, MarketTable};
use crate::message::Event;
use crate::read_ahead::replay_read_ahead;
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
    data_dir.join("journal")
}

/// The snapshot folder inside a data directory.
pub fn snapshot_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("snapshots")
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
    let table = MarketTable::resolve(config)?;
    let journal = journal_dir(data_dir);
    std::fs::create_dir_all(&journal)?;
    std::fs::create_dir_all(snapshot_dir(data_dir))?;
    let torn_tail = match repair {
        Some(stage_dir) => checked_recovery(&journal, stage_dir)?.torn_tail,
        None => None,
    };
    let (mut engine, snapshot) = match latest_snapshot(&snapshot_dir(data_dir))? {
        Some(snapshot) => {
            let engine =
                Engine::read_snapshot(&mut snapshot.body.as_slice(), table, &config.capacity)?;
            anyhow::ensure!(
                engine.state_hash() == snapshot.state_hash,
                "snapshot {} restores state hash {:016x}, but it records {:016x}",
                snapshot.path.display(),
                engine.state_hash(),
                snapshot.state_hash
            );
            (engine, Some((snapshot.path, snapshot.sequence)))
        }
        None => (Engine::new(table, &config.capacity), None),
    };
    let replay = replay_into(&mut engine, &journal, None, &mut DiscardEvents, false)?;
    // The engine restored from a snapshot starts at the snapshot's sequence.
    debug_assert!(snapshot
        .as_ref()
        .is_none_or(|(_, sequence)| engine.last_sequence() >= *sequence));
    let report = RecoverySummary {
        snapshot,
        replayed: replay.applied,
        last_sequence: replay.last_journaled(&engine),
        torn_tail,
        state_hash: engine.state_hash(),
    };
    Ok(Recovered { engine, report })
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

/// What a replay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Commands applied.
    pub applied: u64,
    /// Sequence of the last frame applied (0 if none).
    pub last_sequence: u64,
}

impl Replayed {
    /// The journal's last frame once `engine` has replayed it: the last frame applied, or the
    /// engine's own sequence when the replay applied nothing after it. (A rejected command has
    /// a frame but does not move [`Engine::last_sequence`]; the live engine logs this value.)
    pub fn last_journaled(&self, engine: &Engine) -> u64 {
        self.last_sequence.max(engine.last_sequence())
    }
}

/// Applies every journaled command after the engine's last accepted sequence (up to `to`),
/// handing the events to `sink`.
///
/// The engine's own sequence moves only on accepted commands, so frames of rejected commands
/// just after it are applied again: they meet the same state and are rejected again, which
/// changes nothing. That keeps replay correct from any snapshot without a second counter.
pub fn replay_into(
    engine: &mut Engine,
    journal: &Path,
    to: Option<u64>,
    sink: &mut impl EventSink,
    progress: bool,
) -> anyhow::Result<Replayed> {
    let from = engine.last_sequence() + 1;
    let mut applied = 0;
    let read = replay_read_ahead(journal, from, to, progress, |command| {
        engine.apply(command, sink);
        applied += 1;
    })?;
    if let Some((frame, command)) = read.mismatch {
        anyhow::bail!("journal frame {frame} holds a command stamped {command}: the journal is not this engine's");
    }
    Ok(Replayed {
        applied,
        last_sequence: read.last_sequence,
    })
}
