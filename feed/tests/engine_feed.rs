//! The feed process end to end: trades made by the real engine (journal + output ring, as
//! the hot loop writes them) reach QuestDB exactly once, across journal catch-up at start,
//! laps of a small output ring, and a SIGKILL of the feed process followed by a restart.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use pinwheel_candles::candle::KlineRange;
use pinwheel_candles::{EmbeddedStore, Interval, TradeRow};
use pinwheel_engine::config::{Capacity, EngineConfig};
use pinwheel_engine::message::Side;
use pinwheel_feed::pipeline::EnginePipeline;
use pinwheel_feed::status::FeedStatus;
use pinwheel_feed::FeedConfig;

fn server() -> Option<&'static QuestDb> {
    static SERVER: OnceLock<Option<QuestDb>> = OnceLock::new();
    SERVER
        .get_or_init(|| QuestDb::start_or_skip("engine_feed"))
        .as_ref()
}

fn engine_config() -> EngineConfig {
    EngineConfig {
        capacity: Capacity {
            orders: 4096,
            users: 16,
            price_levels: 4096,
            api_keys: 4,
            depth_levels: 10,
        },
        ..EngineConfig::default()
    }
}

fn feed_config(
    url: &str,
    table: &str,
    run_dir: &Path,
    data_dir: &Path,
    batch_rows: usize,
) -> FeedConfig {
    FeedConfig {
        questdb: Some(url.to_string()),
        table: table.to_string(),
        run_dir: run_dir.to_path_buf(),
        data_dir: data_dir.to_path_buf(),
        batch_rows,
        batch_interval_ms: 20,
        engine: engine_config(),
        ..FeedConfig::default()
    }
}

/// An exchange with two funded users that trades on demand, remembering every trade.
struct Market {
    pipeline: EnginePipeline,
    maker: u64,
    taker: u64,
    rng: Rng,
    prices: [i64; 3],
}

impl Market {
    fn open(run_dir: &Path, data_dir: &Path) -> Self {
        let mut pipeline =
            EnginePipeline::create(&engine_config(), run_dir, data_dir, 256).unwrap();
        let maker = pipeline.create_user("maker").unwrap();
        let taker = pipeline.create_user("taker").unwrap();
        for user in [maker, taker] {
            for asset in 0..4 {
                pipeline.deposit(user, asset, 1 << 60).unwrap();
            }
        }
        Self {
            pipeline,
            maker,
            taker,
            rng: Rng(5),
            prices: [1_000_000, 200_000, 15_000],
        }
    }

    /// Makes `count` trades; returns them as the engine emitted them.
    fn trade(&mut self, count: usize) -> Vec<TradeRow> {
        let mut made = Vec::with_capacity(count);
        for _ in 0..count {
            let market = self.rng.below(3) as usize;
            self.prices[market] = (self.prices[market] + self.rng.below(21) as i64 - 10).max(100);
            let side = if self.rng.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let quantity = 10 + self.rng.below(90) as i64;
            let (maker, taker, price) = (self.maker, self.taker, self.prices[market]);
            let trade = self
                .pipeline
                .trade(maker, taker, market as u32, side, price, quantity)
                .unwrap();
            assert_eq!((trade.price, trade.quantity), (price, quantity));
            made.push(trade);
            let events = self.pipeline.limit(taker, market as u32, side, price, 0);
            // A zero-quantity order is rejected: it adds a journaled command without a trade.
            assert!(events.iter().all(|e| TradeRow::from_event(e).is_none()));
        }
        made
    }

