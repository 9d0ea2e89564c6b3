//! The engine's step, in one place: stamp, journal, apply, publish.
//!
//! [`Sequencer::poll`] is the unit of work of the engine thread. It copies a batch of commands
//! out of a [`CommandSource`] (the input rings in production, a slice in benchmarks and test
//! pipelines), then for each command stamps the next sequence and a never-decreasing time,
//! appends it to the journal's mapped segment (a memcpy; queries are not journaled) and applies
//! it, handing its events to an [`EventSink`] (the output ring in production). Once per batch it
//! hands the appended frames to the journal's flusher. The hot loop, `pinwheel bench journal`
//! and the feed's pipeline all call this code, so what is measured is what runs.
//!
//! Per command: no allocation, syscall, lock or log line (the clock is read through the vDSO).

use std::time::{SystemTime, UNIX_EPOCH};

use pinwheel_journal::{JournalError, JournalWriter};

use crate::message::{Command, CommandKind};
use crate::{Counters, Engine, EventSink};

/// Where commands come from: the input rings, or a slice of prepared commands.
pub trait CommandSource {
    /// Hands up to `max` commands to `take`, in order; returns how many it handed.
    fn drain(&mut self, max: usize, take: impl FnMut(Command)) -> usize;
}

/// A slice is drained from its front; what is left stays in the slice.
impl CommandSource for &[Command] {
    #[inline]
    fn drain(&mut self, max: usize, take: impl FnMut(Command)) -> usize {
        let (now, rest) = self.split_at(max.min(self.len()));
        *self = rest;
        now.iter().copied().for_each(take);
        now.len()
    }
}

/// Stamps commands with the next sequence number and a never-decreasing time.
#[derive(Clone, Copy, Debug)]
struct Stamper {
    next_sequence: u64,
    last_timestamp_ns: u64,
}

impl Stamper {
    /// Stamps `command`; returns whether it must be journaled (queries are not).
    #[inline]
    fn stamp(&mut self, command: &mut Command) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.last_timestamp_ns = self.last_timestamp_ns.max(now);
        command.head.timestamp_ns = self.last_timestamp_ns;
        if !is_journaled(command.head.kind) {
            // A query reads the state left by the last journaled command; an edge in sync
            // durability releases its answer once that sequence is durable.
            command.head.sequence = self.next_sequence - 1;
            return false;
        }
        command.head.sequence = self.next_sequence;
        self.next_sequence += 1;
        true
    }
}

/// Whether a command kind byte names a journaled command.
pub fn is_journaled(kind: u8) -> bool {
    !CommandKind::from_u8(kind).is_some_and(CommandKind::is_query)
}

/// The engine, its journal writer and its sequence: everything one step touches.
pub struct Sequencer {
    engine: Engine,
    journal: JournalWriter,
    stamper: Stamper,
    /// The commands of one poll, copied out of the source before any is journaled.
    pending: Vec<Command>,
    /// Most commands per poll (`pending` holds that many without growing).
    batch: usize,
}

impl Sequencer {
    /// Drives `engine` with `journal`, whose next frame is `next_sequence` (the recovered last
    /// sequence plus one); at most `batch` commands per poll (allocated here, once).
    pub fn new(engine: Engine, journal: JournalWriter, next_sequence: u64, batch: usize) -> Self {
        assert!(next_sequence >= 1, "sequences start at 1");
        assert!(batch >= 1, "a poll takes at least one command");
        Self {
            engine,
            journal,
            stamper: Stamper {
                next_sequence,
                last_timestamp_ns: 0,
            },
            pending: Vec::with_capacity(batch),
            batch,
        }
    }

    /// Takes up to a batch of commands from `source` and steps each (stamp, journal, apply,
    /// events to `sink`), then hands the batch's frames to the flusher. Returns how many.
    ///
    /// The commands are copied out (and, for the rings, their slots released) before any is
    /// journaled. A ring hands a record out again after a restart until its slot is released,
    /// so journaling inside the drain let a kill between the append and the release journal a
    /// command that the next engine journaled a second time. In this order a kill loses at most
    /// the unanswered commands of one poll, and applies none twice.
    #[inline]
    pub fn poll(
        &mut self,
        source: &mut impl CommandSource,
        sink: &mut impl EventSink,
        counters: &Counters,
    ) -> usize {
        let mut pending = std::mem::take(&mut self.pending);
        let drained = source.drain(self.batch, |command| pending.push(command));
        debug_assert!(
            pending.len() == drained && drained <= self.batch,
            "a source hands at most the batch asked for, so `pending` never grows"
        );
        for command in pending.iter_mut() {
            self.step(command, sink, counters);
        }
        pending.clear();
        self.pending = pending;
        if drained > 0 {
            self.publish();
        }
        drained
    }

    /// One step: stamps `command` in place, journals it (queries are not), applies it with its
    /// events to `sink`. Returns its sequence. [`Sequencer::publish`] hands the frame to the
    /// flusher; until then it is not on its way to disk.
    #[inline]
    pub fn step(
        &mut self,
        command: &mut Command,
        sink: &mut impl EventSink,
        counters: &Counters,
    ) -> u64 {
        if self.stamper.stamp(command) {
            self.journal.append(
                command.head.sequence,
                command.head.timestamp_ns,
                command.as_bytes(),
            );
        }
        self.engine.apply_counted(command, sink, counters);
        command.head.sequence
    }

