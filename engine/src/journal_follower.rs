//! The one follower of the journal: an engine rebuilt from a snapshot and the frames after it.
//!
//! Every reader of the journal for state goes through here: the engine's recovery and
//! `pinwheel journal replay` ([`replay_into`], read-ahead on two threads), the snapshot
//! follower, the feed's catch-up and the edge's history rebuild ([`JournalFollower::apply_next`],
//! one frame at a time while the journal grows). So all of them make the same checks:
//! - a snapshot is restored only if its body reads back, its state hash is the one its header
//!   records and its state stands at the sequence it is filed under;
//! - a frame is applied only if it holds one whole command stamped with the frame's own
//!   sequence ([`command_in`]);
//! - every error names the file (and for a frame, the byte offset) it was found at.

use std::path::{Path, PathBuf};

use pinwheel_journal::{
    latest_snapshot_at_most, segment_file_name, Frame, JournalError, JournalReader, JOURNAL_DIR,
    SNAPSHOT_DIR,
};

use crate::config::{Capacity, MarketTable};
use crate::message::{Command, RECORD_SIZE};
use crate::read_ahead::replay_read_ahead;
use crate::{Engine, EventSink};

/// Why the journal or a snapshot cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// A frame that does not hold this engine's command for its sequence.
    #[error("{}:{offset}: {problem}", path.display())]
    Frame {
        /// The segment file.
        path: PathBuf,
        /// Byte offset of the frame in it.
        offset: u64,
        /// What is wrong with it.
        problem: FrameProblem,
    },
    /// A snapshot that does not restore the state it records.
    #[error("snapshot {}: {reason}", path.display())]
    Snapshot {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The journal itself is damaged or unreadable (the error names file and offset).
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The read-ahead thread could not be started.
    #[error("starting the journal read-ahead thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// What is wrong with a frame's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameProblem {
    /// The command carries another sequence than its frame.
    #[error(
        "journal frame {frame} holds a command stamped {command}: the journal is not this engine's"
    )]
    Stamped {
        /// The frame's sequence.
        frame: u64,
        /// The sequence in the command's head.
        command: u64,
    },
    /// The payload is not one command record.
    #[error("journal frame {frame} holds {len} bytes, not a {RECORD_SIZE}-byte command")]
    NotACommand {
        /// The frame's sequence.
        frame: u64,
        /// Payload length.
        len: usize,
    },
}

impl FrameProblem {
    /// The sequence of the frame at fault.
    pub fn frame(&self) -> u64 {
        match *self {
            FrameProblem::Stamped { frame, .. } | FrameProblem::NotACommand { frame, .. } => frame,
        }
    }
}

/// The check every frame passes before it is applied: one whole command, stamped with the
/// frame's own sequence.
#[inline]
pub fn command_in(frame: &Frame<'_>) -> Result<Command, FrameProblem> {
    if frame.payload.len() != RECORD_SIZE {
        return Err(FrameProblem::NotACommand {
            frame: frame.sequence,
            len: frame.payload.len(),
        });
    }
    let command = Command::from_bytes(frame.payload);
    if command.head.sequence != frame.sequence {
        return Err(FrameProblem::Stamped {
            frame: frame.sequence,
            command: command.head.sequence,
        });
    }
    Ok(command)
}

/// The file and offset of the last frame `reader` read (the journal folder if it read none).
fn last_frame_at(reader: &JournalReader, journal: &Path) -> (PathBuf, u64) {
    reader
        .last_position()
        .map_or((journal.to_path_buf(), 0), |(index, offset)| {
            (journal.join(segment_file_name(index)), offset)
        })
}

/// The error for `problem`, located by reading the journal again up to its frame (an error
/// path: the read-ahead thread does not keep positions).
fn frame_error(journal: &Path, problem: FrameProblem) -> FollowError {
    let sequence = problem.frame();
    let (path, offset) = match JournalReader::open(journal, sequence) {
        Ok(mut reader) => {
            let found = matches!(reader.next(), Ok(Some(frame)) if frame.sequence == sequence);
            match found {
                true => last_frame_at(&reader, journal),
                false => (journal.to_path_buf(), 0),
            }
        }
        Err(_) => (journal.to_path_buf(), 0),
    };
    FollowError::Frame {
        path,
        offset,
        problem,
    }
}