    /// Every trade the engine made, read from the journal by replaying it independently.
    fn trades_from_journal(&mut self, data_dir: &Path) -> Vec<TradeRow> {
        self.pipeline.wait_durable(Duration::from_secs(10)).unwrap();
        let mut catch_up = pinwheel_feed::catch_up::JournalCatchUp::new(
            data_dir,
            pinwheel_engine::config::MarketTable::resolve(&engine_config()).unwrap(),
            engine_config().capacity,
        );
        let mut trades = Vec::new();
        catch_up
            .run(0, 0, u64::MAX, None, &AtomicBool::new(false), |trade| {
                trades.push(*trade);
                Ok(())
            })
            .unwrap();
        trades
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn embedded_store_rebuilt_from_the_journal_equals_one_fed_live() {
    let dirs = tempfile::tempdir().unwrap();
    let (run_dir, data_dir) = (dirs.path().join("run"), dirs.path().join("data"));
    let mut market = Market::open(&run_dir, &data_dir);
    let live = EmbeddedStore::new(symbols());
    for trade in market.trade(3_000) {
        assert!(live.apply(&trade));
    }
    let rebuilt = EmbeddedStore::new(symbols());
    let replayed = market.trades_from_journal(&data_dir);
    assert_eq!(replayed.len(), 3_000);
    for trade in &replayed {
        assert!(rebuilt.apply(trade));
    }
    let now = pinwheel_feed::status::now_ns() as i64 / 1_000_000;
    for symbol in SYMBOLS {
        let range = KlineRange::new(Interval::M1, None, now, 10).unwrap();
        let klines = |store: &EmbeddedStore| store.klines(symbol, &range).unwrap();
        assert!(!klines(&live).is_empty());
        assert_eq!(klines(&rebuilt), klines(&live), "{symbol}");
        assert_eq!(
            rebuilt.ticker_24h(symbol, now).unwrap(),
            live.ticker_24h(symbol, now).unwrap()
        );
    }
    market.pipeline.close().unwrap();
}

#[test]
fn catch_up_to_a_sequence_waits_for_it_to_be_durable() {
    let dirs = tempfile::tempdir().unwrap();
    let (run_dir, data_dir) = (dirs.path().join("run"), dirs.path().join("data"));
    let mut market = Market::open(&run_dir, &data_dir);
    // Just made: the last frames are staged, not yet in the segment files (async flush).
    let made = market.trade(2_000);
    let durable = pinwheel_journal::DurableCursor::open(&run_dir).unwrap();
    let mut catch_up = pinwheel_feed::catch_up::JournalCatchUp::new(
        &data_dir,
        pinwheel_engine::config::MarketTable::resolve(&engine_config()).unwrap(),
        engine_config().capacity,
    );
    let mut caught = Vec::new();
    let until = market.pipeline.sequence();
    catch_up
        .run(
            0,
            0,
            until,
            Some(&durable),
            &AtomicBool::new(false),
            |trade| {
                caught.push(*trade);
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(catch_up.replayed_to(), until, "stopped before `until`");
    assert_eq!(caught, made);
    market.pipeline.close().unwrap();
}

#[test]
fn engine_trades_reach_questdb_exactly_once() {
    let Some(server) = server() else { return };
    let dirs = tempfile::tempdir().unwrap();
    let (run_dir, data_dir) = (dirs.path().join("run"), dirs.path().join("data"));
    let mut market = Market::open(&run_dir, &data_dir);
    let mut live = market.trade(30_000); // before the feed starts: shipped from the journal

    let status = Arc::new(FeedStatus::default());
    let stop = Arc::new(AtomicBool::new(false));
    let config = feed_config(&server.url, "engine_trades", &run_dir, &data_dir, 10_000);
    let feed = {
        let (status, stop) = (status.clone(), stop.clone());
        std::thread::spawn(move || pinwheel_feed::run_until(config, stop, status))
    };
    wait_until("the feed's start", Duration::from_secs(60), || {
        status.shipped_trade_id.load(Relaxed) > 0
    });
    live.extend(market.trade(70_000)); // live: through the ring, lapping the feed now and then
    let trades = market.trades_from_journal(&data_dir);
    assert_eq!(
        trades, live,
        "the journal replays to the very trades the engine made"
    );
    let last_id = trades.last().unwrap().trade_id;
    wait_until("every trade acknowledged", Duration::from_secs(120), || {
        status.shipped_trade_id.load(Relaxed) == last_id
    });
    stop.store(true, Relaxed);
    feed.join().unwrap().unwrap();
    assert!(
        status.laps_total.load(Relaxed) > 0,
        "a 256-record ring was never lapped: the lap catch-up went untested"
    );
    let http = server.http();
    assert_eq!(
        wait_for_rows(&http, "engine_trades", 100_000, Duration::from_secs(60)),
        100_000
    );
    let sum: i64 = trades.iter().map(|t| t.trade_id as i64).sum();
    assert_eq!(id_checksum(&http, "engine_trades"), (100_000, 100_000, sum));
    assert_eq!(read_back(&http, "engine_trades"), expected_rows(&trades));
    let metrics = std::fs::read_to_string(run_dir.join("feed.metrics")).unwrap();
    assert!(
        metrics.contains(&format!("pinwheel_feed_shipped_trade_id {last_id}")),
        "{metrics}"
    );
    market.pipeline.close().unwrap();
}

/// The feed process of `killed_feed_restarts_exactly_once` (ignored when run on its own).
#[test]
#[ignore = "child process of killed_feed_restarts_exactly_once"]
fn feed_child() {
    let var = |name| std::env::var(name).expect("run by the parent test");
    let config = feed_config(
        &var("PINWHEEL_FEED_TEST_URL"),
        "engine_trades_killed",
        &PathBuf::from(var("PINWHEEL_FEED_TEST_RUN")),
        &PathBuf::from(var("PINWHEEL_FEED_TEST_DATA")),
        500,
    );
    pinwheel_feed::run(config).unwrap();
}

fn spawn_feed(url: &str, run_dir: &Path, data_dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "feed_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PINWHEEL_FEED_TEST_URL", url)
        .env("PINWHEEL_FEED_TEST_RUN", run_dir)
        .env("PINWHEEL_FEED_TEST_DATA", data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the feed child")
}

fn signal(child: &std::process::Child, signal: i32) {
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, signal) };
}

fn wait_exit(child: &mut std::process::Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            signal(child, libc::SIGKILL);
            panic!("the feed child did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn killed_feed_restarts_exactly_once() {
    let Some(server) = server() else { return };
    let http = server.http();
    let table = "engine_trades_killed";
    let dirs = tempfile::tempdir().unwrap();
    let (run_dir, data_dir) = (dirs.path().join("run"), dirs.path().join("data"));
    let mut market = Market::open(&run_dir, &data_dir);
    let mut live = market.trade(40_000);
    let mut child = spawn_feed(&server.url, &run_dir, &data_dir);
    live.extend(market.trade(10_000));
    wait_until("the first rows", Duration::from_secs(90), || {
        count_rows(&http, table) >= 5_000
    });
    signal(&child, libc::SIGKILL);
    assert!(!wait_exit(&mut child, Duration::from_secs(10)).success());
    let at_kill = count_rows(&http, table);
    assert!(
        at_kill < 50_000,
        "killed after shipping everything ({at_kill})"
    );
    live.extend(market.trade(30_000)); // no feed running

    let mut child = spawn_feed(&server.url, &run_dir, &data_dir);
    live.extend(market.trade(20_000)); // live again
    let trades = market.trades_from_journal(&data_dir);
    assert_eq!(trades, live);
    wait_until("every trade in QuestDB", Duration::from_secs(180), || {
        count_rows(&http, table) >= 100_000
    });
    signal(&child, libc::SIGTERM);
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert!(
        status.success(),
        "SIGTERM should stop the feed cleanly: {status}"
    );
    assert_eq!(
        wait_for_rows(&http, table, 100_000, Duration::from_secs(60)),
        100_000
    );
    let sum: i64 = trades.iter().map(|t| t.trade_id as i64).sum();
    assert_eq!(id_checksum(&http, table), (100_000, 100_000, sum));
    assert_eq!(read_back(&http, table), expected_rows(&trades));
    market.pipeline.close().unwrap();
}

#[test]
fn feed_stops_cleanly_while_questdb_is_unreachable() {
    let dirs = tempfile::tempdir().unwrap();
    let (run_dir, data_dir) = (dirs.path().join("run"), dirs.path().join("data"));
    let mut market = Market::open(&run_dir, &data_dir);
    market.trade(10);
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = feed_config(
        &format!("http://127.0.0.1:{closed_port}"),
        "trades",
        &run_dir,
        &data_dir,
        100,
    );
    let status = Arc::new(FeedStatus::default());
    let stop = Arc::new(AtomicBool::new(false));
    let feed = {
        let (status, stop) = (status.clone(), stop.clone());
        std::thread::spawn(move || pinwheel_feed::run_until(config, stop, status))
    };
    wait_until("a failed attempt", Duration::from_secs(30), || {
        status.flush_failures_total.load(Relaxed) > 0
    });
    assert_eq!(status.questdb_up.load(Relaxed), 0);
    stop.store(true, Relaxed);
    let started = Instant::now();
    feed.join()
        .unwrap()
        .expect("a stop while QuestDB is down is a clean stop");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        started.elapsed()
    );
    market.pipeline.close().unwrap();
}
