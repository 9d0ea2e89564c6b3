//! Ships trades to QuestDB over ILP/HTTP with questdb-rs: batched by size and time, each
//! batch one HTTP request acknowledged by the server, retried with backoff while QuestDB is
//! down or slow. The cursor (highest acknowledged trade id) only moves on an acknowledgement,
//! and the table deduplicates, so every trade lands exactly once.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinwheel_candles::questdb_http::QuestDbHttp;
use pinwheel_candles::trade_row::{side_name, TradeRow};
use pinwheel_journal::DurableCursor;
use questdb::ingress::{Buffer, Sender, TimestampNanos};
use tracing::info;

use crate::error::{FeedError, Result};
use crate::ilp_link::{Batch, Link, SenderThread, REQUEST_TIMEOUT};
use crate::schema::{ensure_table, read_cursor, Cursor};
use crate::status::FeedStatus;

/// Where and how to ship.
#[derive(Clone, Debug)]
pub struct ShipperConfig {
    /// QuestDB's HTTP address, e.g. `http://127.0.0.1:9000`.
    pub questdb: String,
    /// Table name.
    pub table: String,
    /// A batch is sent when it holds this many rows ...
    pub batch_rows: usize,
    /// ... or when its oldest row has waited this long.
    pub batch_interval: Duration,
}

/// The batch being filled, the one in flight, and the acknowledged cursor.
pub struct TradeShipper {
    config: ShipperConfig,
    symbols: Vec<String>,
    /// The batch being filled.
    buffer: Buffer,
    /// An empty buffer to swap in, None while its batch is in flight.
    spare: Option<Buffer>,
    /// Last trade of the batch in flight and its row count.
    in_flight: Option<(Cursor, u64)>,
    batch_last: Cursor,
    batch_started: Option<(Instant, u64)>,
    cursor: Cursor,
    status: Arc<FeedStatus>,
    sender: SenderThread,
}

fn sender_conf(http: &QuestDbHttp) -> String {
    format!(
        "http::addr={};protocol_version=2;retry_timeout=0;request_timeout={};",
        http.host_port(),
        REQUEST_TIMEOUT.as_millis()
    )
}

