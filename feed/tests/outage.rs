//! QuestDB stopped during shipping and started again: every trade arrives, once, and the
//! feed reported the outage (link down, lag growing) and the recovery.
//! The outage lasts 30 s with PINWHEEL_LONG=1, 4 s otherwise.

mod common;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use pinwheel_feed::shipper::{ShipperConfig, TradeShipper};
use pinwheel_feed::status::FeedStatus;

const COUNT: u64 = 30_000;

#[test]
fn questdb_outage_loses_nothing() {
    let Some(server) = QuestDb::start_or_skip("questdb_outage_loses_nothing") else {
        return;
    };
    let outage = if std::env::var("PINWHEEL_LONG").is_ok_and(|v| v == "1") {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(4)
    };
    let trades = synthetic_trades(COUNT, 1_767_225_600_000_000_000, 23);
    let status = Arc::new(FeedStatus::default());
    let stop = Arc::new(AtomicBool::new(false));
    let config = ShipperConfig {
        questdb: server.url.clone(),
        table: "trades_outage".into(),
        batch_rows: 1_000,
        batch_interval: Duration::from_millis(20),
    };
    let mut shipper =
        TradeShipper::connect(config, symbols(), status.clone(), stop.clone()).unwrap();
    // Trading goes on for 2 s before, during, and 2 s after the outage.
    let trading = outage + Duration::from_secs(4);
    let per_trade = trading / COUNT as u32;
    let shipping = std::thread::spawn(move || {
        let started = Instant::now();
        for (index, trade) in trades.iter().enumerate() {
            let due = started + per_trade * index as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            shipper.push(trade).unwrap();
            shipper.poll().unwrap();
        }
        shipper.flush().unwrap();
    });

    std::thread::sleep(Duration::from_secs(2));
    server.stop();
    let down_at = Instant::now();
    let mut max_lag_ms = 0;
    let mut saw_down = false;
    while down_at.elapsed() < outage {
        saw_down |= status.questdb_up.load(Relaxed) == 0;
        max_lag_ms = max_lag_ms.max(status.lag_ms());
        std::thread::sleep(Duration::from_millis(100));
    }
    server.restart();
    shipping.join().expect("shipping thread");

    assert!(saw_down, "the feed never reported QuestDB down");
    assert!(
        max_lag_ms as u128 >= outage.as_millis() / 2,
        "lag stayed at {max_lag_ms} ms during a {outage:?} outage"
    );
    assert_eq!(status.questdb_up.load(Relaxed), 1);
    assert!(status.flush_failures_total.load(Relaxed) > 0);
    assert_eq!(status.lag_ms(), 0);
    let http = server.http();
    expect_rows(&http, "trades_outage", COUNT as i64);
    let trades = synthetic_trades(COUNT, 1_767_225_600_000_000_000, 23);
    assert_eq!(read_back(&http, "trades_outage"), expected_rows(&trades));
}
