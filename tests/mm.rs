//! The market maker against a real `pinwheel up`: after a few seconds every market has at
//! least N levels on both sides; it survives an edge restart (reconnects, re-syncs, keeps
//! quoting); its inventory stays within its bound while a taker sells into its bids; and
//! on SIGTERM it cancels its orders and exits. `pinwheel up --demo` runs it with its taker:
//! every market trades within seconds while the taker's position stays bounded.
#![allow(clippy::too_many_lines)] // Tests opt out: each scenario reads as one story against a real `pinwheel up`.

mod common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_pinwheel");
const LEVELS: usize = 3;
const MM_USER: &str = "mm-test";
const PASSWORD: &str = "mm-test-password";
/// The mm's deposit of the base asset whose inventory the test watches.
const MM_BTC: f64 = 100.0;
/// BTC-USD: the default level size is 10 x min quantity (0.0001) = 0.001 BTC, and the
/// default bound is 4 x levels x size.
const MM_BTC_BOUND: f64 = 4.0 * LEVELS as f64 * 0.001;

/// A scratch directory, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("pinwheel-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process in its own group: SIGTERM on drop, SIGKILL if it lingers.
struct Running(Child);

impl Running {
    fn start(args: &[&str]) -> Self {
        let child = Command::new(BIN)
            .args(args)
            .env("PINWHEEL_LOG", "warn")
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start pinwheel {args:?}: {e}"));
        Self(child)
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    /// SIGTERM, then waits up to `limit` for the exit status.
    fn stop(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        // SAFETY: kill(2) with plain integers, on the process group this test created.
        unsafe { libc::kill(-self.pid(), libc::SIGTERM) };
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.stop(Duration::from_secs(10)).is_none() {
            // SAFETY: as above; the group did not stop in time.
            unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
            let _ = self.0.wait();
        }
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

struct Edge {
    base: String,
    http: reqwest::blocking::Client,
}

impl Edge {
    fn get(&self, path: &str, token: Option<&str>) -> Option<Value> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().ok()?;
        response
            .status()
            .is_success()
            .then(|| response.json().ok())
            .flatten()
    }

    fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().expect("edge answers");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    fn sign_in(&self, user: &str) -> String {
        let body = json!({"username": user, "password": PASSWORD});
        let (status, answer) = self.post("/api/v1/signup", None, body.clone());
        let answer = if status == 201 {
            answer
        } else {
            self.post("/api/v1/signin", None, body).1
        };
        answer["token"].as_str().expect("a token").to_string()
    }

    fn levels(&self, symbol: &str) -> (usize, usize) {
        let depth = self.get(&format!("/api/v1/depth?symbol={symbol}&limit=50"), None);
        let count = |side: &str| {
            depth
                .as_ref()
                .and_then(|d| d[side].as_array().map(Vec::len))
                .unwrap_or(0)
        };
        (count("bids"), count("asks"))
    }

    fn btc_total(&self, token: &str) -> f64 {
        let balances = self.get("/api/v1/balances", Some(token)).expect("balances");
        let btc = balances
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["asset"] == "BTC");
        let amount = |field: &str| -> f64 {
            btc.map_or(0.0, |b| b[field].as_str().unwrap_or("0").parse().unwrap())
        };
        amount("available") + amount("locked")
    }

    fn open_order_ids(&self, token: &str) -> Vec<u64> {
        self.open_quotes(token)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// (order id, price) of each open order, sorted.
    fn open_quotes(&self, token: &str) -> Vec<(u64, String)> {
        let orders = self
            .get("/api/v1/order/open", Some(token))
            .unwrap_or(json!([]));
        let mut quotes: Vec<(u64, String)> = orders
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|o| Some((o["orderId"].as_u64()?, o["price"].as_str()?.to_string())))
            .collect();
        quotes.sort();
        quotes
    }
}

/// The pid of `up`'s edge child, from /proc.
fn edge_pid(up: i32) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the ")" that ends the command name: state, ppid, ...
            let ppid: i32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let is_edge = cmdline.split(|b| *b == 0).any(|arg| arg == b"edge");
            (ppid == up && is_edge).then_some(pid)
        })
}

