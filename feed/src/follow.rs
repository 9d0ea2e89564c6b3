//! `pinwheel feed`: follow the engine's output ring and ship every trade to QuestDB.
//!
//! Order of work, so that no trade is ever missing: attach to the ring first (it keeps what
//! is published from now on), then replay the journal to its end (the engine journals a
//! command before it publishes its events, so the journal covers everything before the
//! attach point), then read the ring. The shipper skips trades at or below the highest id it
//! has, so the overlap costs nothing. A lap repeats the journal step.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use pinwheel_candles::TradeRow;
use pinwheel_engine::config::MarketTable;
use pinwheel_engine::message::{Event, RECORD_SIZE};
use pinwheel_journal::DurableCursor;
use pinwheel_ring::{output_path, BroadcastReader, RingError, WaitStrategy, Waiter};
use tracing::{info, warn};

use crate::catch_up::JournalCatchUp;
use crate::config::FeedConfig;
use crate::error::FeedError;
use crate::shipper::{ShipperConfig, TradeShipper};
use crate::status::FeedStatus;

/// How often the metrics file is rewritten.
const METRICS_EVERY: Duration = Duration::from_secs(1);
/// How long one attempt to attach to the output ring waits for the file.
const ATTACH_WAIT: Duration = Duration::from_secs(1);

/// Runs the feed until SIGTERM or SIGINT (then flushes what it holds and returns).
pub fn run(config: FeedConfig) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("installing signal handlers")?;
    }
    run_until(config, stop, Arc::new(FeedStatus::default()))
}

/// Runs the feed until `stop` is set; `status` is updated as it goes (tests, benches).
/// Stopping while QuestDB (or the journal's durability) holds trades back is a clean stop:
/// the cursor did not move, the next start ships them.
pub fn run_until(
    config: FeedConfig,
    stop: Arc<AtomicBool>,
    status: Arc<FeedStatus>,
) -> anyhow::Result<()> {
    match run_feed(config, stop, status) {
        Err(error) if matches!(error.downcast_ref(), Some(FeedError::Stopped)) => {
            warn!("feed: stopped with trades not yet acknowledged; they ship at the next start");
            Ok(())
        }
        outcome => outcome,
    }
}

fn run_feed(
    config: FeedConfig,
    stop: Arc<AtomicBool>,
    status: Arc<FeedStatus>,
) -> anyhow::Result<()> {
    let Some(questdb) = config.questdb.clone() else {
        info!(
            "feed: no QuestDB configured (feed.questdb); the edges keep the embedded candle store"
        );
        return Ok(());
    };
    let wait: WaitStrategy = config
        .wait
        .parse()
        .map_err(|e| anyhow::anyhow!("feed.wait: {e}"))?;
    if config.batch_rows == 0 {
        bail!("feed.batch_rows must be positive");
    }
    let table = MarketTable::resolve(&config.engine).context("market configuration")?;
    let symbols = table.markets.iter().map(|m| m.symbol.clone()).collect();
    let shipper_config = ShipperConfig {
        questdb,
        table: config.table.clone(),
        batch_rows: config.batch_rows,
        batch_interval: config.batch_interval(),
    };
    let journal = JournalCatchUp::new(&config.data_dir, table, config.engine.capacity.clone());
    let Some(reader) = attach(&config.run_dir, &stop)? else {
        return Ok(());
    };
    // The engine creates the durable cursor before its output ring.
    let durable = match DurableCursor::open(&config.run_dir) {
        Ok(durable) => Some(durable),
        Err(error) => {
            warn!(%error, "feed: no durable cursor; shipping trades without waiting for the journal");
            None
        }
    };
    // The sender thread gates on its own view of the cursor; catch-up reads this one.
    let shipper_durable = match &durable {
        Some(_) => Some(DurableCursor::open(&config.run_dir)?),
        None => None,
    };
    let shipper = TradeShipper::connect_gated(
        shipper_config,
        symbols,
        status.clone(),
        stop.clone(),
        shipper_durable,
    )?;
    let mut feed = Feed {
        reader,
        journal,
        shipper,
        durable,
        run_dir: config.run_dir.clone(),
        stop,
        status,
        check_gap: true,
    };
    let outcome = feed
        .catch_up(u64::MAX)
        .and_then(|()| feed.follow(wait))
        .and_then(|()| Ok(feed.shipper.flush()?));
    feed.status.write_to(&feed.run_dir).ok();
    info!(cursor = ?feed.shipper.cursor(), "feed: stopped");
    outcome
}

