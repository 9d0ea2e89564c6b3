//! Fan-out: one command's events, with each private event's owner resolved, to the fills
//! and orders stores and to every WebSocket client.

use pinwheel_engine::message::{Event, EventKind, Fill};
use tokio::sync::broadcast;

use super::EngineLink;
use crate::owners::{resolve_owners, Published};

/// Capacity of the in-process event fan-out (a WebSocket client that falls this far behind is closed).
pub(crate) const FANOUT_CAPACITY: usize = 1 << 15;

/// Publishes one command's events (after durability hold-back): fills and orders first,
/// then streams.
pub(crate) fn publish(batch: &[Event], link: &EngineLink, events: &broadcast::Sender<Published>) {
    let (fills, market_data) = (&link.fills, &link.market_data);
    let owned = resolve_owners(batch);
    link.orders.apply_live(&owned);
    for published in owned {
        let event = &published.event;
        // A fill the journal replay already recorded (the ring repeats it) is not kept twice.
        if event.head.kind == EventKind::Fill as u8
            && !market_data.is_rebuilt(event.body::<Fill>().trade_id)
        {
            fills.record(published.owner, event);
        }
        // No receivers is fine: nobody is subscribed.
        let _ = events.send(published);
    }
}
