//! Ships trades to QuestDB over ILP/HTTP with questdb-rs: batched by size and time, each
//! batch one HTTP request acknowledged by the server, retried with backoff while QuestDB is
//! down or slow. The cursor (highest acknowledged trade id) only moves on an acknowledgement,
//! and the table deduplicates, so every trade lands exactly once.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinwheel_journal::DurableCursor;
use questdb::ingress::{Buffer, Sender, TimestampNanos};
use tracing::{info, warn};

use crate::error::{FeedError, Result};
use crate::questdb_http::QuestDbHttp;
use crate::schema::{ensure_table, read_cursor, Cursor};
use crate::status::FeedStatus;
use crate::trade_row::{side_name, TradeRow};

/// First retry delay after a failure; doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Longest retry delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Longest one ILP request may take before it counts as failed (and is retried).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A batch waiting this long for the journal to make it durable is logged (once).
pub const DURABILITY_WARN_AFTER: Duration = Duration::from_secs(5);

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

/// Whether QuestDB took the last request; changes are logged once each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    Unknown,
    Up,
    Down,
}

/// The shipping state: one open batch, the acknowledged cursor, the link state.
pub struct TradeShipper {
    config: ShipperConfig,
    http: QuestDbHttp,
    sender: Sender,
    buffer: Buffer,
    symbols: Vec<String>,
    cursor: Cursor,
    batch_last: Cursor,
    batch_started: Option<Instant>,
    link: Link,
    status: Arc<FeedStatus>,
    stop: Arc<AtomicBool>,
    durable: Option<DurableCursor>,
}

impl TradeShipper {
    /// Connects: creates the table if missing and reads the cursor back, waiting with
    /// backoff while QuestDB is unreachable (until `stop` is set).
    /// `symbols[market_id]` names each market.
    pub fn connect(
        config: ShipperConfig,
        symbols: Vec<String>,
        status: Arc<FeedStatus>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self> {
        assert!(config.batch_rows > 0, "batch_rows must be positive");
        let http = QuestDbHttp::new(&config.questdb)?;
        let conf = format!(
            "http::addr={};protocol_version=2;retry_timeout=0;request_timeout={};",
            http.host_port(),
            REQUEST_TIMEOUT.as_millis()
        );
        let sender = Sender::from_conf(&conf)
            .map_err(|e| FeedError::QuestDb(format!("ILP sender for {conf}: {e}")))?;
        let buffer = sender.new_buffer();
        let mut shipper = Self {
            config,
            http,
            sender,
            buffer,
            symbols,
            cursor: Cursor::default(),
            batch_last: Cursor::default(),
            batch_started: None,
            link: Link::Unknown,
            status,
            stop,
            durable: None,
        };
        shipper.cursor = shipper.retry("reading the cursor", |s| {
            ensure_table(&s.http, &s.config.table)?;
            read_cursor(&s.http, &s.config.table)
        })?;
        shipper.batch_last = shipper.cursor;
        shipper.publish_cursor();
        info!(
            table = %shipper.config.table,
            trade_id = shipper.cursor.trade_id,
            sequence = shipper.cursor.sequence,
            "feed: shipping resumes after the cursor read back from QuestDB"
        );
        Ok(shipper)
    }

    /// Ships a trade only once the journal made its command durable: a trade the engine
    /// published but lost in a crash (async durability) would otherwise sit in QuestDB under
    /// an id the restarted engine gives to another trade.
    pub fn gate_on(&mut self, durable: DurableCursor) {
        self.durable = Some(durable);
    }

    /// The highest trade id and sequence QuestDB acknowledged.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// Rows waiting in the open batch.
    pub fn pending_rows(&self) -> usize {
        self.buffer.row_count()
    }

    /// Adds a trade to the batch (skipping it when at or below the cursor: already shipped)
    /// and sends the batch when full. Returns whether the trade was new.
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
            self.batch_started = Some(Instant::now());
            self.status
                .oldest_unshipped_ns
                .store(trade.timestamp_ns as u64, Relaxed);
        }
        if self.buffer.row_count() >= self.config.batch_rows {
            self.flush()?;
        }
        Ok(true)
    }

    /// Sends the batch if its oldest row has waited `batch_interval`.
    pub fn poll(&mut self) -> Result<()> {
        match self.batch_started {
            Some(started) if started.elapsed() >= self.config.batch_interval => self.flush(),
            _ => Ok(()),
        }
    }

    /// Sends the batch now, retrying with backoff until QuestDB acknowledges it or `stop`
    /// is set (then the batch is lost from memory but not from the journal: the cursor did
    /// not move, so the next start ships it again).
    pub fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let rows = self.buffer.row_count() as u64;
        self.wait_durable(self.batch_last.sequence)?;
        self.retry("sending trades", |s| {
            s.sender
                .flush_and_keep(&s.buffer)
                .map_err(|e| FeedError::QuestDb(e.to_string()))
        })?;
        self.buffer.clear();
        self.batch_started = None;
        self.cursor = self.batch_last;
        self.status.oldest_unshipped_ns.store(0, Relaxed);
        self.status.shipped_total.fetch_add(rows, Relaxed);
        self.publish_cursor();
        Ok(())
    }

    fn wait_durable(&self, sequence: u64) -> Result<()> {
        let Some(durable) = &self.durable else {
            return Ok(());
        };
        let started = Instant::now();
        let mut warned = false;
        while !durable.wait_for(sequence, Duration::from_millis(100)) {
            if self.stop.load(Relaxed) {
                return Err(FeedError::Stopped);
            }
            if !warned && started.elapsed() >= DURABILITY_WARN_AFTER {
                warn!(
                    sequence,
                    durable = durable.get(),
                    "feed: waiting for the journal to make trades durable before shipping them"
                );
                warned = true;
            }
        }
        Ok(())
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
            .map_err(|e| FeedError::QuestDb(format!("encoding trade {}: {e}", trade.trade_id)))
    }

    fn publish_cursor(&self) {
        self.status
            .shipped_trade_id
            .store(self.cursor.trade_id, Relaxed);
        self.status
            .shipped_sequence
            .store(self.cursor.sequence, Relaxed);
    }

    /// Runs `attempt` until it succeeds, sleeping with exponential backoff between tries;
    /// logs when the link goes down and when it comes back, not on every try.
    fn retry<T>(
        &mut self,
        what: &str,
        mut attempt: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let mut backoff = MIN_BACKOFF;
        loop {
            match attempt(self) {
                Ok(value) => {
                    self.set_link(Link::Up, what, None);
                    return Ok(value);
                }
                Err(error) => {
                    self.status.flush_failures_total.fetch_add(1, Relaxed);
                    self.set_link(Link::Down, what, Some(&error));
                }
            }
            let deadline = Instant::now() + backoff;
            while Instant::now() < deadline {
                if self.stop.load(Relaxed) {
                    return Err(FeedError::Stopped);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn set_link(&mut self, link: Link, what: &str, error: Option<&FeedError>) {
        if self.link == link {
            return;
        }
        let questdb = self.http.base_url();
        match (self.link, link) {
            (Link::Down, Link::Up) => {
                info!(%questdb, "feed: QuestDB is back; shipping the backlog")
            }
            (_, Link::Down) => warn!(
                %questdb,
                error = %error.map(ToString::to_string).unwrap_or_default(),
                pending = self.buffer.row_count(),
                "feed: QuestDB unavailable while {what}; keeping the cursor, retrying with backoff"
            ),
            _ => {}
        }
        self.link = link;
        self.status
            .questdb_up
            .store(u64::from(link == Link::Up), Relaxed);
    }
}
