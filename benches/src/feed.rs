//! `pinwheel bench feed`: trades shipped per second into a real QuestDB by the feed, against
//! the floor (questdb-rs alone sending the same number of rows of the same shape), and the
//! lag from a trade's engine time to the row being visible in a query.
//!
//! Throughput: N `Trade` events are published into an output ring as fast as possible; the
//! feed (the `pinwheel feed` code: ring reader, batching, ILP/HTTP, acknowledgements) runs
//! until QuestDB acknowledged the last. Lag: trades are published open-loop at a planned
//! rate, stamped with their planned time; a prober polls `max(trade_id)` and charges each
//! newly visible trade the time since its planned time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use pinwheel_candles::questdb_http::{cell_i64, QuestDbHttp};
use pinwheel_candles::TradeRow;
use pinwheel_engine::message::{Side, RECORD_SIZE};
use pinwheel_feed::schema::create_table_sql;
use pinwheel_feed::status::FeedStatus;
use pinwheel_feed::FeedConfig;
use pinwheel_ring::{output_path, BroadcastWriter};
use questdb::ingress::{Sender, TimestampNanos};
use serde_json::json;

/// Options of `pinwheel bench feed`.
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// QuestDB HTTP address; without it a private QuestDB is started with scripts/questdb.sh.
    #[arg(long)]
    pub questdb: Option<String>,
    /// Trades (and floor rows) to ship for the throughput figures.
    #[arg(long, default_value_t = 1_000_000)]
    pub trades: u64,
    /// Rows per ILP request, for the feed and the floor alike.
    #[arg(long, default_value_t = 10_000)]
    pub batch_rows: usize,
    /// Planned trade rate of the lag phase, trades per second.
    #[arg(long, default_value_t = 50_000)]
    pub lag_rate: u64,
    /// Length of the lag phase, seconds.
    #[arg(long, default_value_t = 5)]
    pub lag_seconds: u64,
}

/// Longest the feed may take to ship a phase before the bench gives up.
const PHASE_TIMEOUT: Duration = Duration::from_secs(600);
/// How often the lag prober asks QuestDB.
const PROBE_EVERY: Duration = Duration::from_millis(10);

/// Runs the benchmark, prints a table, returns the JSON figures.
pub fn run(args: &Args) -> anyhow::Result<serde_json::Value> {
    if args.trades == 0 || args.batch_rows == 0 || args.lag_rate == 0 {
        bail!("--trades, --batch-rows and --lag-rate must be positive");
    }
    let private = match &args.questdb {
        Some(_) => None,
        None => Some(PrivateQuestDb::start()?),
    };
    let url = args
        .questdb
        .clone()
        .or_else(|| private.as_ref().map(|p| p.url.clone()))
        .expect("one of the two is set");
    let http = QuestDbHttp::new(&url)?;
    let suffix = format!("{}_{}", std::process::id(), now_ns() / 1_000_000_000);
    let tables = [
        format!("bench_floor_a_{suffix}"),
        format!("bench_feed_{suffix}"),
        format!("bench_floor_b_{suffix}"),
    ];
    let result = measure(args, &url, &http, &tables);
    for table in &tables {
        let _ = http.exec(&format!("DROP TABLE IF EXISTS {table}"));
    }
    result
}

fn measure(
    args: &Args,
    url: &str,
    http: &QuestDbHttp,
    tables: &[String; 3],
) -> anyhow::Result<serde_json::Value> {
    let trades = synthetic(args.trades, 1, now_ns() as i64);
    // The floor runs before and after the feed (each into a fresh table) and the better run
    // counts, so neither side gains from a server warmed up by the other.
    let floor_before = floor_rows_per_sec(url, http, &tables[0], &trades, args.batch_rows)?;
    let (feed, lag) = feed_figures(args, url, http, &tables[1], &trades)?;
    let floor_after = floor_rows_per_sec(url, http, &tables[2], &trades, args.batch_rows)?;
    let floor = floor_before.max(floor_after);
    let ratio = feed / floor;
    let quantile = |q: f64| lag.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "feed -> QuestDB ({url}), {} trades, {} rows per request",
        args.trades, args.batch_rows
    );
    println!("{:<34} {:>14}", "figure", "value");
    println!("{:<34} {:>14.0}", "floor before feed: rows/s", floor_before);
    println!("{:<34} {:>14.0}", "floor after feed: rows/s", floor_after);
    println!("{:<34} {:>14.0}", "feed: trades/s", feed);
    println!("{:<34} {:>14.2}", "feed / floor", ratio);
    for (name, q) in [
        ("p50", 0.5),
        ("p99", 0.99),
        ("p99.9", 0.999),
        ("p99.99", 0.9999),
    ] {
        println!(
            "{:<34} {:>14.1}",
            format!("lag {name} ms ({}/s open loop)", args.lag_rate),
            quantile(q)
        );
    }
    println!("{:<34} {:>14.1}", "lag max ms", lag.max() as f64 / 1000.0);
    Ok(json!({
        "bench": "feed",
        "trades": args.trades,
        "batch_rows": args.batch_rows,
        "trades_per_sec": feed.round(),
        "floor_rows_per_sec": floor.round(),
        "floor_runs_rows_per_sec": [floor_before.round(), floor_after.round()],
        "ratio_to_floor": (ratio * 1000.0).round() / 1000.0,
        "lag_rate_per_sec": args.lag_rate,
        "lag_ms": {
            "p50": quantile(0.5),
            "p99": quantile(0.99),
            "p99.9": quantile(0.999),
            "p99.99": quantile(0.9999),
            "max": lag.max() as f64 / 1000.0,
        },
    }))
}

