//! The reader thread: reads the output ring in order, holds events back until durable (sync
//! durability), publishes each command's events, keeps the market data, and completes the
//! waiting requests itself.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use pinwheel_engine::message::{Event, EventKind, RECORD_SIZE};

use super::hold_back::HoldBack;
use super::hops::wall_ns;
use super::ports::{OutputSource, ReaderLapped};
use super::EngineLink;

/// The reader thread's state: the source, the hold-back, and the events of the command being read.
pub(crate) struct Reader {
    link: Arc<EngineLink>,
    source: Box<dyn OutputSource>,
    hold: HoldBack,
    batch: Vec<Event>,
}

impl Reader {
    pub(crate) fn new(
        link: Arc<EngineLink>,
        source: Box<dyn OutputSource>,
        hold: HoldBack,
    ) -> Self {
        Self {
            link,
            source,
            hold,
            batch: Vec::new(),
        }
    }

    pub(crate) fn run(mut self) {
        let mut buffer = [0u8; RECORD_SIZE];
        while !self.link.stop.load(Ordering::Acquire) {
            let released = self.release_durable();
            if self.hold.is_full() {
                self.hold.idle();
                continue;
            }
            match self.source.try_next(&mut buffer) {
                Ok(Some(_)) => {
                    self.source.reset_idle();
                    self.accept(Event::from_bytes(&buffer));
                }
                Ok(None) if released => self.source.reset_idle(),
                Ok(None) => self.idle(),
                Err(ReaderLapped) => {
                    self.source.skip_to_latest();
                    self.hold.clear();
                    self.batch.clear();
                    self.link.on_lapped();
                }
            }
        }
    }

    /// Nothing to read: while events are held, wait for the journal (new events would only
    /// be held behind them); otherwise wait for the engine.
    fn idle(&mut self) {
        self.link
            .counters
            .output_lag
            .store(self.source.lag(), Ordering::Relaxed);
        if self.hold.is_holding() {
            self.hold.idle();
        } else {
            self.source.idle();
        }
    }

    fn accept(&mut self, event: Event) {
        let Self {
            link, hold, batch, ..
        } = self;
        hold.accept(event, wall_ns(), |event, read| {
            release(link, batch, event, read)
        });
    }

    /// Releases held events whose sequence is now durable; true if any were.
    fn release_durable(&mut self) -> bool {
        let Self {
            link, hold, batch, ..
        } = self;
        hold.release_durable(|event, read| release(link, batch, event, read))
    }
}

/// Delivers an event now and publishes its command's events once `Done` closes them.
fn release(link: &EngineLink, batch: &mut Vec<Event>, event: Event, read: u64) {
    batch.push(event);
    if event.head.kind == EventKind::Done as u8 {
        // Fills and streams before the answer: a client that reads /fills right after
        // its order's response must find that order's fills there.
        link.publish(batch);
        batch.clear();
    }
    link.deliver(event, read, wall_ns());
}
