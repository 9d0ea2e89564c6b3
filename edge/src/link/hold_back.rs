//! Durability hold-back (sync durability): an event leaves the reader only once the journal
//! says its command is durable, so no client learns of a command a crash could still lose.
//! Events behind a held one are held too, so everything leaves in ring order.

use std::collections::VecDeque;

use pinwheel_engine::message::Event;

use super::ports::DurableSource;

/// Most events held back waiting for durability before the reader stops reading.
pub(crate) const MAX_HELD: usize = 1 << 16;

/// The held events (with when the reader read each), and the cursor that releases them.
pub(crate) struct HoldBack {
    durable: Option<Box<dyn DurableSource>>,
    held: VecDeque<(Event, u64)>,
}

impl HoldBack {
    /// No cursor: every event leaves at once (durability none or async).
    pub(crate) fn new(durable: Option<Box<dyn DurableSource>>) -> Self {
        Self {
            durable,
            held: VecDeque::new(),
        }
    }

    /// Whether the reader must stop reading until some events leave.
    pub(crate) fn is_full(&self) -> bool {
        self.held.len() >= MAX_HELD
    }

    /// Whether events wait for durability (the reader then waits on the cursor, not the ring).
    pub(crate) fn is_holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// Takes an event read at `read`: hands it to `release` now if it may leave, else holds it.
    pub(crate) fn accept(&mut self, event: Event, read: u64, release: impl FnOnce(Event, u64)) {
        match &self.durable {
            Some(durable) if !self.held.is_empty() || event.head.sequence > durable.durable() => {
                self.held.push_back((event, read))
            }
            _ => release(event, read),
        }
    }

    /// Releases held events whose sequence is now durable, in order; true if any were.
    pub(crate) fn release_durable(&mut self, mut release: impl FnMut(Event, u64)) -> bool {
        let (Some(durable), false) = (&mut self.durable, self.held.is_empty()) else {
            return false;
        };
        let durable_to = durable.durable();
        let mut released = false;
        while self
            .held
            .front()
            .is_some_and(|(event, _)| event.head.sequence <= durable_to)
        {
            let (event, read) = self.held.pop_front().expect("front exists");
            release(event, read);
            released = true;
        }
        if released {
            durable.reset_idle();
        }
        released
    }

    /// One idle step while holding: waits (bounded) for the oldest held event to be durable.
    pub(crate) fn idle(&mut self) {
        if let (Some(durable), Some((front, _))) = (&mut self.durable, self.held.front()) {
            durable.idle_until(front.head.sequence);
        }
    }

    /// After a lap: what was held is lost with the rest.
    pub(crate) fn clear(&mut self) {
        self.held.clear();
    }
}