/// Starts `pinwheel up` (plus `extra` flags) in `scratch` and waits for its edge; returns
/// it and a client of its edge.
fn start_up(scratch: &Scratch, extra: &[&str]) -> (Running, Edge) {
    let port = common::free_port();
    let data = scratch.0.join("data");
    let run = scratch.0.join("run");
    let port_text = port.to_string();
    let mut args = vec!["up", "--port", &port_text];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--run-dir",
        run.to_str().unwrap(),
        "--wait",
        "backoff",
    ]);
    let up = Running::start(&args);
    let edge = Edge {
        base: format!("http://127.0.0.1:{port}"),
        http: client(),
    };
    wait_until(Duration::from_secs(60), "the edge to answer", || {
        edge.get("/api/v1/markets", None).is_some()
    });
    (up, edge)
}

#[test]
fn market_maker_quotes_every_market_survives_an_edge_restart_and_bounds_inventory() {
    let scratch = Scratch::new("mm");
    let (mut up, edge) = start_up(&scratch, &[]);
    let markets: Vec<String> = edge
        .get("/api/v1/markets", None)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["symbol"].as_str().unwrap().to_string())
        .collect();
    assert!(markets.contains(&"BTC-USD".to_string()), "{markets:?}");

    let mut mm = Running::start(&[
        "mm",
        "--url",
        &edge.base,
        "--levels",
        &LEVELS.to_string(),
        "--spread-bps",
        "20",
        "--rate",
        "5",
        "--seed",
        "42",
        "--username",
        MM_USER,
        "--password",
        PASSWORD,
        "--deposit",
        "USD=100000000,BTC=100,ETH=10000,SOL=1000000",
    ]);
    let all_quoted = |edge: &Edge| {
        markets.iter().all(|m| {
            let (bids, asks) = edge.levels(m);
            bids >= LEVELS && asks >= LEVELS
        })
    };
    wait_until(
        Duration::from_secs(30),
        "N levels on both sides of every market",
        || all_quoted(&edge),
    );
    let mm_token = edge.sign_in(MM_USER);
    assert!(
        !edge.open_quotes(&mm_token).is_empty(),
        "the mm has open orders"
    );

    // Edge restart: kill the edge; `up` starts a new one on the same port.
    let pid = edge_pid(up.pid()).expect("up runs an edge child");
    // SAFETY: kill(2) on the edge process found above, a child of the `up` this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_until(Duration::from_secs(30), "up to restart the edge", || {
        edge_pid(up.pid()).is_some_and(|new| new != pid)
            && edge.get("/api/v1/markets", None).is_some()
    });
    // Quoting again: its orders, as the new edge first shows them, move (the maker requotes
    // by amending, so an order keeps its id and changes its price) or new ones come.
    let at_restart = edge.open_quotes(&mm_token);
    wait_until(
        Duration::from_secs(30),
        "the mm to quote again after the restart",
        || edge.open_quotes(&mm_token) != at_restart && all_quoted(&edge),
    );
    assert!(mm.alive(), "the market maker died with the edge");

    // A taker sells into the mm's BTC bids until it has sold far more than the bound.
    let taker = edge.sign_in("taker");
    let (status, _) = edge.post(
        "/api/v1/on-ramp",
        Some(&taker),
        json!({"asset": "BTC", "amount": "10"}),
    );
    assert!(status < 300, "deposit failed: {status}");
    let mut max_position = 0.0_f64;
    for _ in 0..40 {
        let order =
            json!({"market": "BTC-USD", "side": "sell", "type": "market", "quantity": "0.002"});
        edge.post("/api/v1/order", Some(&taker), order);
        std::thread::sleep(Duration::from_millis(150));
        let position = edge.btc_total(&mm_token) - MM_BTC;
        max_position = max_position.max(position);
        assert!(
            position <= MM_BTC_BOUND + 1e-9,
            "mm holds {position} BTC, bound {MM_BTC_BOUND}"
        );
    }
    assert!(max_position > 0.0, "the taker never traded with the mm");
    assert!(mm.alive());

    // SIGTERM: the mm cancels its orders and exits cleanly.
    let status = mm
        .stop(Duration::from_secs(15))
        .expect("mm stops within 15 s of SIGTERM");
    assert!(status.success(), "mm exited with {status}");
    assert_eq!(
        edge.open_order_ids(&mm_token),
        Vec::<u64>::new(),
        "orders left after exit"
    );
    up.stop(Duration::from_secs(20));
}

/// A decimal string as an integer of 10^-8 (every default asset has at most 8 decimals).
fn units(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let (sign, whole) = match whole.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, whole),
    };
    let fraction = format!("{fraction:0<8}");
    assert!(fraction.len() == 8, "{text} has more than 8 decimals");
    sign * (whole.parse::<i64>().unwrap() * 100_000_000 + fraction.parse::<i64>().unwrap())
}

