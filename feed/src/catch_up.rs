//! Catching up from the journal: trades the output ring no longer holds (after a restart of
//! the feed, or a lap) are recomputed by replaying the journal through the feed's own engine.
//! The engine is deterministic, so the trades (ids, prices, times) are the ones the live
//! engine made. The journal is read by the engine's own [`JournalFollower`], with its checks
//! (snapshot state hash, each frame's command stamped with the frame's sequence).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use pinwheel_engine::config::{Capacity, MarketTable};
use pinwheel_engine::journal_follower::JournalFollower;
use pinwheel_engine::message::Event;
use pinwheel_journal::DurableCursor;
use tracing::info;

use pinwheel_candles::TradeRow;

/// Frames between progress updates.
const PROGRESS_EVERY: u64 = 1 << 14;

/// An engine that follows the journal on demand, starting from nothing or a snapshot.
pub struct JournalCatchUp {
    data_dir: PathBuf,
    table: MarketTable,
    capacity: Capacity,
    /// Started at the first run, from a snapshot old enough for its cursor.
    follower: Option<Box<JournalFollower>>,
    events: Vec<Event>,
}

impl JournalCatchUp {
    /// Replays `<data_dir>/journal`, starting from a snapshot in `<data_dir>/snapshots` when
    /// one is old enough.
    pub fn new(data_dir: &Path, table: MarketTable, capacity: Capacity) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            table,
            capacity,
            follower: None,
            events: Vec::with_capacity(256),
        }
    }

    /// The last command sequence applied.
    pub fn replayed_to(&self) -> u64 {
        self.follower.as_ref().map_or(0, |f| f.last_sequence())
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
        self.start(after_sequence)?;
        let follower = self.follower.as_mut().expect("started above");
        // The engine may have restarted since the last run and rewritten its unsynced tail.
        follower.reopen();
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template(
            "feed catch-up {spinner} {msg}",
        )?);
        bar.enable_steady_tick(Duration::from_millis(200));
        let (mut frames, mut shipped) = (0u64, 0u64);
        loop {
            let limit = until.min(durable.map_or(u64::MAX, DurableCursor::get));
            self.events.clear();
            if follower.apply_next(limit, &mut self.events)?.is_none() {
                // A frame reaches the segment file only when the flusher copies it there,
                // so "not durable yet" can look like the journal's end: wait while the
                // durable cursor is below a finite `until`.
                let waiting_for_durability = limit < until
                    && until != u64::MAX
                    && follower.last_sequence() < until
                    && !stop.load(Relaxed);
                if waiting_for_durability {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                break;
            }
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
                replayed_to = follower.last_sequence(),
                "feed: caught up from the journal"
            );
        }
        Ok(shipped)
    }

    /// The follower, started at the first call: from the newest snapshot taken before
    /// `after_sequence` (a snapshot at that very sequence could sit inside a half-shipped
    /// command), or from the journal's start.
    fn start(&mut self, after_sequence: u64) -> anyhow::Result<()> {
        if self.follower.is_none() {
            let follower = JournalFollower::start(
                &self.data_dir,
                self.table.clone(),
                &self.capacity,
                after_sequence.checked_sub(1),
            )
            .with_context(|| format!("starting the catch-up of {}", self.data_dir.display()))?;
            if let Some((path, sequence)) = follower.snapshot() {
                info!(sequence, file = %path.display(), "feed: catch-up starts from a snapshot");
            }
            self.follower = Some(Box::new(follower));
        }
        Ok(())
    }
}
