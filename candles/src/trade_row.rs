//! One trade as the feed ships it and the candle stores aggregate it, taken from the
//! engine's `Trade` event.

use pinwheel_engine::message::{Event, EventKind, Side, Trade};

/// A public trade: the `Trade` event's body plus the head's sequence and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeRow {
    /// Market id (index in the market table).
    pub market: u32,
    /// The taker's side.
    pub taker_side: Side,
    /// Trade id (per engine, increasing).
    pub trade_id: u64,
    /// The engine sequence of the command that caused the trade.
    pub sequence: u64,
    /// The engine's time of the trade, nanoseconds since the Unix epoch.
    pub timestamp_ns: i64,
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots.
    pub quantity: i64,
    /// Resting order.
    pub maker_order_id: u64,
    /// Incoming order.
    pub taker_order_id: u64,
}

impl TradeRow {
    /// The trade in an event, or `None` for any other event (or a trade with a bad side byte,
    /// which the engine never writes).
    pub fn from_event(event: &Event) -> Option<Self> {
        if event.head.kind != EventKind::Trade as u8 {
            return None;
        }
        let trade: Trade = event.body();
        let taker_side = side_from_u8(trade.taker_side)?;
        Some(Self {
            market: trade.market,
            taker_side,
            trade_id: trade.trade_id,
            sequence: event.head.sequence,
            timestamp_ns: i64::try_from(event.head.timestamp_ns).ok()?,
            price: trade.price,
            quantity: trade.quantity,
            maker_order_id: trade.maker_order_id,
            taker_order_id: trade.taker_order_id,
        })
    }

    /// The event the engine would have written for this trade (tests, benches, replay tools).
    pub fn to_event(&self) -> Event {
        let trade = Trade {
            market: self.market,
            taker_side: self.taker_side as u8,
            trade_id: self.trade_id,
            price: self.price,
            quantity: self.quantity,
            maker_order_id: self.maker_order_id,
            taker_order_id: self.taker_order_id,
            ..Trade::default()
        };
        let mut event = Event::new(EventKind::Trade as u8, &trade);
        event.head.sequence = self.sequence;
        event.head.timestamp_ns = self.timestamp_ns as u64;
        event
    }

    /// Milliseconds since the epoch (floor), the unit of klines and tickers.
    pub fn timestamp_ms(&self) -> i64 {
        self.timestamp_ns.div_euclid(1_000_000)
    }
}

/// Decodes a side byte.
pub fn side_from_u8(value: u8) -> Option<Side> {
    match value {
        1 => Some(Side::Buy),
        2 => Some(Side::Sell),
        _ => None,
    }
}

/// The side as stored in QuestDB's `side` symbol column.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_events_round_trip_and_others_are_ignored() {
        let row = TradeRow {
            market: 2,
            taker_side: Side::Sell,
            trade_id: 77,
            sequence: 1234,
            timestamp_ns: 1_700_000_000_123_456_789,
            price: 101,
            quantity: 5,
            maker_order_id: 9,
            taker_order_id: 10,
        };
        assert_eq!(TradeRow::from_event(&row.to_event()), Some(row));
        assert_eq!(row.timestamp_ms(), 1_700_000_000_123);
        let mut other = row.to_event();
        other.head.kind = EventKind::BookDelta as u8;
        assert_eq!(TradeRow::from_event(&other), None);
    }
}
