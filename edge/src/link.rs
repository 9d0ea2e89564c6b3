//! The edge's one connection to the engine: a single writer into this edge's input ring,
//! and one reader thread on the output ring that completes requests on `Done`, keeps the
//! market data and fans events out to WebSocket clients.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pinwheel_engine::message::{Command, Event, EventKind, Fill, RECORD_SIZE};
use tokio::sync::{broadcast, oneshot};

use crate::api::error::ApiError;
use crate::market_data::fills::UserFills;
use crate::market_data::MarketData;
use crate::owners::{resolve_owners, Published};

/// The input side: this edge's ring into the engine.
pub trait InputSink: Send + 'static {
    /// Copies one record in; `false` when the ring is full.
    fn try_push(&mut self, record: &[u8]) -> bool;
    /// Whether the engine's heartbeat is recent.
    fn engine_alive(&self) -> bool;
    /// Tells the engine this edge is alive.
    fn heartbeat(&mut self);
    /// This edge's id (its input ring); changes only when the sink re-attaches.
    fn edge_id(&self) -> u16;
    /// Whether the engine still counts this edge as attached; if not, attaches anew
    /// (the engine reclaims the ring of an edge whose heartbeat went stale).
    fn ensure_attached(&mut self) -> bool;
}

/// The output reader fell a whole ring behind the engine: events were lost to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderLapped;

/// The output side: the engine's broadcast ring.
pub trait OutputSource: Send + 'static {
    /// The next record into `buffer`: `Ok(None)` if none yet, `Err(ReaderLapped)` if this
    /// reader fell a whole ring behind.
    fn try_next(&mut self, buffer: &mut [u8]) -> Result<Option<u64>, ReaderLapped>;
    /// After a lap: continue from the newest record.
    fn skip_to_latest(&mut self);
    /// Sleeps, spins or yields once while there is nothing to read (the wait strategy).
    fn idle(&mut self);
    /// Back to the cheapest idle step after finding work.
    fn reset_idle(&mut self);
    /// Records published but not yet read by this reader.
    fn lag(&self) -> u64;
}

/// Highest durable engine sequence (sync durability), `None` when answers need not wait.
pub trait DurableSource: Send + 'static {
    /// The highest sequence known durable.
    fn durable(&self) -> u64;
}

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

enum Pending {
    /// A client's request: events so far, and where to send them on `Done`.
    Reply(Vec<Event>, oneshot::Sender<Result<Vec<Event>, ApiError>>),
    /// The edge's own depth query for a market; applied by the reader thread itself, in order.
    DepthInit(Vec<Event>, u32),
}

/// Shared state of the link.
pub struct EngineLink {
    input: Mutex<Box<dyn InputSink>>,
    edge_id: AtomicU16,
    /// Edge ids this link held before re-attaching (answers to requests sent then still count).
    past_edge_ids: Mutex<Vec<u16>>,
    next_request: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
    timeout: Duration,
    stop: AtomicBool,
    /// Every event with its owner, for WebSocket clients (after durability hold-back).
    pub events: broadcast::Sender<Published>,
    /// Recent fills per user (`/fills`).
    pub fills: UserFills,
    /// Order books, trades, tickers, candles as seen on the output ring.
    pub market_data: Arc<MarketData>,
    /// Counters for `/metrics`.
    pub counters: LinkCounters,
}

/// Fills kept per user for `/fills`.
const FILLS_PER_USER: usize = 1000;

/// Capacity of the in-process event fan-out (a WebSocket client that falls this far behind is closed).
const FANOUT_CAPACITY: usize = 1 << 15;

