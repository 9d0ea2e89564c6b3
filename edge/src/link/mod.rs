//! The edge's one connection to the engine: a single writer into this edge's input ring,
//! and one reader thread on the output ring that completes requests on `Done`, keeps the
//! market data and fans events out to WebSocket clients.
//!
//! The parts, one file each: [`ports`] (the rings and the durable cursor as interfaces),
//! [`correlation`] (request ids and the requests waiting for their events), [`hold_back`]
//! (events held until durable), [`fan_out`] (fills and WebSocket streams), [`reader`] (the
//! thread that drives them) and [`hops`] (where an order's time goes).

mod correlation;
mod fan_out;
mod hold_back;
pub mod hops;
mod ports;
mod reader;

use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pinwheel_engine::message::{Command, Event};
use tokio::sync::{broadcast, oneshot};

use crate::api::error::ApiError;
use crate::market_data::fills::UserFills;
use crate::market_data::orders::OrderHistory;
use crate::market_data::{DepthQueries, MarketData};
use crate::owners::Published;
use correlation::{Completed, Correlation, Pending};
pub use ports::{DurableSource, InputSink, OutputSource, ReaderLapped};

/// Counters the link keeps for `/metrics`.
#[derive(Default)]
pub struct LinkCounters {
    /// Commands written into the ring.
    pub commands: AtomicU64,
    /// Events read from the output ring.
    pub events: AtomicU64,
    /// Requests refused because the ring was full.
    pub ring_full: AtomicU64,
    /// Requests refused because the engine was not alive.
    pub engine_down: AtomicU64,
    /// Requests that timed out.
    pub timeouts: AtomicU64,
    /// Times the output reader was lapped.
    pub lapped: AtomicU64,
    /// Output records not yet read by this edge, at last look.
    pub output_lag: AtomicU64,
}

/// Shared state of the link.
pub struct EngineLink {
    input: Mutex<Box<dyn InputSink>>,
    edge_id: AtomicU16,
    /// Edge ids this link held before re-attaching (answers to requests sent then still count).
    past_edge_ids: Mutex<Vec<u16>>,
    correlation: Correlation,
    timeout: Duration,
    stop: AtomicBool,
    /// Every event with its owner, for WebSocket clients (after durability hold-back).
    pub events: broadcast::Sender<Published>,
    /// Recent fills per user (`/fills`).
    pub fills: UserFills,
    /// Every order per user, closed ones too (`/order/{id}`, `/orders/history`).
    pub orders: OrderHistory,
    /// Order books, trades, tickers, candles as seen on the output ring.
    pub market_data: Arc<MarketData>,
    /// Counters for `/metrics`.
    pub counters: LinkCounters,
}

/// Fills kept per user for `/fills`.
const FILLS_PER_USER: usize = 1000;

impl EngineLink {
    /// A link over `input` that keeps `order_retention` closed orders per user; start its
    /// reader with [`EngineLink::start_reader`].
    pub fn new(
        input: Box<dyn InputSink>,
        timeout: Duration,
        market_data: Arc<MarketData>,
        order_retention: usize,
    ) -> Arc<Self> {
        let (events, _) = broadcast::channel(fan_out::FANOUT_CAPACITY);
        Arc::new(Self {
            edge_id: AtomicU16::new(input.edge_id()),
            input: Mutex::new(input),
            past_edge_ids: Mutex::new(Vec::new()),
            correlation: Correlation::new(),
            timeout,
            stop: AtomicBool::new(false),
            events,
            fills: UserFills::new(FILLS_PER_USER),
            orders: OrderHistory::new(order_retention),
            market_data,
            counters: LinkCounters::default(),
        })
    }

    /// This edge's id (its input ring).
    pub fn edge_id(&self) -> u16 {
        self.edge_id.load(Ordering::Relaxed)
    }

    /// Sends `command` for `user_id` and waits (bounded) for its events up to and including `Done`.
    pub async fn request(
        &self,
        mut command: Command,
        user_id: u64,
    ) -> Result<Vec<Event>, ApiError> {
        command.head.user_id = user_id;
        let (sender, receiver) = oneshot::channel();
        let pending = Pending::reply(hops::wall_ns(), sender);
        let request_id = self.submit(&command, pending)?;
        match tokio::time::timeout(self.timeout, receiver).await {
            Ok(Ok(Ok((events, stamps)))) => {
                stamps.record(hops::wall_ns());
                Ok(events)
            }
            Ok(Ok(Err(error))) => Err(error),
            Ok(Err(_)) => Err(ApiError::unavailable(
                "ENGINE_UNAVAILABLE",
                "the edge stopped before the engine answered; query the order to see its state",
            )),
            Err(_) => {
                self.correlation.forget(request_id);
                self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(ApiError::unavailable(
                    "TIMEOUT",
                    format!(
                        "the engine did not answer within {} ms",
                        self.timeout.as_millis()
                    ),
                ))
            }
        }
    }