/// questdb-rs alone: the same rows, the same batches, one acknowledged request each.
fn floor_rows_per_sec(
    url: &str,
    http: &QuestDbHttp,
    table: &str,
    trades: &[TradeRow],
    batch_rows: usize,
) -> anyhow::Result<f64> {
    http.exec(&create_table_sql(table)?)?;
    let conf = format!("http::addr={};protocol_version=2;", http.host_port());
    let mut sender = Sender::from_conf(&conf).with_context(|| format!("ILP sender for {url}"))?;
    let mut buffer = sender.new_buffer();
    let started = Instant::now();
    for chunk in trades.chunks(batch_rows) {
        for t in chunk {
            buffer
                .table(table)?
                .symbol("symbol", "BTC-USD")?
                .symbol(
                    "side",
                    if t.taker_side == Side::Buy {
                        "buy"
                    } else {
                        "sell"
                    },
                )?
                .column_i64("trade_id", t.trade_id as i64)?
                .column_i64("sequence", t.sequence as i64)?
                .column_i64("price", t.price)?
                .column_i64("quantity", t.quantity)?
                .column_i64("maker_order_id", t.maker_order_id as i64)?
                .column_i64("taker_order_id", t.taker_order_id as i64)?
                .at(TimestampNanos::new(t.timestamp_ns))?;
        }
        sender.flush(&mut buffer)?;
    }
    Ok(trades.len() as f64 / started.elapsed().as_secs_f64())
}

/// The feed's throughput (trades/s) and its lag histogram (microseconds).
fn feed_figures(
    args: &Args,
    url: &str,
    http: &QuestDbHttp,
    table: &str,
    trades: &[TradeRow],
) -> anyhow::Result<(f64, Histogram<u64>)> {
    let lag_count = args.lag_rate * args.lag_seconds;
    let capacity = (args.trades + lag_count).next_power_of_two().max(1024) as usize;
    let run_dir = scratch_dir("run")?;
    let data_dir = scratch_dir("data")?;
    let mut ring =
        BroadcastWriter::open_or_create(&output_path(run_dir.path()), RECORD_SIZE, capacity)?;
    let status = Arc::new(FeedStatus::default());
    let stop = Arc::new(AtomicBool::new(false));
    let config = FeedConfig {
        questdb: Some(url.to_string()),
        table: table.to_string(),
        run_dir: run_dir.path().to_path_buf(),
        data_dir: data_dir.path().to_path_buf(),
        batch_rows: args.batch_rows,
        batch_interval_ms: 50,
        ..FeedConfig::default()
    };
    let feed = {
        let (status, stop) = (status.clone(), stop.clone());
        std::thread::spawn(move || pinwheel_feed::run_until(config, stop, status))
    };
    let outcome = (|| {
        wait_attached(http, table, &feed)?;
        let started = Instant::now();
        for chunk in trades.chunks(1024) {
            ring.publish_batch(
                chunk
                    .iter()
                    .map(|t| t.to_event())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|e| &e.as_bytes()[..]),
            );
        }
        wait_shipped(&status, args.trades, &feed)?;
        let per_sec = args.trades as f64 / started.elapsed().as_secs_f64();
        let lag = lag_phase(args, http, table, &mut ring, &status, &feed)?;
        Ok((per_sec, lag))
    })();
    stop.store(true, Relaxed);
    let joined = feed
        .join()
        .map_err(|_| anyhow::anyhow!("the feed thread panicked"))?;
    joined.context("the feed stopped with an error")?;
    outcome
}