/// The demo taker's traded position in `symbol`, units of 10^-8 base, from its fills.
fn traded_position(edge: &Edge, token: &str, symbol: &str) -> i64 {
    let fills = edge
        .get(
            &format!("/api/v1/fills?market={symbol}&limit=1000"),
            Some(token),
        )
        .unwrap_or(json!([]));
    fills
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let quantity = units(f["quantity"].as_str().unwrap());
            if f["side"] == "buy" {
                quantity
            } else {
                -quantity
            }
        })
        .sum()
}

#[test]
fn the_demo_taker_makes_every_market_trade_and_keeps_its_position_bounded() {
    let scratch = Scratch::new("demo-taker");
    let (mut up, edge) = start_up(&scratch, &["--demo"]);
    // symbol -> minimum quantity in 10^-8 units.
    let markets: Vec<(String, i64)> = edge
        .get("/api/v1/markets", None)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let symbol = m["symbol"].as_str().unwrap().to_string();
            (symbol, units(m["minQuantity"].as_str().unwrap()))
        })
        .collect();
    let traded = |symbol: &str| {
        let trades = edge.get(&format!("/api/v1/trades?symbol={symbol}&limit=5"), None);
        let klines = edge.get(
            &format!("/api/v1/klines?symbol={symbol}&interval=1m&limit=5"),
            None,
        );
        let has_trades = trades.is_some_and(|t| t.as_array().is_some_and(|a| !a.is_empty()));
        let has_klines = klines.is_some_and(|k| {
            k.as_array()
                .is_some_and(|rows| rows.iter().any(|r| r["trades"] != 0))
        });
        has_trades && has_klines
    };
    wait_until(
        Duration::from_secs(90),
        "trades and klines in every market",
        || markets.iter().all(|(symbol, _)| traded(symbol)),
    );

    // The taker is the mm's account plus "-taker", with the mm's default password.
    let body = json!({"username": "market-maker-taker", "password": "market-maker-password"});
    let (status, answer) = edge.post("/api/v1/signin", None, body);
    assert_eq!(status, 200, "the taker account exists: {answer}");
    let token = answer["token"].as_str().unwrap().to_string();
    // Its balance-based position is held within 13 minimums; fills also count the fees
    // it paid on buys (a fraction of a minimum in a test this short). And the book of
    // every market, sampled every 0.5 s for 20 s, never shows an empty side: the maker
    // moves its quotes with amends, and the taker never takes a side's last level.
    wait_until(
        Duration::from_secs(30),
        "both sides quoted in every market",
        || {
            markets.iter().all(|(symbol, _)| {
                let (bids, asks) = edge.levels(symbol);
                bids > 0 && asks > 0
            })
        },
    );
    let mut moved = false;
    let mut empty = Vec::new();
    for sample in 0..40 {
        let taken = Instant::now();
        for (symbol, minimum) in &markets {
            let (bids, asks) = edge.levels(symbol);
            if bids == 0 || asks == 0 {
                empty.push(format!("sample {sample}: {symbol} {bids}/{asks}"));
            }
            let position = traded_position(&edge, &token, symbol);
            moved |= position != 0;
            assert!(
                position.abs() <= 14 * minimum,
                "{symbol}: taker position {position} x 1e-8, minimum {minimum}"
            );
        }
        std::thread::sleep(Duration::from_millis(500).saturating_sub(taken.elapsed()));
    }
    assert_eq!(
        empty,
        Vec::<String>::new(),
        "bid/ask levels of an empty side"
    );
    assert!(moved, "the taker holds a position at some point");
    assert!(up.alive(), "up is still running");
    // As Ctrl-C does: SIGTERM to up's whole process group.
    assert!(up.stop(Duration::from_secs(20)).is_some(), "up stopped");
    drop(up);

    // `up` stopped the market maker before its edge, so the maker's cancel-all on exit went
    // through: the demo leaves no quote resting in the books.
    let (_again, edge) = start_up(&scratch, &[]);
    let body = json!({"username": "market-maker", "password": "market-maker-password"});
    let (status, answer) = edge.post("/api/v1/signin", None, body);
    assert_eq!(status, 200, "the maker account exists: {answer}");
    let maker = answer["token"].as_str().unwrap();
    assert_eq!(
        edge.open_order_ids(maker),
        Vec::<u64>::new(),
        "the demo's quotes outlived it"
    );
}