    /// Hands every frame appended so far to the journal's flusher (once per batch).
    #[inline]
    pub fn publish(&mut self) {
        self.journal.publish();
    }

    /// The last sequence stamped on a journaled command.
    pub fn last_sequence(&self) -> u64 {
        self.stamper.next_sequence - 1
    }

    /// The engine, for inspection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The journal writer, for its statistics and health.
    pub fn journal(&self) -> &JournalWriter {
        &self.journal
    }

    /// Closes the journal (the flusher makes what is left durable) and returns the engine.
    pub fn close(self) -> Result<Engine, JournalError> {
        self.journal.close()?;
        Ok(self.engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EngineConfig, MarketTable};
    use crate::message::{Event, EventKind, Transfer, UserLookup};
    use pinwheel_journal::{Durability, DurableCursor, JournalConfig, JournalReader};

    #[test]
    fn queries_reuse_the_last_sequence_and_time_never_goes_back() {
        let mut stamper = Stamper {
            next_sequence: 10,
            last_timestamp_ns: u64::MAX - 1,
        };
        let mut deposit = Command::new(CommandKind::Deposit as u8, &Transfer::default());
        assert!(stamper.stamp(&mut deposit));
        assert_eq!(deposit.head.sequence, 10);
        assert_eq!(deposit.head.timestamp_ns, u64::MAX - 1);
        let mut query = Command::new(CommandKind::QueryUser as u8, &UserLookup::default());
        assert!(!stamper.stamp(&mut query));
        assert_eq!(query.head.sequence, 10);
        assert_eq!(stamper.next_sequence, 11);
        assert!(!is_journaled(CommandKind::QueryDepth as u8));
        assert!(is_journaled(CommandKind::PlaceOrder as u8));
    }

    #[test]
    fn a_slice_source_hands_out_its_front_and_keeps_the_rest() {
        let commands = [1, 2, 3].map(|user| {
            let mut command = Command::new(CommandKind::Deposit as u8, &Transfer::default());
            command.head.user_id = user;
            command
        });
        let mut source: &[Command] = &commands;
        let mut taken = Vec::new();
        assert_eq!(source.drain(2, |c| taken.push(c.head.user_id)), 2);
        assert_eq!(source.len(), 1);
        assert_eq!(source.drain(2, |c| taken.push(c.head.user_id)), 1);
        assert_eq!(source.drain(2, |c| taken.push(c.head.user_id)), 0);
        assert_eq!(taken, [1, 2, 3]);
    }

    #[test]
    fn a_poll_journals_what_it_applies_and_publishes_it_once_per_batch() {
        let dir = tempfile_dir("poll");
        let mut config = JournalConfig::new(dir.join("journal"), Durability::Sync);
        config.segment_size = 1 << 20;
        let durable = DurableCursor::create(&dir.join("run")).unwrap();
        let journal = pinwheel_journal::JournalWriter::open(&config, durable, 1).unwrap();
        let table = MarketTable::resolve(&EngineConfig::default()).unwrap();
        let mut capacity = EngineConfig::default().capacity;
        capacity.orders = 64;
        capacity.users = 8;
        capacity.api_keys = 8;
        capacity.price_levels = 64;
        let engine = Engine::new(table, &capacity);
        let mut sequencer = Sequencer::new(engine, journal, 1, 2);
        // A deposit to a user that does not exist (rejected, still journaled), a query (not
        // journaled), another deposit: two polls of at most two commands.
        let deposit = Command::new(CommandKind::Deposit as u8, &Transfer::default());
        let query = Command::new(CommandKind::QueryUser as u8, &UserLookup::default());
        let commands = [deposit, query, deposit];
        let mut source: &[Command] = &commands;
        let (mut events, counters) = (Vec::<Event>::new(), Counters::new());
        assert_eq!(sequencer.poll(&mut source, &mut events, &counters), 2);
        assert_eq!(sequencer.poll(&mut source, &mut events, &counters), 1);
        assert_eq!(sequencer.poll(&mut source, &mut events, &counters), 0);
        assert_eq!(sequencer.last_sequence(), 2);
        let done: Vec<u64> = events
            .iter()
            .filter(|e| e.head.kind == EventKind::Done as u8)
            .map(|e| e.head.sequence)
            .collect();
        assert_eq!(
            done,
            [1, 1, 2],
            "the query answers at the last journaled sequence"
        );
        sequencer.close().unwrap();
        let mut reader = JournalReader::open(&dir.join("journal"), 1).unwrap();
        let mut journaled = Vec::new();
        while let Some(frame) = reader.next().unwrap() {
            let command = Command::from_bytes(frame.payload);
            assert_eq!(command.head.sequence, frame.sequence);
            journaled.push((frame.sequence, command.head.kind));
        }
        let kind = CommandKind::Deposit as u8;
        assert_eq!(journaled, [(1, kind), (2, kind)]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn tempfile_dir(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pinwheel-sequencer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("run")).unwrap();
        dir
    }
}