/// Publishes trades at the planned rate, stamped with their planned time, while a prober
/// measures when each becomes visible.
fn lag_phase(
    args: &Args,
    http: &QuestDbHttp,
    table: &str,
    ring: &mut BroadcastWriter,
    status: &FeedStatus,
    feed: &std::thread::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<Histogram<u64>> {
    let count = args.lag_rate * args.lag_seconds;
    let first_id = args.trades + 1;
    let interval_ns = 1_000_000_000 / args.lag_rate;
    let start_ns = now_ns() + 50_000_000;
    let planned = move |id: u64| start_ns + (id - first_id) * interval_ns;
    let prober = {
        let (http, table) = (http.clone(), table.to_string());
        std::thread::spawn(move || probe(&http, &table, first_id, count, planned))
    };
    let mut id = first_id;
    while id < first_id + count {
        let now = now_ns();
        let mut due = Vec::new();
        while id < first_id + count && planned(id) <= now {
            due.push(synthetic(1, id, planned(id) as i64)[0].to_event());
            id += 1;
        }
        ring.publish_batch(due.iter().map(|e| &e.as_bytes()[..]));
        if feed.is_finished() {
            bail!("the feed stopped during the lag phase");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    wait_shipped(status, args.trades + count, feed)?;
    prober
        .join()
        .map_err(|_| anyhow::anyhow!("the prober panicked"))?
}

fn probe(
    http: &QuestDbHttp,
    table: &str,
    first_id: u64,
    count: u64,
    planned: impl Fn(u64) -> u64,
) -> anyhow::Result<Histogram<u64>> {
    let mut lag = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
    let mut seen = first_id - 1;
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while seen < first_id + count - 1 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "lag phase: rows not visible in time"
        );
        let answer = http.exec(&format!("SELECT max(trade_id) FROM {table}"))?;
        let visible = answer
            .dataset
            .first()
            .and_then(|row| cell_i64(row, 0).ok().flatten())
            .unwrap_or(0) as u64;
        let now = now_ns();
        for id in (seen + 1)..=visible.min(first_id + count - 1) {
            lag.record(now.saturating_sub(planned(id)).max(1_000) / 1_000)?;
        }
        seen = seen.max(visible);
        std::thread::sleep(PROBE_EVERY);
    }
    Ok(lag)
}

fn wait_attached(
    http: &QuestDbHttp,
    table: &str,
    feed: &std::thread::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    // The feed attaches to the ring first, then creates its table.
    while http.exec(&format!("SELECT count() FROM {table}")).is_err() {
        anyhow::ensure!(!feed.is_finished(), "the feed stopped before attaching");
        anyhow::ensure!(Instant::now() < deadline, "the feed did not start in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    Ok(())
}

fn wait_shipped(
    status: &FeedStatus,
    last_id: u64,
    feed: &std::thread::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while status.shipped_trade_id.load(Relaxed) < last_id {
        anyhow::ensure!(
            !feed.is_finished(),
            "the feed stopped before shipping everything"
        );
        anyhow::ensure!(
            Instant::now() < deadline,
            "the feed did not ship {last_id} trades in time"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// `count` trades from id `first_id`, all stamped `time_ns` + their index.
fn synthetic(count: u64, first_id: u64, time_ns: i64) -> Vec<TradeRow> {
    (0..count)
        .map(|i| {
            let id = first_id + i;
            TradeRow {
                market: 0,
                taker_side: if id.is_multiple_of(2) {
                    Side::Buy
                } else {
                    Side::Sell
                },
                trade_id: id,
                sequence: id + 10,
                timestamp_ns: time_ns + i as i64,
                price: 1_000_000 + (id % 1000) as i64,
                quantity: 1 + (id % 97) as i64,
                maker_order_id: 2 * id,
                taker_order_id: 2 * id + 1,
            }
        })
        .collect()
}

fn scratch_dir(what: &str) -> anyhow::Result<tempfile::TempDir> {
    let parent = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix(&format!("pinwheel-bench-feed-{what}-"))
        .tempdir_in(parent)
        .context("scratch directory")
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A QuestDB started for this run with scripts/questdb.sh, stopped on drop.
struct PrivateQuestDb {
    url: String,
    dir: tempfile::TempDir,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/questdb.sh")
}

impl PrivateQuestDb {
    fn start() -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let pg = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let ilp = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = tempfile::Builder::new()
            .prefix("pinwheel-bench-questdb-")
            .tempdir()?;
        let status = std::process::Command::new("bash")
            .arg(script())
            .args(["start", "--dir"])
            .arg(dir.path())
            .args([
                "--http-port",
                &port.to_string(),
                "--pg-port",
                &pg.to_string(),
            ])
            .args(["--ilp-port", &ilp.to_string()])
            .args(["--watch-pid", &std::process::id().to_string()])
            .status()
            .with_context(|| format!("running {}", script().display()))?;
        anyhow::ensure!(
            status.success(),
            "scripts/questdb.sh start failed ({status}); pass --questdb URL"
        );
        Ok(Self {
            url: format!("http://127.0.0.1:{port}"),
            dir,
        })
    }
}

impl Drop for PrivateQuestDb {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(script())
            .args(["stop", "--dir"])
            .arg(self.dir.path())
            .status();
    }
}
