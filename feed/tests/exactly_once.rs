//! Every trade lands in QuestDB exactly once: in one run, and across a SIGKILL of the
//! shipping process followed by a restart.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use pinwheel_feed::shipper::{ShipperConfig, TradeShipper};
use pinwheel_feed::status::FeedStatus;

const START_NS: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z

fn server() -> Option<&'static QuestDb> {
    static SERVER: OnceLock<Option<QuestDb>> = OnceLock::new();
    SERVER
        .get_or_init(|| QuestDb::start_or_skip("exactly_once"))
        .as_ref()
}

fn ship(url: &str, table: &str, trades: &[pinwheel_candles::TradeRow], pace: Option<Duration>) {
    let config = ShipperConfig {
        questdb: url.to_string(),
        table: table.to_string(),
        batch_rows: 2_000,
        batch_interval: Duration::from_millis(50),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut shipper =
        TradeShipper::connect(config, symbols(), Arc::new(FeedStatus::default()), stop).unwrap();
    for (index, trade) in trades.iter().enumerate() {
        shipper.push(trade).unwrap();
        if let Some(pace) = pace {
            if index % 500 == 499 {
                shipper.flush().unwrap();
                std::thread::sleep(pace);
            }
        }
        shipper.poll().unwrap();
    }
    shipper.flush().unwrap();
}

#[test]
fn hundred_thousand_trades_land_exactly_once() {
    let Some(server) = server() else { return };
    let trades = synthetic_trades(100_000, START_NS, 7);
    ship(&server.url, "trades_once", &trades, None);
    // Shipping the same trades again (a restart that re-reads the journal) adds nothing.
    ship(&server.url, "trades_once", &trades[40_000..60_000], None);
    let http = server.http();
    expect_rows(&http, "trades_once", 100_000);
    let sum: i64 = trades.iter().map(|t| t.trade_id as i64).sum();
    assert_eq!(id_checksum(&http, "trades_once"), (100_000, 100_000, sum));
    assert_eq!(read_back(&http, "trades_once"), expected_rows(&trades));
}

const CHILD_COUNT: u64 = 60_000;

/// The shipping process of `killed_shipper_restarts_exactly_once`, run as a child of it
/// (ignored when run on its own).
#[test]
#[ignore = "child process of killed_shipper_restarts_exactly_once"]
fn shipper_child() {
    let url = std::env::var("PINWHEEL_FEED_TEST_URL").expect("run by the parent test");
    let trades = synthetic_trades(CHILD_COUNT, START_NS, 11);
    ship(
        &url,
        "trades_killed",
        &trades,
        Some(Duration::from_millis(25)),
    );
}

fn spawn_child(url: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "shipper_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PINWHEEL_FEED_TEST_URL", url)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the shipper child")
}

#[test]
fn killed_shipper_restarts_exactly_once() {
    let Some(server) = server() else { return };
    let http = server.http();
    let mut child = spawn_child(&server.url);
    let deadline = Instant::now() + Duration::from_secs(90);
    while count_rows(&http, "trades_killed") < CHILD_COUNT as i64 / 4 {
        assert!(
            Instant::now() < deadline,
            "the child shipped too little in time"
        );
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");
    let shipped_before_restart = count_rows(&http, "trades_killed");
    assert!(
        shipped_before_restart < CHILD_COUNT as i64,
        "killed mid-way, yet all {shipped_before_restart} rows are in"
    );

    let mut child = spawn_child(&server.url);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "restarted child did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "restarted child failed: {status}");
    expect_rows(&http, "trades_killed", CHILD_COUNT as i64);
    let trades = synthetic_trades(CHILD_COUNT, START_NS, 11);
    let sum: i64 = trades.iter().map(|t| t.trade_id as i64).sum();
    assert_eq!(
        id_checksum(&http, "trades_killed"),
        (CHILD_COUNT as i64, CHILD_COUNT as i64, sum)
    );
    assert_eq!(read_back(&http, "trades_killed"), expected_rows(&trades));
}

#[test]
fn trades_wait_for_the_journal_to_make_them_durable() {
    use pinwheel_journal::{Durability, DurableCursor, JournalConfig, JournalWriter};
    let Some(server) = server() else { return };
    let dirs = tempfile::tempdir().unwrap();
    let run_dir = dirs.path().join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    DurableCursor::create(&run_dir).unwrap(); // durable sequence 0
    let config = ShipperConfig {
        questdb: server.url.clone(),
        table: "trades_gated".into(),
        batch_rows: 10,
        batch_interval: Duration::from_millis(10),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let durable = Some(DurableCursor::open(&run_dir).unwrap());
    let status = Arc::new(FeedStatus::default());
    let mut shipper =
        TradeShipper::connect_gated(config, symbols(), status, stop, durable).unwrap();
    let trades = synthetic_trades(5, START_NS, 3);
    let last_sequence = trades.last().unwrap().sequence;
    let shipping = std::thread::spawn(move || {
        for trade in &trades {
            shipper.push(trade).unwrap();
        }
        shipper.flush().unwrap();
    });
    std::thread::sleep(Duration::from_millis(800));
    let http = server.http();
    assert_eq!(
        count_rows(&http, "trades_gated"),
        0,
        "shipped before durable"
    );
    assert!(!shipping.is_finished());
    // A journal opened past those sequences publishes them as durable.
    let journal = JournalConfig::new(dirs.path().join("journal"), Durability::Async);
    let writer = JournalWriter::open(
        &journal,
        DurableCursor::open(&run_dir).unwrap(),
        last_sequence + 1,
    )
    .unwrap();
    shipping.join().unwrap();
    assert_eq!(
        wait_for_rows(&http, "trades_gated", 5, Duration::from_secs(30)),
        5
    );
    writer.close().unwrap();
}
