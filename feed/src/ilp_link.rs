//! The connection to QuestDB: retries with backoff, logs link changes once, and the sender
//! thread that sends one batch while the shipper fills the next.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pinwheel_journal::DurableCursor;
use questdb::ingress::{Buffer, Sender};
use tracing::{info, warn};

use crate::error::{FeedError, Result};
use crate::schema::Cursor;
use crate::status::FeedStatus;

/// First retry delay after a failure; doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// Longest retry delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Longest one ILP request may take before it counts as failed (and is retried).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A batch waiting this long for the journal to make it durable is logged (once).
pub const DURABILITY_WARN_AFTER: Duration = Duration::from_secs(5);

/// Whether QuestDB took the last request; changes are logged once each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Unknown,
    Up,
    Down,
}

/// Link state, shared status and the stop flags every wait checks.
pub struct Link {
    questdb: String,
    state: State,
    status: Arc<FeedStatus>,
    stops: [Arc<AtomicBool>; 2],
}

impl Link {
    /// A link to `questdb` that gives up waiting when either flag is set.
    pub fn new(questdb: &str, status: Arc<FeedStatus>, stops: [Arc<AtomicBool>; 2]) -> Self {
        Self {
            questdb: questdb.to_string(),
            state: State::Unknown,
            status,
            stops,
        }
    }

    fn stopping(&self) -> bool {
        self.stops.iter().any(|stop| stop.load(Relaxed))
    }

    /// Runs `attempt` until it succeeds, sleeping with exponential backoff between tries;
    /// `Err(Stopped)` once a stop flag is set.
    pub fn retry<T>(&mut self, what: &str, mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
        let mut backoff = MIN_BACKOFF;
        loop {
            match attempt() {
                Ok(value) => {
                    self.set(State::Up, what, None);
                    return Ok(value);
                }
                Err(error) => {
                    self.status.flush_failures_total.fetch_add(1, Relaxed);
                    self.set(State::Down, what, Some(&error));
                }
            }
            let deadline = Instant::now() + backoff;
            while Instant::now() < deadline {
                if self.stopping() {
                    return Err(FeedError::Stopped);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn set(&mut self, state: State, what: &str, error: Option<&FeedError>) {
        if self.state == state {
            return;
        }
        let questdb = &self.questdb;
        match (self.state, state) {
            (State::Down, State::Up) => {
                info!(%questdb, "feed: QuestDB is back; shipping the backlog")
            }
            (_, State::Down) => warn!(
                %questdb,
                error = %error.map(ToString::to_string).unwrap_or_default(),
                "feed: QuestDB unavailable while {what}; keeping the cursor, retrying with backoff"
            ),
            _ => {}
        }
        self.state = state;
        self.status
            .questdb_up
            .store(u64::from(state == State::Up), Relaxed);
    }

    /// Waits until the journal made `sequence` durable (no gate: at once).
    fn wait_durable(&self, durable: Option<&DurableCursor>, sequence: u64) -> Result<()> {
        let Some(durable) = durable else {
            return Ok(());
        };
        let started = Instant::now();
        let mut warned = false;
        while !durable.wait_for(sequence, Duration::from_millis(100)) {
            if self.stopping() {
                return Err(FeedError::Stopped);
            }
            if !warned && started.elapsed() >= DURABILITY_WARN_AFTER {
                warn!(
                    sequence,
                    durable = durable.get(),
                    "feed: waiting for the journal to make trades durable"
                );
                warned = true;
            }
        }
        Ok(())
    }
}

/// One batch: its rows and the trade that ends it.
pub struct Batch {
    /// ILP rows.
    pub buffer: Buffer,
    /// The last trade in it.
    pub last: Cursor,
}

/// The sender thread: takes a batch, waits for its durability, sends it until acknowledged,
/// hands the emptied buffer back. At most one batch is in flight.
pub struct SenderThread {
    to_sender: Option<SyncSender<Batch>>,
    from_sender: Receiver<Result<Batch>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SenderThread {
    /// Starts the thread with its own ILP sender.
    pub fn start(
        sender: Sender,
        mut link: Link,
        durable: Option<DurableCursor>,
        stop: Arc<AtomicBool>,
    ) -> Result<Self> {
        let (to_sender, batches) = sync_channel::<Batch>(1);
        let (done, from_sender) = sync_channel::<Result<Batch>>(1);
        let thread = std::thread::Builder::new()
            .name("feed-ilp".into())
            .spawn(move || {
                let mut sender = sender;
                for mut batch in batches {
                    let sent = link
                        .wait_durable(durable.as_ref(), batch.last.sequence)
                        .and_then(|()| {
                            link.retry("sending trades", || {
                                sender
                                    .flush_and_keep(&batch.buffer)
                                    .map_err(|e| FeedError::questdb(e.to_string()))
                            })
                        });
                    let answer = sent.map(|()| {
                        batch.buffer.clear();
                        batch
                    });
                    let failed = answer.is_err();
                    if done.send(answer).is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(|e| FeedError::questdb(format!("starting the sender thread: {e}")))?;
        Ok(Self {
            to_sender: Some(to_sender),
            from_sender,
            stop,
            thread: Some(thread),
        })
    }

    /// Hands a batch over (the caller has collected the previous one).
    pub fn send(&self, batch: Batch) -> Result<()> {
        let to_sender = self.to_sender.as_ref().expect("open until drop");
        to_sender.send(batch).map_err(|_| FeedError::Stopped)
    }

    /// Waits for the batch in flight: its emptied buffer back once acknowledged.
    pub fn collect(&self) -> Result<Batch> {
        self.from_sender.recv().map_err(|_| FeedError::Stopped)?
    }

    /// The batch in flight if it is done already.
    pub fn try_collect(&self) -> Option<Result<Batch>> {
        self.from_sender.try_recv().ok()
    }
}

impl Drop for SenderThread {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        self.to_sender = None;
        while self.from_sender.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
