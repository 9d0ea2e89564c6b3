//! Request correlation: every command the link sends gets a request id, and the events the
//! engine answers with come back to the request that is waiting for them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use pinwheel_engine::message::{Event, EventKind};
use tokio::sync::oneshot;

use super::hops::HopStamps;
use crate::api::error::ApiError;

/// A request's answer: its events up to and including `Done`, and when each hop happened.
pub(crate) type Answer = Result<(Vec<Event>, HopStamps), ApiError>;

/// Events a request usually gets (an order's status and `Done`, a few fills): reserved at
/// once, so that a typical answer is one allocation, not several.
const TYPICAL_EVENTS: usize = 8;

/// What waits for a request id's events.
pub(crate) enum Pending {
    /// A client's request: events so far, its stamps, and where to send them on `Done`.
    Reply(Vec<Event>, HopStamps, oneshot::Sender<Answer>),
    /// The edge's own depth query for a market; applied by the reader thread itself, in order.
    DepthInit(Vec<Event>, u32),
}

impl Pending {
    /// A client's request sent at `submitted` (wall-clock ns).
    pub(crate) fn reply(submitted: u64, sender: oneshot::Sender<Answer>) -> Self {
        let stamps = HopStamps {
            submitted,
            ..HopStamps::default()
        };
        Self::Reply(Vec::with_capacity(TYPICAL_EVENTS), stamps, sender)
    }
}

/// What a `Done` completed.
pub(crate) enum Completed {
    /// Nothing (a foreign request id, or not `Done` yet).
    Nothing,
    /// A client's request was answered (the reader has nothing more to do).
    Answered,
    /// The edge's depth query for `market`: the reader installs it.
    Depth(u32, Vec<Event>),
}

/// The table of waiting requests, by request id.
pub(crate) struct Correlation {
    next_request: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
}

impl Correlation {
    pub(crate) fn new() -> Self {
        Self {
            // A start from the wall clock keeps request ids of this link apart from those of
            // earlier edges on the same ring, so a late answer to one of theirs is not taken
            // for one of ours.
            next_request: AtomicU64::new(request_base()),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// The next request id (the caller holds the input ring's lock, so ids enter the ring
    /// strictly increasing).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_request.fetch_add(1, Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().expect("pending map lock")
    }

    /// Registers what waits for `request_id` (before the push, so the reader can never see
    /// the answer first); a reply's `pushed` stamp is taken here, just before the push.
    pub(crate) fn register(&self, request_id: u64, mut pending: Pending) {
        if let Pending::Reply(_, stamps, _) = &mut pending {
            stamps.pushed = super::hops::wall_ns();
        }
        self.lock().insert(request_id, pending);
    }

    /// Forgets `request_id` (the push failed, or the requester gave up).
    pub(crate) fn forget(&self, request_id: u64) {
        self.lock().remove(&request_id);
    }

    /// Adds `event` to its request; on `Done`, answers the request directly from the reader
    /// thread (the requester's task is woken by the oneshot, no other hop). `read` is when the
    /// reader read the event, `released` when it let it go (after durability).
    pub(crate) fn complete(&self, event: Event, read: u64, released: u64) -> Completed {
        let request_id = event.head.request_id;
        let mut pending = self.lock();
        let Some(entry) = pending.get_mut(&request_id) else {
            return Completed::Nothing;
        };
        match entry {
            Pending::Reply(events, _, _) | Pending::DepthInit(events, _) => events.push(event),
        }
        if event.head.kind != EventKind::Done as u8 {
            return Completed::Nothing;
        }
        match pending.remove(&request_id).expect("entry is present") {
            Pending::Reply(events, mut stamps, sender) => {
                drop(pending);
                stamps.engine = event.head.timestamp_ns;
                stamps.read = read;
                stamps.released = released;
                // The requester may have timed out and gone; nothing to do then.
                let _ = sender.send(Ok((events, stamps)));
                Completed::Answered
            }
            Pending::DepthInit(events, market) => Completed::Depth(market, events),
        }
    }

    /// Answers every waiting request with `error` now, rather than at its time bound.
    pub(crate) fn fail_all(&self, error: impl Fn() -> ApiError) {
        let failed: Vec<Pending> = self.lock().drain().map(|(_, p)| p).collect();
        for pending in failed {
            if let Pending::Reply(_, _, sender) = pending {
                // The requester may have timed out and gone; nothing to do then.
                let _ = sender.send(Err(error()));
            }
        }
    }
}

/// Request ids start at the wall clock in nanoseconds, so an edge that restarts (or another
/// edge that takes over its ring) numbers above everything the ring carried before.
fn request_base() -> u64 {
    super::hops::wall_ns().max(1)
}
