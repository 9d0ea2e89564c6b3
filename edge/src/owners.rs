//! Who a private event belongs to. A command's events travel together (ending in `Done`);
//! a fill or order update of a resting maker may carry the taker's head, so the owner is
//! taken from the public `Trade` of the same command when there is one.

use std::collections::HashMap;

use pinwheel_engine::message::{Event, EventKind, Fill, OrderUpdate, Trade};

/// An event as fanned out to WebSocket clients: the event and the user it belongs to
/// (0 for public events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// The engine's event.
    pub event: Event,
    /// Owning user, 0 for public events.
    pub owner: u64,
}

/// Resolves the owner of every event in one command's batch.
pub fn resolve_owners(batch: &[Event]) -> Vec<Published> {
    let trades: Vec<Trade> = batch
        .iter()
        .filter(|e| e.head.kind == EventKind::Trade as u8)
        .map(|e| e.body())
        .collect();
    let by_trade: HashMap<u64, &Trade> = trades.iter().map(|t| (t.trade_id, t)).collect();
    let makers: HashMap<u64, u64> = trades
        .iter()
        .map(|t| (t.maker_order_id, t.maker_user_id))
        .collect();
    batch
        .iter()
        .map(|event| Published {
            event: *event,
            owner: owner_of(event, &by_trade, &makers),
        })
        .collect()
}

fn owner_of(event: &Event, by_trade: &HashMap<u64, &Trade>, makers: &HashMap<u64, u64>) -> u64 {
    match EventKind::from_u8(event.head.kind) {
        Some(EventKind::Fill) => {
            let fill: Fill = event.body();
            match by_trade.get(&fill.trade_id) {
                Some(trade) if fill.is_maker != 0 => trade.maker_user_id,
                Some(trade) => trade.taker_user_id,
                None => event.head.user_id,
            }
        }
        Some(EventKind::OrderUpdate) => {
            let update: OrderUpdate = event.body();
            makers
                .get(&update.order_id)
                .copied()
                .unwrap_or(event.head.user_id)
        }
        Some(EventKind::Trade | EventKind::BookDelta) => 0,
        _ => event.head.user_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<B: bytemuck::Pod>(kind: EventKind, user: u64, body: &B) -> Event {
        let mut event = Event::new(kind as u8, body);
        event.head.user_id = user;
        event
    }

    #[test]
    fn maker_events_belong_to_the_maker_even_under_the_takers_head() {
        let taker = 7;
        let trade = Trade {
            trade_id: 3,
            maker_order_id: 100,
            taker_order_id: 200,
            maker_user_id: 5,
            taker_user_id: taker,
            ..Default::default()
        };
        let batch = [
            event(
                EventKind::Fill,
                taker,
                &Fill {
                    trade_id: 3,
                    is_maker: 1,
                    order_id: 100,
                    ..Default::default()
                },
            ),
            event(
                EventKind::Fill,
                taker,
                &Fill {
                    trade_id: 3,
                    is_maker: 0,
                    order_id: 200,
                    ..Default::default()
                },
            ),
            event(EventKind::Trade, taker, &trade),
            event(
                EventKind::OrderUpdate,
                taker,
                &OrderUpdate {
                    order_id: 100,
                    ..Default::default()
                },
            ),
            event(
                EventKind::OrderUpdate,
                taker,
                &OrderUpdate {
                    order_id: 200,
                    ..Default::default()
                },
            ),
            event(
                EventKind::Done,
                taker,
                &pinwheel_engine::message::Done::default(),
            ),
        ];
        let owners: Vec<u64> = resolve_owners(&batch).iter().map(|p| p.owner).collect();
        assert_eq!(owners, vec![5, taker, 0, 5, taker, taker]);
    }
}