/// Attaches at the ring's end, waiting (in bounded steps, logged once) for the engine to
/// create it. None when stopped first.
fn attach(run_dir: &Path, stop: &AtomicBool) -> anyhow::Result<Option<BroadcastReader>> {
    let path = output_path(run_dir);
    let mut logged = false;
    while !stop.load(Relaxed) {
        match BroadcastReader::attach_waiting(&path, 0, ATTACH_WAIT) {
            Ok(mut reader) => {
                reader.skip_to_latest();
                anyhow::ensure!(
                    reader.record_size() == RECORD_SIZE,
                    "{} carries {}-byte records, not Pinwheel events",
                    path.display(),
                    reader.record_size()
                );
                return Ok(Some(reader));
            }
            Err(RingError::Timeout { .. }) => {
                if !logged {
                    info!(path = %path.display(), "feed: waiting for the engine's output ring");
                    logged = true;
                }
            }
            Err(error) => return Err(error).context("attaching to the output ring"),
        }
    }
    Ok(None)
}

/// The running feed: ring reader, journal catch-up, shipper.
struct Feed {
    reader: BroadcastReader,
    journal: JournalCatchUp,
    shipper: TradeShipper,
    durable: Option<DurableCursor>,
    run_dir: PathBuf,
    stop: Arc<AtomicBool>,
    status: Arc<FeedStatus>,
    /// Set at start and after a lap: the next ring event tells whether the journal must
    /// fill a gap before it.
    check_gap: bool,
}

impl Feed {
    /// Ships every journaled trade above the cursor up to command `until`, waits for the
    /// acknowledgement.
    fn catch_up(&mut self, until: u64) -> anyhow::Result<()> {
        let cursor = self.shipper.cursor();
        let shipper = &mut self.shipper;
        self.journal.run(
            cursor.trade_id,
            cursor.sequence,
            until,
            self.durable.as_ref(),
            &self.stop,
            |trade| {
                shipper.push(trade)?;
                Ok(())
            },
        )?;
        self.shipper.flush()?;
        Ok(())
    }

    /// After a start or a lap, the first event read from the ring may come after commands
    /// the ring no longer holds: the journal supplies them, up to and including the event's
    /// own command (whose earlier events may be gone too).
    fn fill_gap_before(&mut self, sequence: u64) -> anyhow::Result<()> {
        if !std::mem::take(&mut self.check_gap) || sequence <= self.journal.replayed_to() {
            return Ok(());
        }
        self.catch_up(sequence)
    }

    /// Reads the ring until stopped; a lap sends it back to the journal.
    fn follow(&mut self, wait: WaitStrategy) -> anyhow::Result<()> {
        let mut waiter = Waiter::new(wait);
        let mut record = [0u8; RECORD_SIZE];
        let mut metrics_due = Instant::now();
        while !self.stop.load(Relaxed) {
            match self.reader.try_next(&mut record) {
                Ok(Some(_)) => {
                    waiter.reset();
                    let event = Event::from_bytes(&record);
                    self.fill_gap_before(event.head.sequence)?;
                    self.status
                        .seen_sequence
                        .fetch_max(event.head.sequence, Relaxed);
                    if let Some(trade) = TradeRow::from_event(&event) {
                        self.shipper.push(&trade)?;
                    }
                }
                Ok(None) => {
                    self.shipper.poll()?;
                    if Instant::now() >= metrics_due {
                        metrics_due = Instant::now() + METRICS_EVERY;
                        if let Err(error) = self.status.write_to(&self.run_dir) {
                            warn!(%error, "feed: cannot write the metrics file");
                        }
                    }
                    // Parks on the ring's doorbell (`park`); the engine rings it per batch.
                    let reader = &self.reader;
                    waiter.idle_on(reader.doorbell(), || reader.has_next());
                }
                Err(lapped) => {
                    self.status.laps_total.fetch_add(1, Relaxed);
                    warn!(
                        ?lapped,
                        "feed: lapped by the output ring; catching up from the journal"
                    );
                    self.check_gap = true;
                }
            }
        }
        Ok(())
    }
}
