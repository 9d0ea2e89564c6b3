//! A real QuestDB for the integration tests, started with `scripts/questdb.sh` on free
//! loopback ports and a temporary data directory, stopped when the test binary ends.
//! When it cannot start: under `CI=true` the test fails; otherwise it is skipped, loudly.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use pinwheel_candles::questdb_http::{cell_i64, QuestDbHttp};
use pinwheel_candles::TradeRow;
use pinwheel_engine::message::Side;

/// One QuestDB server owned by this test process.
pub struct QuestDb {
    pub url: String,
    dir: tempfile::TempDir,
    http_port: u16,
    pg_port: u16,
    ilp_port: u16,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/questdb.sh")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().unwrap().port()
}

impl QuestDb {
    /// Starts a fresh server, or returns None (skip) when it cannot start outside CI.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let http_port = free_port();
        let server = Self {
            url: format!("http://127.0.0.1:{http_port}"),
            dir: tempfile::tempdir().expect("temporary directory"),
            http_port,
            pg_port: free_port(),
            ilp_port: free_port(),
        };
        match server.run_script("start") {
            Ok(()) => Some(server),
            Err(error) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("{test}: QuestDB could not be started under CI: {error}")
            }
            Err(error) => {
                eprintln!(
                    "\n!!!!!!!!!! {test} SKIPPED: QuestDB could not be started ({error}).\n\
                     !!!!!!!!!! Needs java 17 and mvn (scripts/questdb.sh). Under CI=true this fails.\n"
                );
                None
            }
        }
    }

    /// Stops the server (the data directory stays), e.g. to simulate an outage.
    pub fn stop(&self) {
        self.run_script("stop").expect("questdb.sh stop");
    }

    /// Starts it again on the same ports and data.
    pub fn restart(&self) {
        self.run_script("start").expect("questdb.sh start");
    }

    pub fn http(&self) -> QuestDbHttp {
        QuestDbHttp::new(&self.url).unwrap()
    }

    fn run_script(&self, command: &str) -> Result<(), String> {
        let output = Command::new("bash")
            .arg(script())
            .arg(command)
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--http-port", &self.http_port.to_string()])
            .args(["--pg-port", &self.pg_port.to_string()])
            .args(["--ilp-port", &self.ilp_port.to_string()])
            .args(["--watch-pid", &std::process::id().to_string()])
            .args(["--wait-seconds", "90"])
            .output()
            .map_err(|e| format!("running {}: {e}", script().display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "questdb.sh {command} exited {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for QuestDb {
    fn drop(&mut self) {
        let _ = self.run_script("stop");
    }
}

/// Waits (bounded) until `table` holds `expected` rows, and returns the count it saw last.
pub fn wait_for_rows(http: &QuestDbHttp, table: &str, expected: i64, timeout: Duration) -> i64 {
    let deadline = Instant::now() + timeout;
    let mut seen = -1;
    while Instant::now() < deadline {
        seen = count_rows(http, table);
        if seen == expected {
            // Let the WAL apply anything still in flight, then look again.
            std::thread::sleep(Duration::from_millis(500));
            return count_rows(http, table);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    seen
}

/// Waits (up to a minute) until `table` holds exactly `expected` rows; fails the test if not.
pub fn expect_rows(http: &QuestDbHttp, table: &str, expected: i64) {
    let count = wait_for_rows(http, table, expected, Duration::from_secs(60));
    assert_eq!(count, expected, "rows in {table}");
}

pub fn count_rows(http: &QuestDbHttp, table: &str) -> i64 {
    match http.exec(&format!("SELECT count() FROM {table}")) {
        Ok(answer) => answer
            .dataset
            .first()
            .and_then(|row| cell_i64(row, 0).ok().flatten())
            .unwrap_or(0),
        Err(_) => -1,
    }
}

/// A small deterministic generator (splitmix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `count` trades with ids 1..=count, a random walk of prices, 1 to 3 trades per command.
pub fn synthetic_trades(count: u64, start_ns: i64, seed: u64) -> Vec<TradeRow> {
    let mut rng = Rng(seed);
    let mut price = 1_000_000i64;
    let mut sequence = 10u64;
    let mut time = start_ns;
    (1..=count)
        .map(|trade_id| {
            if rng.below(3) == 0 {
                sequence += 1 + rng.below(4);
                time += 1_000 + rng.below(2_000_000) as i64;
            }
            price = (price + rng.below(21) as i64 - 10).max(1);
            TradeRow {
                market: (rng.below(3)) as u32,
                taker_side: if rng.below(2) == 0 {
                    Side::Buy
                } else {
                    Side::Sell
                },
                trade_id,
                sequence,
                timestamp_ns: time,
                price,
                quantity: 1 + rng.below(10_000) as i64,
                maker_order_id: trade_id * 2,
                taker_order_id: trade_id * 2 + 1,
            }
        })
        .collect()
}

pub const SYMBOLS: [&str; 3] = ["BTC-USD", "ETH-USD", "SOL-USD"];

pub fn symbols() -> Vec<String> {
    SYMBOLS.iter().map(|s| s.to_string()).collect()
}

/// Reads every row of `table` back, ordered by trade id, as trades (order ids not compared).
pub fn read_back(
    http: &QuestDbHttp,
    table: &str,
) -> Vec<(u64, u64, i64, String, String, i64, i64)> {
    let answer = http
        .exec(&format!(
            "SELECT trade_id, sequence, cast(ts AS LONG), symbol, side, price, quantity \
             FROM {table} ORDER BY trade_id"
        ))
        .expect("read the table back");
    answer
        .dataset
        .iter()
        .map(|row| {
            let int = |i| cell_i64(row, i).unwrap().unwrap();
            let text = |i: usize| row[i].as_str().unwrap().to_string();
            (
                int(0) as u64,
                int(1) as u64,
                int(2),
                text(3),
                text(4),
                int(5),
                int(6),
            )
        })
        .collect()
}

/// What `read_back` should return for `trades`.
pub fn expected_rows(trades: &[TradeRow]) -> Vec<(u64, u64, i64, String, String, i64, i64)> {
    trades
        .iter()
        .map(|t| {
            let side = if t.taker_side == Side::Buy {
                "buy"
            } else {
                "sell"
            };
            (
                t.trade_id,
                t.sequence,
                t.timestamp_ns,
                SYMBOLS[t.market as usize].to_string(),
                side.to_string(),
                t.price,
                t.quantity,
            )
        })
        .collect()
}

/// Count, distinct count and sum of trade ids, computed by QuestDB.
pub fn id_checksum(http: &QuestDbHttp, table: &str) -> (i64, i64, i64) {
    let answer = http
        .exec(&format!(
            "SELECT count(), count_distinct(trade_id), sum(trade_id) FROM {table}"
        ))
        .unwrap();
    let row = &answer.dataset[0];
    let int = |i| cell_i64(row, i).unwrap().unwrap_or(0);
    (int(0), int(1), int(2))
}