impl EngineLink {
    /// A link over `input`; start its reader with [`EngineLink::start_reader`].
    pub fn new(
        input: Box<dyn InputSink>,
        timeout: Duration,
        market_data: Arc<MarketData>,
    ) -> Arc<Self> {
        let (events, _) = broadcast::channel(FANOUT_CAPACITY);
        Arc::new(Self {
            edge_id: AtomicU16::new(input.edge_id()),
            input: Mutex::new(input),
            // A start from the wall clock keeps request ids of this link apart from those of
            // earlier edges on the same ring, so a late answer to one of theirs is not taken
            // for one of ours.
            next_request: AtomicU64::new(request_base()),
            past_edge_ids: Mutex::new(Vec::new()),
            pending: Mutex::new(HashMap::new()),
            timeout,
            stop: AtomicBool::new(false),
            events,
            fills: UserFills::new(FILLS_PER_USER),
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
        let request_id = self.submit(&command, Pending::Reply(Vec::new(), sender))?;
        match tokio::time::timeout(self.timeout, receiver).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(ApiError::unavailable(
                "ENGINE_UNAVAILABLE",
                "the edge stopped before the engine answered; query the order to see its state",
            )),
            Err(_) => {
                self.lock_pending().remove(&request_id);
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
        let request_id = self.next_request.fetch_add(1, Ordering::Relaxed);
        command.head.request_id = request_id;
        command.head.edge_id = input.edge_id();
        if !input.engine_alive() {
            self.counters.engine_down.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::unavailable(
                "ENGINE_UNAVAILABLE",
                "the engine is not running",
            ));
        }
        // Registered before the push so the reader can never see the answer first.
        self.lock_pending().insert(request_id, pending);
        if !input.try_push(command.as_bytes()) {
            self.lock_pending().remove(&request_id);
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

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().expect("pending map lock")
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
        std::thread::Builder::new()
            .name(format!("edge-{}-reader", self.edge_id()))
            .spawn(move || Reader::new(link, source, durable).run())
            .expect("spawn output reader thread")
    }

    /// Handles one event that may be released now (called by the reader thread, in ring order).
    fn deliver(&self, event: Event) {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        self.market_data.apply_public(&event, self);
        if event.head.edge_id == self.edge_id() || self.was_edge(event.head.edge_id) {
            self.complete(event);
        }
    }

    fn was_edge(&self, edge_id: u16) -> bool {
        let past = self.past_edge_ids.lock().expect("edge ids lock");
        !past.is_empty() && past.contains(&edge_id)
    }

    /// Publishes one command's events, with each private event's owner resolved.
    fn publish(&self, batch: &[Event]) {
        for published in resolve_owners(batch) {
            let event = &published.event;
            // A fill the journal replay already recorded (the ring repeats it) is not kept twice.
            if event.head.kind == EventKind::Fill as u8
                && !self.market_data.is_rebuilt(event.body::<Fill>().trade_id)
            {
                self.fills.record(published.owner, event);
            }
            // No receivers is fine: nobody is subscribed.
            let _ = self.events.send(published);
        }
    }

    fn complete(&self, event: Event) {
        let request_id = event.head.request_id;
        let mut pending = self.lock_pending();
        let Some(entry) = pending.get_mut(&request_id) else {
            return;
        };
        match entry {
            Pending::Reply(events, _) | Pending::DepthInit(events, _) => events.push(event),
        }
        if event.head.kind != EventKind::Done as u8 {
            return;
        }
        match pending.remove(&request_id).expect("entry is present") {
            Pending::Reply(events, sender) => {
                // The requester may have timed out and gone; nothing to do then.
                let _ = sender.send(Ok(events));
            }
            Pending::DepthInit(events, market) => {
                drop(pending);
                self.market_data.install_depth(market, &events);
            }
        }
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
        let failed: Vec<Pending> = self.lock_pending().drain().map(|(_, p)| p).collect();
        for pending in failed {
            if let Pending::Reply(_, sender) = pending {
                // The requester may have timed out and gone; nothing to do then.
                let _ = sender.send(Err(ApiError::unavailable(code, message)));
            }
        }
    }
}

/// The reader thread's state: the source, and (sync durability) events held until durable.
struct Reader {
    link: Arc<EngineLink>,
    source: Box<dyn OutputSource>,
    durable: Option<Box<dyn DurableSource>>,
    held: VecDeque<Event>,
    batch: Vec<Event>,
}

/// Most events held back waiting for durability before the reader stops reading.
const MAX_HELD: usize = 1 << 16;

impl Reader {
    fn new(
        link: Arc<EngineLink>,
        source: Box<dyn OutputSource>,
        durable: Option<Box<dyn DurableSource>>,
    ) -> Self {
        Self {
            link,
            source,
            durable,
            held: VecDeque::new(),
            batch: Vec::new(),
        }
    }

    fn run(mut self) {
        let mut buffer = [0u8; RECORD_SIZE];
        while !self.link.stop.load(Ordering::Acquire) {
            let released = self.release_durable();
            if self.held.len() >= MAX_HELD {
                self.source.idle();
                continue;
            }
            match self.source.try_next(&mut buffer) {
                Ok(Some(_)) => {
                    self.source.reset_idle();
                    self.accept(Event::from_bytes(&buffer));
                }
                Ok(None) if released => self.source.reset_idle(),
                Ok(None) => {
                    self.link
                        .counters
                        .output_lag
                        .store(self.source.lag(), Ordering::Relaxed);
                    self.source.idle();
                }
                Err(ReaderLapped) => {
                    self.source.skip_to_latest();
                    self.held.clear();
                    self.batch.clear();
                    self.link.on_lapped();
                }
            }
        }
    }

    fn accept(&mut self, event: Event) {
        match &self.durable {
            Some(durable) if !self.held.is_empty() || event.head.sequence > durable.durable() => {
                self.held.push_back(event)
            }
            _ => self.release(event),
        }
    }

    /// Delivers an event now and publishes its command's events once `Done` closes them.
    fn release(&mut self, event: Event) {
        self.batch.push(event);
        if event.head.kind == EventKind::Done as u8 {
            // Fills and streams before the answer: a client that reads /fills right after
            // its order's response must find that order's fills there.
            self.link.publish(&self.batch);
            self.batch.clear();
        }
        self.link.deliver(event);
    }

    /// Releases held events whose sequence is now durable; true if any were.
    fn release_durable(&mut self) -> bool {
        let Some(durable) = &self.durable else {
            return false;
        };
        if self.held.is_empty() {
            return false;
        }
        let durable = durable.durable();
        let mut released = false;
        while self
            .held
            .front()
            .is_some_and(|e| e.head.sequence <= durable)
        {
            let event = self.held.pop_front().expect("front exists");
            self.release(event);
            released = true;
        }
        released
    }
}

/// Request ids start at the wall clock in nanoseconds, so an edge that restarts (or another
/// edge that takes over its ring) numbers above everything the ring carried before.
fn request_base() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(1, |elapsed| elapsed.as_nanos() as u64).max(1)
}