    /// Numbers the command and pushes it; returns its request id.
    ///
    /// The id is taken under the ring's lock, so ids enter the ring strictly increasing and the
    /// journal shows each edge's commands in the order they were numbered.
    fn submit(&self, command: &Command, pending: Pending) -> Result<u64, ApiError> {
        let mut command = *command;
        let mut input = self.input.lock().expect("input ring lock");
        let request_id = self.correlation.next_id();
        command.head.request_id = request_id;
        command.head.edge_id = input.edge_id();
        if !input.engine_alive() {
            self.counters.engine_down.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::unavailable(
                "ENGINE_UNAVAILABLE",
                "the engine is not running",
            ));
        }
        self.correlation.register(request_id, pending);
        if !input.try_push(command.as_bytes()) {
            self.correlation.forget(request_id);
            self.counters.ring_full.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::unavailable(
                "BUSY",
                "the engine's input ring is full; retry shortly",
            ));
        }
        self.counters.commands.fetch_add(1, Ordering::Relaxed);
        Ok(request_id)
    }

    /// Asks the engine for a market's depth; the reader thread installs the answer.
    pub fn request_depth_init(&self, market: u32, limit: u32) -> Result<(), ApiError> {
        let body = pinwheel_engine::message::DepthRequest { market, limit };
        let command = Command::new(
            pinwheel_engine::message::CommandKind::QueryDepth as u8,
            &body,
        );
        self.submit(&command, Pending::DepthInit(Vec::new(), market))
            .map(|_| ())
    }

    /// Beats the edge's heartbeat (re-attaching if the engine reclaimed the ring); called
    /// every few hundred ms. Fails the waiting requests at once if the engine has stopped.
    pub fn heartbeat(&self) {
        let mut input = self.input.lock().expect("input ring lock");
        if input.ensure_attached() {
            input.heartbeat();
        }
        if !input.engine_alive() {
            self.fail_waiting(
                "ENGINE_UNAVAILABLE",
                "the engine stopped before it answered; the command may or may not have been applied: query the order to see its state",
            );
        }
        let current = input.edge_id();
        let previous = self.edge_id.swap(current, Ordering::Relaxed);
        if previous != current {
            self.past_edge_ids
                .lock()
                .expect("edge ids lock")
                .push(previous);
        }
    }

    /// Whether the engine is alive (for `/healthz`).
    pub fn engine_alive(&self) -> bool {
        self.input.lock().expect("input ring lock").engine_alive()
    }

    /// Asks the reader thread to stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Starts the output reader thread.
    pub fn start_reader(
        self: &Arc<Self>,
        source: Box<dyn OutputSource>,
        durable: Option<Box<dyn DurableSource>>,
    ) -> std::thread::JoinHandle<()> {
        let link = Arc::clone(self);
        let hold = hold_back::HoldBack::new(durable);
        std::thread::Builder::new()
            .name(format!("edge-{}-reader", self.edge_id()))
            .spawn(move || reader::Reader::new(link, source, hold).run())
            .expect("spawn output reader thread")
    }

    /// Handles one event that may be released now (called by the reader thread, in ring
    /// order); `read` and `released` are when the reader read and released it.
    fn deliver(&self, event: Event, read: u64, released: u64) {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        self.market_data.apply_public(&event, self);
        if event.head.edge_id != self.edge_id() && !self.was_edge(event.head.edge_id) {
            return;
        }
        if let Completed::Depth(market, events) = self.correlation.complete(event, read, released) {
            self.market_data.install_depth(market, &events);
        }
    }

    fn was_edge(&self, edge_id: u16) -> bool {
        let past = self.past_edge_ids.lock().expect("edge ids lock");
        !past.is_empty() && past.contains(&edge_id)
    }

    /// Publishes one command's events, with each private event's owner resolved.
    fn publish(&self, batch: &[Event]) {
        fan_out::publish(batch, self, &self.events);
    }

    /// After a lap: every waiting request's answer may be lost; fail them loudly, re-sync books.
    fn on_lapped(&self) {
        self.counters.lapped.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            edge = self.edge_id(),
            "output reader was lapped; failing waiting requests and re-querying books"
        );
        // Depth queries in flight are re-sent by `invalidate_all`.
        self.fail_waiting(
            "ENGINE_UNAVAILABLE",
            "the answer was lost (the edge fell behind the engine); query the order to see its state",
        );
        self.market_data.invalidate_all(self);
    }

    /// Answers every waiting request with a 503 `code` now, rather than at its time bound.
    fn fail_waiting(&self, code: &'static str, message: &str) {
        self.correlation
            .fail_all(|| ApiError::unavailable(code, message));
    }
}

impl DepthQueries for EngineLink {
    fn request_depth_init(&self, market: u32, limit: u32) -> Result<(), ApiError> {
        EngineLink::request_depth_init(self, market, limit)
    }
}
