//! LOBSTER's two CSV files: one event per message row, the top N levels per book row.
//!
//! Prices stay integers (dollars x 10000, which the replay uses as ticks) and times are
//! kept as integer nanoseconds after midnight: no float ever touches a price or a time.

use anyhow::{bail, ensure, Context};
use pinwheel_engine::message::Side;

/// The price LOBSTER writes for an empty ask level.
pub const EMPTY_ASK_PRICE: i64 = 9_999_999_999;
/// The price LOBSTER writes for an empty bid level.
pub const EMPTY_BID_PRICE: i64 = -9_999_999_999;

/// What a message row reports (LOBSTER's column 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// 1: a new visible limit order.
    Submit,
    /// 2: part of a resting order is cancelled.
    PartialCancel,
    /// 3: the rest of a resting order is deleted.
    Delete,
    /// 4: a visible resting order trades.
    Execute,
    /// 5: a hidden order trades (never in the visible book).
    ExecuteHidden,
    /// 6: a cross (auction) trade, outside the continuous book.
    Cross,
    /// 7: a trading halt or resumption.
    Halt,
}

impl MessageKind {
    fn from_code(code: i64) -> Option<Self> {
        Some(match code {
            1 => Self::Submit,
            2 => Self::PartialCancel,
            3 => Self::Delete,
            4 => Self::Execute,
            5 => Self::ExecuteHidden,
            6 => Self::Cross,
            7 => Self::Halt,
            _ => return None,
        })
    }

    /// True for the kinds that name a visible resting order (1 to 4).
    pub fn names_visible_order(self) -> bool {
        matches!(
            self,
            Self::Submit | Self::PartialCancel | Self::Delete | Self::Execute
        )
    }
}

/// One message row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// Nanoseconds after midnight.
    pub time_ns: u64,
    /// Event kind.
    pub kind: MessageKind,
    /// NASDAQ's order reference (0 for hidden executions and halts).
    pub order_id: u64,
    /// Shares (lots).
    pub size: i64,
    /// Dollars x 10000 (ticks); -1/0/1 carry the halt state for kind 7.
    pub price: i64,
    /// The resting order's side (for executions, the passive side).
    pub side: Side,
}

/// Parses "34200.017459617" (seconds after midnight with up to 9 decimals) exactly.
pub fn parse_time_ns(text: &str) -> anyhow::Result<u64> {
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    ensure!(
        fraction.len() <= 9 && fraction.bytes().all(|b| b.is_ascii_digit()),
        "time {text:?}: at most 9 decimal digits"
    );
    let seconds: u64 = seconds.parse().with_context(|| format!("time {text:?}"))?;
    let mut nanos: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse()?
    };
    for _ in fraction.len()..9 {
        nanos *= 10;
    }
    Ok(seconds * 1_000_000_000 + nanos)
}

fn parse_int(field: &str, name: &str) -> anyhow::Result<i64> {
    field
        .trim()
        .parse()
        .with_context(|| format!("column {name}: {field:?} is not an integer"))
}

/// Parses one message row (`row` is 1-based, for the error message).
pub fn parse_message(line: &str, row: usize) -> anyhow::Result<Message> {
    parse_message_fields(line).with_context(|| format!("message row {row}: {line:?}"))
}

fn parse_message_fields(line: &str) -> anyhow::Result<Message> {
    let fields: Vec<&str> = line.trim_end().split(',').collect();
    ensure!(
        fields.len() == 6,
        "expected 6 columns, found {}",
        fields.len()
    );
    let time_ns = parse_time_ns(fields[0].trim())?;
    let code = parse_int(fields[1], "type")?;
    let kind = MessageKind::from_code(code)
        .with_context(|| format!("column type: unknown event type {code}"))?;
    let order_id = parse_int(fields[2], "order id")?;
    let size = parse_int(fields[3], "size")?;
    let price = parse_int(fields[4], "price")?;
    let direction = parse_int(fields[5], "direction")?;
    let side = match direction {
        1 => Side::Buy,
        -1 => Side::Sell,
        other => bail!("column direction: {other} is neither 1 nor -1"),
    };
    if kind.names_visible_order() {
        ensure!(order_id > 0, "column order id: {order_id} must be positive");
        ensure!(size > 0, "column size: {size} must be positive");
        ensure!(price > 0, "column price: {price} must be positive");
    }
    Ok(Message {
        time_ns,
        kind,
        order_id: order_id.max(0) as u64,
        size,
        price,
        side,
    })
}

/// One book row: the non-empty levels of each side, best first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookRow {
    /// `(price, size)` of the asks, lowest first.
    pub asks: Vec<(i64, i64)>,
    /// `(price, size)` of the bids, highest first.
    pub bids: Vec<(i64, i64)>,
}

impl BookRow {
    /// The levels of one side.
    pub fn side(&self, side: Side) -> &[(i64, i64)] {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }
}

/// Parses one book row of a level-`levels` file into `out` (reused across rows).
pub fn parse_book_row(
    line: &str,
    levels: usize,
    row: usize,
    out: &mut BookRow,
) -> anyhow::Result<()> {
    parse_book_fields(line, levels, out).with_context(|| format!("book row {row}: {line:?}"))
}