/// The newest snapshot at or below `max_sequence` in `snapshots`, restored and checked (see
/// the module docs); `None` if there is none. Damaged snapshot files are passed over for an
/// older one, as [`pinwheel_journal::latest_snapshot`] says (logged at error level).
pub fn load_snapshot(
    snapshots: &Path,
    max_sequence: u64,
    table: MarketTable,
    capacity: &Capacity,
) -> Result<Option<(Engine, PathBuf, u64)>, FollowError> {
    let Some(snapshot) = latest_snapshot_at_most(snapshots, max_sequence)? else {
        return Ok(None);
    };
    let refused = |reason: String| FollowError::Snapshot {
        path: snapshot.path.clone(),
        reason,
    };
    let engine = Engine::read_snapshot(&mut snapshot.body.as_slice(), table, capacity)
        .map_err(|error| refused(format!("body does not restore: {error}")))?;
    if engine.state_hash() != snapshot.state_hash {
        return Err(refused(format!(
            "restores state hash {:016x}, but it records {:016x}",
            engine.state_hash(),
            snapshot.state_hash
        )));
    }
    if engine.last_sequence() != snapshot.sequence {
        return Err(refused(format!(
            "filed under sequence {}, but its state stands at sequence {}",
            snapshot.sequence,
            engine.last_sequence()
        )));
    }
    Ok(Some((engine, snapshot.path, snapshot.sequence)))
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
/// handing the events to `sink`; a reader thread reads and checks the frames ahead.
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
) -> Result<Replayed, FollowError> {
    let from = engine.last_sequence() + 1;
    replay_from(engine, journal, from, to, sink, progress)
}

fn replay_from(
    engine: &mut Engine,
    journal: &Path,
    from: u64,
    to: Option<u64>,
    sink: &mut impl EventSink,
    progress: bool,
) -> Result<Replayed, FollowError> {
    let mut applied = 0;
    let read = replay_read_ahead(journal, from, to, progress, |command| {
        engine.apply(command, sink);
        applied += 1;
    })?;
    if let Some(problem) = read.problem {
        return Err(frame_error(journal, problem));
    }
    Ok(Replayed {
        applied,
        last_sequence: read.last_sequence,
    })
}

/// An engine that follows `<data_dir>/journal` from a snapshot (or from the start).
pub struct JournalFollower {
    journal: PathBuf,
    engine: Engine,
    /// Opened at the first [`JournalFollower::apply_next`] after a start, a replay or a reopen.
    reader: Option<JournalReader>,
    /// Sequence of the last frame applied, or of the snapshot started from.
    last_sequence: u64,
    snapshot: Option<(PathBuf, u64)>,
}

impl JournalFollower {
    /// An engine restored from the newest snapshot in `<data_dir>/snapshots` at or below
    /// `snapshot_at_most` (`None`: no snapshot), or a fresh one, ready to follow the journal.
    pub fn start(
        data_dir: &Path,
        table: MarketTable,
        capacity: &Capacity,
        snapshot_at_most: Option<u64>,
    ) -> Result<Self, FollowError> {
        let loaded = match snapshot_at_most {
            Some(max) => load_snapshot(&data_dir.join(SNAPSHOT_DIR), max, table.clone(), capacity)?,
            None => None,
        };
        let (engine, snapshot) = match loaded {
            Some((engine, path, sequence)) => (engine, Some((path, sequence))),
            None => (Engine::new(table, capacity), None),
        };
        Ok(Self {
            journal: data_dir.join(JOURNAL_DIR),
            last_sequence: snapshot.as_ref().map_or(0, |(_, sequence)| *sequence),
            engine,
            reader: None,
            snapshot,
        })
    }

    /// Replays the frames after the last one applied (up to `to`) with read-ahead, events to
    /// `sink`: the fast way through a long journal that is not growing.
    pub fn replay(
        &mut self,
        to: Option<u64>,
        sink: &mut impl EventSink,
        progress: bool,
    ) -> Result<Replayed, FollowError> {
        self.reader = None;
        let from = self.last_sequence + 1;
        let replayed = replay_from(&mut self.engine, &self.journal, from, to, sink, progress)?;
        self.last_sequence = self.last_sequence.max(replayed.last_sequence);
        Ok(replayed)
    }

    /// Applies the next frame at or below `limit` (a durable cursor, say), events to `sink`;
    /// returns its sequence, or `None` if there is no such frame yet.
    pub fn apply_next(
        &mut self,
        limit: u64,
        sink: &mut impl EventSink,
    ) -> Result<Option<u64>, FollowError> {
        let reader = match &mut self.reader {
            Some(reader) => reader,
            None => self
                .reader
                .insert(JournalReader::open(&self.journal, self.last_sequence + 1)?),
        };
        let Some(frame) = reader.next_at_most(limit)? else {
            return Ok(None);
        };
        let sequence = frame.sequence;
        debug_assert!(sequence > self.last_sequence, "the reader moves forward");
        let command = command_in(&frame).map_err(|problem| {
            let (path, offset) = last_frame_at(reader, &self.journal);
            FollowError::Frame {
                path,
                offset,
                problem,
            }
        })?;
        self.engine.apply(&command, sink);
        self.last_sequence = sequence;
        Ok(Some(sequence))
    }

    /// Looks at the journal afresh at the next [`JournalFollower::apply_next`] (after a pause,
    /// in which the engine may have restarted and rewritten its unsynced tail).
    pub fn reopen(&mut self) {
        self.reader = None;
    }

    /// Sequence of the last frame applied (accepted or rejected), or of the snapshot.
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// The snapshot the follower started from: its file and sequence.
    pub fn snapshot(&self) -> Option<&(PathBuf, u64)> {
        self.snapshot.as_ref()
    }

    /// The engine as it stands.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, for the caller to keep.
    pub fn into_engine(self) -> Engine {
        self.engine
    }
}
