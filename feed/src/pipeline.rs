//! The engine's write path without its threads and input rings, for the feed's tests and
//! benchmark: each command goes through the hot loop's own step ([`Sequencer::poll`]: stamp
//! the next sequence and the time, append to the journal, apply to the real engine, publish),
//! with the output ring as the event sink, so the feed sees what it sees in production.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use pinwheel_engine::config::{EngineConfig, MarketTable};
use pinwheel_engine::message::*;
use pinwheel_engine::sequencer::Sequencer;
use pinwheel_engine::{Counters, Engine};
use pinwheel_journal::{Durability, DurableCursor, JournalConfig, JournalWriter, JOURNAL_DIR};
use pinwheel_ring::{ensure_run_dir, output_path, BroadcastWriter};

use pinwheel_candles::TradeRow;

/// Journal segment size used by the pipeline (small: tests make many short journals).
const SEGMENT_SIZE: u64 = 16 << 20;

/// One engine, its journal and its output ring, driven command by command.
pub struct EnginePipeline {
    sequencer: Box<Sequencer>,
    /// A reader's view of the cursor the journal's flusher publishes.
    durable: DurableCursor,
    ring: BroadcastWriter,
    counters: Counters,
    events: Vec<Event>,
}

impl EnginePipeline {
    /// A fresh exchange: journal in `<data_dir>/journal`, output ring of `ring_capacity`
    /// records in `run_dir`.
    pub fn create(
        config: &EngineConfig,
        run_dir: &Path,
        data_dir: &Path,
        ring_capacity: usize,
    ) -> anyhow::Result<Self> {
        let table = MarketTable::resolve(config).context("market configuration")?;
        ensure_run_dir(run_dir)?;
        let mut journal_config = JournalConfig::new(data_dir.join(JOURNAL_DIR), Durability::Async);
        journal_config.segment_size = SEGMENT_SIZE;
        let journal = JournalWriter::open(&journal_config, DurableCursor::create(run_dir)?, 1)?;
        let durable = DurableCursor::open(run_dir)?;
        let ring =
            BroadcastWriter::open_or_create(&output_path(run_dir), RECORD_SIZE, ring_capacity)?;
        let engine = Engine::new(table, &config.capacity);
        Ok(Self {
            sequencer: Box::new(Sequencer::new(engine, journal, 1, 1)),
            durable,
            ring,
            counters: Counters::new(),
            events: Vec::with_capacity(64),
        })
    }

    /// Waits (at most `limit`) until every command so far is durable, and so in the journal's
    /// files: the flusher copies frames there a moment after they are appended.
    pub fn wait_durable(&self, limit: Duration) -> anyhow::Result<()> {
        let sequence = self.sequence();
        if !self.durable.wait_for(sequence, limit) {
            self.sequencer.journal().health()?;
            anyhow::bail!("sequence {sequence} not durable within {limit:?}");
        }
        Ok(())
    }

    /// Runs one command as user `user_id`; returns its events (valid until the next call).
    pub fn submit<B: bytemuck::Pod>(
        &mut self,
        kind: CommandKind,
        user_id: u64,
        body: &B,
    ) -> &[Event] {
        let mut command = Command::from_user(kind, user_id, body);
        command.head.request_id = self.sequence() + 1;
        self.events.clear();
        let mut source: &[Command] = &[command];
        let mut sink = (&mut self.events, &mut self.ring);
        self.sequencer.poll(&mut source, &mut sink, &self.counters);
        &self.events
    }

    /// Creates a user and returns its id.
    pub fn create_user(&mut self, name: &str) -> anyhow::Result<u64> {
        let body = CreateUser::named(name).context("user name too long")?;
        let events = self.submit(CommandKind::CreateUser, 0, &body);
        anyhow::ensure!(
            events[0].head.kind == EventKind::UserCreated as u8,
            "creating user {name} was rejected"
        );
        Ok(events[0].body::<UserCreated>().user_id)
    }

    /// Credits `amount` units of `asset` to `user`.
    pub fn deposit(&mut self, user: u64, asset: u32, amount: i64) -> anyhow::Result<()> {
        let body = Transfer::of(asset, amount);
        let events = self.submit(CommandKind::Deposit, user, &body);
        anyhow::ensure!(
            events[0].head.kind == EventKind::Balance as u8,
            "deposit to user {user} was rejected"
        );
        Ok(())
    }

    /// A GTC limit order; returns its events.
    pub fn limit(
        &mut self,
        user: u64,
        market: u32,
        side: Side,
        price: i64,
        quantity: i64,
    ) -> &[Event] {
        let body = PlaceOrder::limit(market, side, TimeInForce::Gtc, price, quantity);
        self.submit(CommandKind::PlaceOrder, user, &body)
    }

    /// Makes one trade of `quantity` at `price` in `market`: `maker` rests an order on the
    /// side opposite `taker_side`, `taker` takes it. Returns the trade.
    pub fn trade(
        &mut self,
        maker: u64,
        taker: u64,
        market: u32,
        taker_side: Side,
        price: i64,
        quantity: i64,
    ) -> anyhow::Result<TradeRow> {
        let maker_side = match taker_side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        self.limit(maker, market, maker_side, price, quantity);
        let events = self.limit(taker, market, taker_side, price, quantity);
        events
            .iter()
            .find_map(TradeRow::from_event)
            .context("the crossing order did not trade (balances or capacity?)")
    }

    /// The last sequence stamped.
    pub fn sequence(&self) -> u64 {
        self.sequencer.last_sequence()
    }

    /// Flushes the journal and stops its threads.
    pub fn close(self) -> anyhow::Result<()> {
        self.sequencer.close()?;
        Ok(())
    }
}
