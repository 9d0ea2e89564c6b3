//! Klines and tickers from both back-ends equal candles computed here, naively and
//! independently, from the same trades: every interval, empty buckets included.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use pinwheel_candles::{
    CandleSource, EmbeddedStore, Interval, Kline, QuestDbCandles, Ticker, TradeRow,
};
use pinwheel_engine::message::Side;
use pinwheel_feed::shipper::{ShipperConfig, TradeShipper};
use pinwheel_feed::status::FeedStatus;

const MINUTE: i64 = 60_000;
const DAY: i64 = 1_440 * MINUTE;
/// 2026-01-07T10:17:23.456Z, a Wednesday.
const FIRST_MS: i64 = 1_767_781_043_456;

/// Two markets over about four weeks: bursts of trades (several per millisecond at times),
/// pauses of minutes, hours and days, and one pause of nine days (an empty week).
fn history() -> Vec<TradeRow> {
    let mut rng = Rng(99);
    let mut time_ns = FIRST_MS * 1_000_000;
    let mut prices = [2_000_000i64, 150_000];
    let mut trades = Vec::new();
    for trade_id in 1..=12_000u64 {
        let gap_ms = match rng.below(1000) {
            0..=199 => 0,
            200..=899 => rng.below(20_000),
            900..=985 => rng.below(2 * 3_600_000),
            986..=998 => rng.below(2 * DAY as u64),
            _ => 0,
        };
        time_ns += gap_ms as i64 * 1_000_000 + rng.below(1_000_000) as i64;
        if trade_id == 6_000 {
            time_ns += 9 * DAY * 1_000_000;
        }
        let market = rng.below(2) as usize;
        prices[market] = (prices[market] + rng.below(41) as i64 - 20).max(1);
        trades.push(TradeRow {
            market: market as u32,
            taker_side: if rng.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            },
            trade_id,
            sequence: trade_id + 100,
            timestamp_ns: time_ns,
            price: prices[market],
            quantity: 1 + rng.below(50_000) as i64,
            maker_order_id: trade_id,
            taker_order_id: trade_id + 1,
        });
    }
    trades
}

fn bucket_len(interval: Interval) -> i64 {
    MINUTE
        * match interval {
            Interval::M1 => 1,
            Interval::M5 => 5,
            Interval::M15 => 15,
            Interval::H1 => 60,
            Interval::H4 => 240,
            Interval::D1 => 1_440,
            Interval::W1 => 10_080,
        }
}

/// Calendar alignment: UTC midnight grid; weeks from Monday 1970-01-05.
fn bucket_open(interval: Interval, ms: i64) -> i64 {
    let origin = if interval == Interval::W1 { 4 * DAY } else { 0 };
    let len = bucket_len(interval);
    origin + (ms - origin).div_euclid(len) * len
}

fn ms(trade: &TradeRow) -> i64 {
    trade.timestamp_ns.div_euclid(1_000_000)
}

/// The klines a query should return, computed trade by trade.
fn reference_klines(
    trades: &[TradeRow],
    market: u32,
    interval: Interval,
    start: Option<i64>,
    end: i64,
    limit: i64,
) -> Vec<Kline> {
    let len = bucket_len(interval);
    let market_trades: Vec<&TradeRow> = trades.iter().filter(|t| t.market == market).collect();
    let (first, last) = match start {
        Some(start) => {
            let mut first = bucket_open(interval, start);
            // Without a trade before it, a forward range starts at its first trade's bucket.
            if !market_trades.iter().any(|t| ms(t) < first) {
                match market_trades.iter().find(|t| ms(t) >= first) {
                    Some(trade) => first = bucket_open(interval, ms(trade)),
                    None => return Vec::new(),
                }
            }
            (
                first,
                bucket_open(interval, end).min(first + (limit - 1) * len),
            )
        }
        None => {
            let last = bucket_open(interval, end);
            (last - (limit - 1) * len, last)
        }
    };
    let mut out = Vec::new();
    let mut open = first;
    while open <= last {
        let inside: Vec<&&TradeRow> = market_trades
            .iter()
            .filter(|t| ms(t) >= open && ms(t) < open + len)
            .collect();
        if let (Some(first_trade), Some(last_trade)) = (inside.first(), inside.last()) {
            out.push(Kline {
                open_time_ms: open,
                close_time_ms: open + len - 1,
                open: first_trade.price,
                high: inside.iter().map(|t| t.price).max().unwrap(),
                low: inside.iter().map(|t| t.price).min().unwrap(),
                close: last_trade.price,
                volume: inside.iter().map(|t| t.quantity).sum(),
                quote_volume: inside
                    .iter()
                    .map(|t| t.price as i128 * t.quantity as i128)
                    .sum(),
                trades: inside.len() as u64,
            });
        } else if let Some(before) = market_trades.iter().rev().find(|t| ms(t) < open) {
            out.push(Kline {
                open_time_ms: open,
                close_time_ms: open + len - 1,
                open: before.price,
                high: before.price,
                low: before.price,
                close: before.price,
                ..Kline::default()
            });
        }
        open += len;
    }
    out
}

