//! Catching up from the journal: trades the output ring no longer holds (after a restart of
//! the feed, or a lap) are recomputed by replaying the journal through the feed's own engine.
//! The engine is deterministic, so the trades (ids, prices, times) are the ones the live
//! engine made.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use pinwheel_engine::config::{Capacity, MarketTable};
use pinwheel_engine::message::{Command, Event, RECORD_SIZE};
use pinwheel_engine::Engine;
use pinwheel_journal::{latest_snapshot, DurableCursor, JournalReader, JOURNAL_DIR, SNAPSHOT_DIR};
use tracing::info;

use pinwheel_candles::TradeRow;

/// Frames between progress updates.
const PROGRESS_EVERY: u64 = 1 << 14;

/// An engine that follows the journal on demand, starting from nothing or a snapshot.
pub struct JournalCatchUp {
    journal_dir: PathBuf,
    snapshot_dir: PathBuf,
    table: MarketTable,
    capacity: Capacity,
    engine: Option<Box<Engine>>,
    replayed_to: u64,
    events: Vec<Event>,
}

impl JournalCatchUp {
    /// Replays `<data_dir>/journal`, starting from a snapshot in `<data_dir>/snapshots` when
    /// one is old enough.
    pub fn new(data_dir: &Path, table: MarketTable, capacity: Capacity) -> Self {
        Self {
            journal_dir: data_dir.join(JOURNAL_DIR),
            snapshot_dir: data_dir.join(SNAPSHOT_DIR),
            table,
            capacity,
            engine: None,
            replayed_to: 0,
            events: Vec::with_capacity(256),
        }
    }

    /// The last command sequence applied.
    pub fn replayed_to(&self) -> u64 {
        self.replayed_to
    }

    /// Applies journaled commands not applied yet, up to sequence `until` (inclusive;
    /// `u64::MAX`: up to the journal's end) and hands each trade with an id above
    /// `after_trade_id` to `ship`. Returns how many it handed over.
    ///
    /// With `durable`, only durable commands are applied (an engine crash in async mode cuts
    /// the rest and reuses their sequences); a finite `until` not yet durable is waited for,
    /// in short steps, until `stop`.
    pub fn run(
        &mut self,
        after_trade_id: u64,
        after_sequence: u64,
        until: u64,
        durable: Option<&DurableCursor>,
        stop: &AtomicBool,
        mut ship: impl FnMut(&TradeRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        self.run_commands(after_sequence, until, durable, stop, |events| {
            let mut shipped = 0;
            for trade in events.iter().filter_map(TradeRow::from_event) {
                if trade.trade_id > after_trade_id {
                    ship(&trade)?;
                    shipped += 1;
                }
            }
            Ok(shipped)
        })
    }

    /// As [`JournalCatchUp::run`], but hands `on_command` all the events of each applied
    /// command (in order, ending with `Done`), for readers that need more than trades (an
    /// edge's fills need the whole batch to tell maker from taker). `on_command` returns how
    /// many items it took; the sum is returned.
    pub fn run_commands(
        &mut self,
        after_sequence: u64,
        until: u64,
        durable: Option<&DurableCursor>,
        stop: &AtomicBool,
        mut on_command: impl FnMut(&[Event]) -> anyhow::Result<u64>,
    ) -> anyhow::Result<u64> {
        if self.engine.is_none() {
            self.start_engine(after_sequence)?;
        }
        let mut reader = JournalReader::open(&self.journal_dir, self.replayed_to + 1)
            .with_context(|| format!("opening the journal {}", self.journal_dir.display()))?;
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template(
            "feed catch-up {spinner} {msg}",
        )?);
        bar.enable_steady_tick(Duration::from_millis(200));
        let (mut frames, mut shipped) = (0u64, 0u64);
        loop {
            let limit = until.min(durable.map_or(u64::MAX, DurableCursor::get));
            let Some(frame) = reader.next_at_most(limit)? else {
                // A frame reaches the segment file only when the flusher copies it there,
                // so "not durable yet" can look like the journal's end: wait while the
                // durable cursor is below a finite `until`.
                let waiting_for_durability = limit < until
                    && until != u64::MAX
                    && self.replayed_to < until
                    && !stop.load(Relaxed);
                if waiting_for_durability {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                break;
            };
            if frame.sequence <= self.replayed_to {
                continue;
            }
            self.apply_frame(frame.sequence, frame.timestamp_ns, frame.payload);
            shipped += on_command(&self.events)?;
            frames += 1;
            if frames % PROGRESS_EVERY == 0 {
                bar.set_message(format!("{frames} commands, {shipped} taken"));
                if stop.load(Relaxed) {
                    break;
                }
            }
        }
        bar.finish_and_clear();
        if frames > 0 {
            info!(
                frames,
                shipped,
                replayed_to = self.replayed_to,
                "feed: caught up from the journal"
            );
        }
        Ok(shipped)
    }

    /// Applies one journaled command; its events are left in `self.events`.
    fn apply_frame(&mut self, sequence: u64, timestamp_ns: u64, payload: &[u8]) {
        assert!(
            payload.len() >= RECORD_SIZE,
            "journal frame {sequence} holds {} bytes, not a command",
            payload.len()
        );
        let engine = self.engine.as_mut().expect("started before replaying");
        let mut command = Command::from_bytes(payload);
        command.head.sequence = sequence;
        command.head.timestamp_ns = timestamp_ns;
        self.events.clear();
        engine.apply(&command, &mut self.events);
        self.replayed_to = sequence;
    }

    /// A fresh engine, or one from the newest snapshot taken before `after_sequence` (a
    /// snapshot at that very sequence could sit inside a half-shipped command).
    fn start_engine(&mut self, after_sequence: u64) -> anyhow::Result<()> {
        let snapshot = match latest_snapshot(&self.snapshot_dir) {
            Ok(Some(snapshot)) if snapshot.sequence < after_sequence => Some(snapshot),
            _ => None,
        };
        let engine = match snapshot {
            Some(snapshot) => {
                let engine = Engine::read_snapshot(
                    &mut snapshot.body.as_slice(),
                    self.table.clone(),
                    &self.capacity,
                )
                .with_context(|| format!("reading snapshot {}", snapshot.path.display()))?;
                info!(
                    sequence = snapshot.sequence,
                    "feed: catch-up starts from a snapshot"
                );
                self.replayed_to = snapshot.sequence;
                engine
            }
            None => Engine::new(self.table.clone(), &self.capacity),
        };
        self.engine = Some(Box::new(engine));
        Ok(())
    }
}