impl TradeShipper {
    /// Connects: creates the table if missing and reads the cursor back, waiting with
    /// backoff while QuestDB is unreachable (until `stop` is set). `symbols[market_id]`
    /// names each market.
    pub fn connect(
        config: ShipperConfig,
        symbols: Vec<String>,
        status: Arc<FeedStatus>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self> {
        Self::connect_gated(config, symbols, status, stop, None)
    }

    /// Like [`TradeShipper::connect`], shipping a trade only once the journal made its
    /// command durable (`durable`): a trade the engine published but lost in a crash (async
    /// durability) would otherwise sit in QuestDB under an id the restarted engine gives to
    /// another trade.
    pub fn connect_gated(
        config: ShipperConfig,
        symbols: Vec<String>,
        status: Arc<FeedStatus>,
        stop: Arc<AtomicBool>,
        durable: Option<DurableCursor>,
    ) -> Result<Self> {
        assert!(config.batch_rows > 0, "batch_rows must be positive");
        let http = QuestDbHttp::new(&config.questdb)?;
        let sender = Sender::from_conf(sender_conf(&http))
            .map_err(|e| FeedError::questdb(format!("ILP sender for {}: {e}", config.questdb)))?;
        let (buffer, spare) = (sender.new_buffer(), sender.new_buffer());
        let stops = [stop, Arc::new(AtomicBool::new(false))];
        let mut link = Link::new(&config.questdb, status.clone(), stops.clone());
        let cursor = link.retry("reading the cursor", || {
            ensure_table(&http, &config.table)?;
            Ok(read_cursor(&http, &config.table)?)
        })?;
        let [_, own_stop] = stops;
        let shipper = Self {
            sender: SenderThread::start(sender, link, durable, own_stop)?,
            config,
            symbols,
            buffer,
            spare: Some(spare),
            in_flight: None,
            batch_last: cursor,
            batch_started: None,
            cursor,
            status,
        };
        shipper.publish_cursor();
        info!(
            table = %shipper.config.table,
            trade_id = cursor.trade_id,
            sequence = cursor.sequence,
            "feed: shipping resumes after the cursor read back from QuestDB"
        );
        Ok(shipper)
    }

    /// The highest trade id and sequence QuestDB acknowledged.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// Rows waiting in the open batch.
    pub fn pending_rows(&self) -> usize {
        self.buffer.row_count()
    }

    /// Adds a trade to the batch (skipping it when at or below the last one taken: already
    /// shipped) and hands the batch to the sender thread when full. Returns whether the
    /// trade was new.
    pub fn push(&mut self, trade: &TradeRow) -> Result<bool> {
        if trade.trade_id <= self.batch_last.trade_id {
            return Ok(false);
        }
        self.append(trade)?;
        self.batch_last = Cursor {
            trade_id: trade.trade_id,
            sequence: trade.sequence,
        };
        if self.batch_started.is_none() {
            self.batch_started = Some((Instant::now(), trade.timestamp_ns as u64));
            if self.in_flight.is_none() {
                self.status
                    .oldest_unshipped_ns
                    .store(trade.timestamp_ns as u64, Relaxed);
            }
        }
        if self.buffer.row_count() >= self.config.batch_rows {
            self.dispatch()?;
        }
        Ok(true)
    }

    /// Takes in an acknowledgement if one arrived, and hands the batch over if its oldest
    /// row has waited `batch_interval`.
    pub fn poll(&mut self) -> Result<()> {
        if self.in_flight.is_some() {
            if let Some(done) = self.sender.try_collect() {
                self.acknowledged(done?);
            }
        }
        match self.batch_started {
            Some((started, _)) if started.elapsed() >= self.config.batch_interval => {
                self.dispatch()
            }
            _ => Ok(()),
        }
    }

    /// Sends everything taken so far and waits until QuestDB acknowledged it, retrying with
    /// backoff, or until `stop` is set (then `Err(Stopped)`: the rows are lost from memory,
    /// not from the journal; the cursor did not move, so the next start ships them again).
    pub fn flush(&mut self) -> Result<()> {
        self.dispatch()?;
        self.wait_in_flight()
    }

    /// Hands the open batch to the sender thread, first waiting for the one in flight.
    fn dispatch(&mut self) -> Result<()> {
        if self.batch_started.is_none() {
            return Ok(());
        }
        self.wait_in_flight()?;
        let rows = self.buffer.row_count() as u64;
        let spare = self
            .spare
            .take()
            .expect("no batch in flight, so the spare is here");
        let buffer = std::mem::replace(&mut self.buffer, spare);
        self.sender.send(Batch {
            buffer,
            last: self.batch_last,
        })?;
        self.in_flight = Some((self.batch_last, rows));
        self.batch_started = None;
        Ok(())
    }

    fn wait_in_flight(&mut self) -> Result<()> {
        if self.in_flight.is_some() {
            let batch = self.sender.collect()?;
            self.acknowledged(batch);
        }
        Ok(())
    }

    fn acknowledged(&mut self, batch: Batch) {
        let (last, rows) = self
            .in_flight
            .take()
            .expect("an acknowledgement answers a batch");
        debug_assert_eq!(last, batch.last);
        debug_assert!(batch.buffer.is_empty());
        self.spare = Some(batch.buffer);
        self.cursor = last;
        let oldest = self.batch_started.map_or(0, |(_, first_ns)| first_ns);
        self.status.oldest_unshipped_ns.store(oldest, Relaxed);
        self.status.shipped_total.fetch_add(rows, Relaxed);
        self.publish_cursor();
    }

    fn append(&mut self, trade: &TradeRow) -> Result<()> {
        let fallback;
        let symbol = match self.symbols.get(trade.market as usize) {
            Some(symbol) => symbol.as_str(),
            None => {
                fallback = format!("market-{}", trade.market);
                &fallback
            }
        };
        self.buffer
            .table(self.config.table.as_str())
            .and_then(|b| b.symbol("symbol", symbol))
            .and_then(|b| b.symbol("side", side_name(trade.taker_side)))
            .and_then(|b| b.column_i64("trade_id", trade.trade_id as i64))
            .and_then(|b| b.column_i64("sequence", trade.sequence as i64))
            .and_then(|b| b.column_i64("price", trade.price))
            .and_then(|b| b.column_i64("quantity", trade.quantity))
            .and_then(|b| b.column_i64("maker_order_id", trade.maker_order_id as i64))
            .and_then(|b| b.column_i64("taker_order_id", trade.taker_order_id as i64))
            .and_then(|b| b.at(TimestampNanos::new(trade.timestamp_ns)))
            .map_err(|e| FeedError::questdb(format!("encoding trade {}: {e}", trade.trade_id)))
    }

    fn publish_cursor(&self) {
        self.status
            .shipped_trade_id
            .store(self.cursor.trade_id, Relaxed);
        self.status
            .shipped_sequence
            .store(self.cursor.sequence, Relaxed);
    }
}