fn reference_ticker(trades: &[TradeRow], market: u32, now: i64) -> Ticker {
    let end = now.div_euclid(1000) * 1000 + 1000;
    let start = end - DAY;
    let market_trades: Vec<&TradeRow> = trades.iter().filter(|t| t.market == market).collect();
    let inside: Vec<&&TradeRow> = market_trades
        .iter()
        .filter(|t| ms(t) >= start && ms(t) < end)
        .collect();
    let window = Ticker {
        open_time_ms: start,
        close_time_ms: end - 1,
        ..Ticker::default()
    };
    match (inside.first(), inside.last()) {
        (Some(first), Some(last)) => Ticker {
            open: first.price,
            high: inside.iter().map(|t| t.price).max().unwrap(),
            low: inside.iter().map(|t| t.price).min().unwrap(),
            last: last.price,
            volume: inside.iter().map(|t| t.quantity).sum(),
            quote_volume: inside
                .iter()
                .map(|t| t.price as i128 * t.quantity as i128)
                .sum(),
            trades: inside.len() as u64,
            first_trade_id: first.trade_id,
            last_trade_id: last.trade_id,
            ..window
        },
        _ => {
            let price = market_trades
                .iter()
                .rev()
                .find(|t| ms(t) < start)
                .map_or(0, |t| t.price);
            Ticker {
                open: price,
                high: price,
                low: price,
                last: price,
                ..window
            }
        }
    }
}

/// The suite both back-ends must pass.
async fn suite(name: &str, source: &CandleSource, trades: &[TradeRow]) {
    let first = ms(&trades[0]);
    let last = ms(trades.last().unwrap());
    let middle = ms(&trades[trades.len() / 2]);
    let mut empty_buckets = 0;
    for interval in Interval::ALL {
        let len = bucket_len(interval);
        let queries = [
            (Some(first - 3 * len), last + 3 * len, 1000),
            (Some(0), last + 3 * len, 1000),
            (Some(middle), last + 5 * len, 1000),
            (None, middle, 300),
            (None, last + 2 * len, 7),
            (Some(first + 17 * len + 5), first + 40 * len, 1000),
        ];
        for (market, symbol) in ["BTC-USD", "ETH-USD"].iter().enumerate() {
            for (start, end, limit) in queries {
                let got = source
                    .klines(symbol, interval, start, end, limit)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: klines {symbol} {interval}: {e}"));
                let want =
                    reference_klines(trades, market as u32, interval, start, end, limit as i64);
                assert!(
                    !want.is_empty(),
                    "query {start:?}..{end} {interval} covers nothing"
                );
                empty_buckets += want.iter().filter(|k| k.trades == 0).count();
                assert_eq!(
                    got, want,
                    "{name}: {symbol} {interval} start {start:?} end {end} limit {limit}"
                );
            }
        }
    }
    assert!(empty_buckets > 100, "the history has too few empty buckets");
    for now in [
        last,
        last + 10 * 3_600_000,
        last + 30 * 3_600_000,
        middle + 1,
    ] {
        for (market, symbol) in ["BTC-USD", "ETH-USD"].iter().enumerate() {
            if name == "embedded" && now < last - 3_600_000 {
                continue; // the embedded store keeps per-second tickers for the last 25 h only
            }
            let got = source.ticker_24h(symbol, now).await.unwrap();
            assert_eq!(
                got,
                reference_ticker(trades, market as u32, now),
                "{name}: ticker {symbol} at {now}"
            );
        }
    }
    let unknown = source
        .klines("DOGE-USD", Interval::M1, None, last, 10)
        .await;
    assert_eq!(unknown.unwrap(), vec![]);
    let bad = source.klines("BTC'--", Interval::M1, None, last, 10).await;
    assert_eq!(bad.unwrap_err().code(), "INVALID_MARKET");
    let bad = source.klines("BTC-USD", Interval::M1, None, last, 0).await;
    assert_eq!(bad.unwrap_err().code(), "INVALID_RANGE");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn embedded_candles_match_the_reference() {
    let trades = history();
    let store = Arc::new(EmbeddedStore::new(symbols()));
    for trade in &trades {
        assert!(store.apply(trade));
    }
    runtime().block_on(suite("embedded", &CandleSource::Embedded(store), &trades));
}

#[test]
fn questdb_candles_match_the_reference() {
    let Some(server) = QuestDb::start_or_skip("questdb_candles_match_the_reference") else {
        return;
    };
    let trades = history();
    let config = ShipperConfig {
        questdb: server.url.clone(),
        table: "trades".into(),
        batch_rows: 5_000,
        batch_interval: Duration::from_millis(100),
    };
    let status = Arc::new(FeedStatus::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut shipper = TradeShipper::connect(config, symbols(), status, stop).unwrap();
    for trade in &trades {
        shipper.push(trade).unwrap();
    }
    shipper.flush().unwrap();
    expect_rows(&server.http(), "trades", trades.len() as i64);
    let source = CandleSource::QuestDb(QuestDbCandles::new(&server.url, "trades").unwrap());
    runtime().block_on(suite("questdb", &source, &trades));
}