fn parse_book_fields(line: &str, levels: usize, out: &mut BookRow) -> anyhow::Result<()> {
    let fields: Vec<&str> = line.trim_end().split(',').collect();
    ensure!(
        fields.len() == 4 * levels,
        "expected {} columns for --levels {levels}, found {}",
        4 * levels,
        fields.len()
    );
    out.asks.clear();
    out.bids.clear();
    for level in 0..levels {
        let at = |offset: usize| parse_int(fields[4 * level + offset], "book");
        push_level(&mut out.asks, at(0)?, at(1)?, EMPTY_ASK_PRICE, level)?;
        push_level(&mut out.bids, at(2)?, at(3)?, EMPTY_BID_PRICE, level)?;
    }
    ensure_sorted(&out.asks, |better, worse| better < worse, "asks")?;
    ensure_sorted(&out.bids, |better, worse| better > worse, "bids")
}

/// Adds a level, or checks that an empty level is written as LOBSTER's sentinel and that
/// no real level follows an empty one.
fn push_level(
    side: &mut Vec<(i64, i64)>,
    price: i64,
    size: i64,
    empty_price: i64,
    level: usize,
) -> anyhow::Result<()> {
    ensure!(size >= 0, "level {}: negative size {size}", level + 1);
    if size == 0 {
        ensure!(
            price == empty_price,
            "level {}: size 0 with price {price} (an empty level reads {empty_price})",
            level + 1
        );
        return Ok(());
    }
    ensure!(
        side.len() == level,
        "level {}: a real level after an empty one",
        level + 1
    );
    ensure!(
        price > 0,
        "level {}: price {price} must be positive",
        level + 1
    );
    side.push((price, size));
    Ok(())
}

fn ensure_sorted(
    levels: &[(i64, i64)],
    better: impl Fn(i64, i64) -> bool,
    name: &str,
) -> anyhow::Result<()> {
    for pair in levels.windows(2) {
        ensure!(
            better(pair[0].0, pair[1].0),
            "{name} not sorted best first: {} then {}",
            pair[0].0,
            pair[1].0
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_exact_nanoseconds() {
        assert_eq!(
            parse_time_ns("34200.017459617").unwrap(),
            34_200_017_459_617
        );
        assert_eq!(parse_time_ns("34200.18960767").unwrap(), 34_200_189_607_670);
        assert_eq!(parse_time_ns("34200").unwrap(), 34_200_000_000_000);
        assert!(parse_time_ns("34200.0174596171").is_err());
        assert!(parse_time_ns("abc.1").is_err());
    }

    #[test]
    fn message_rows_parse_and_bad_rows_are_named() {
        let message = parse_message("34200.190226476,4,11534792,26,2237500,1", 4).unwrap();
        assert_eq!(message.kind, MessageKind::Execute);
        assert_eq!(message.order_id, 11_534_792);
        assert_eq!((message.size, message.price), (26, 2_237_500));
        assert_eq!(message.side, Side::Buy);
        let hidden = parse_message("34200.017459617,5,0,1,2238200,-1", 1).unwrap();
        assert_eq!(
            (hidden.kind, hidden.side),
            (MessageKind::ExecuteHidden, Side::Sell)
        );
        let halt = parse_message("34300.5,7,0,0,-1,-1", 9).unwrap();
        assert_eq!((halt.kind, halt.price), (MessageKind::Halt, -1));

        let error = parse_message("34200.1,8,1,1,100,1", 17).unwrap_err();
        assert!(format!("{error:#}").contains("message row 17"));
        assert!(format!("{error:#}").contains("unknown event type 8"));
        let error = parse_message("34200.1,1,1,1,100,0", 3).unwrap_err();
        assert!(format!("{error:#}").contains("direction"));
        assert!(parse_message("34200.1,1,1,0,100,1", 3).is_err());
        assert!(parse_message("34200.1,1,1,1,100", 3).is_err());
    }

    #[test]
    fn book_rows_parse_any_depth_and_empty_levels() {
        let mut row = BookRow::default();
        parse_book_row("2239500,100,2231800,100", 1, 1, &mut row).unwrap();
        assert_eq!(row.asks, vec![(2_239_500, 100)]);
        assert_eq!(row.bids, vec![(2_231_800, 100)]);

        let two = "101,5,99,7,9999999999,0,98,1";
        parse_book_row(two, 2, 2, &mut row).unwrap();
        assert_eq!(row.asks, vec![(101, 5)]);
        assert_eq!(row.bids, vec![(99, 7), (98, 1)]);

        let error = parse_book_row(two, 1, 5, &mut row).unwrap_err();
        assert!(format!("{error:#}").contains("book row 5"));
        assert!(format!("{error:#}").contains("expected 4 columns"));
        assert!(parse_book_row("101,5,99,7,100,3,98,1", 2, 1, &mut row).is_err());
        assert!(parse_book_row("101,0,99,7", 1, 1, &mut row).is_err());
        assert!(parse_book_row("9999999999,0,99,7,102,1,98,1", 2, 1, &mut row).is_err());
    }
}
