//! `pinwheel bench e2e`: open-loop HTTP order round trips over loopback against a real
//! engine (child process) and edge (in this process), the HTTP floor (a bare axum handler
//! returning a fixed body, same client, same runtime kind), a closed-loop saturation run for
//! the sustained maximum, and the latency from an engine event (its own timestamp) to a
//! WebSocket client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

mod futex_floor;

/// Options of the end-to-end benchmark.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Planned orders per second, one measurement each (open loop).
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000,10000")]
    pub rates: Vec<u64>,
    /// Seconds measured per rate.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Keep-alive connections (one client thread and one user each).
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Seconds of the closed-loop saturation run.
    #[arg(long, default_value_t = 2)]
    pub saturation_seconds: u64,
    /// Trades timed from engine event to WebSocket client.
    #[arg(long, default_value_t = 300)]
    pub ws_trades: u64,
    /// Wait strategies of engine and edge to measure, one run each (default: every one this
    /// host's cores allow; the first is the default mode the top-level figures describe).
    #[arg(long = "waits", alias = "wait", value_delimiter = ',')]
    pub waits: Vec<String>,
    /// Also measure `sync` durability (default wait, journal under `--journal-parent`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub sync: bool,
    /// Where the `sync` run keeps its journal (a temporary folder inside; the default data
    /// directory is on the disk the exchange runs from, the run directory stays on tmpfs).
    #[arg(long, default_value = ".")]
    pub journal_parent: PathBuf,
    /// Core for the engine thread.
    #[arg(long)]
    pub engine_core: Option<usize>,
    /// The pinwheel binary that runs the engine (default: this executable).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

/// The wait strategies this host can run end to end: `spin` needs a core each for the
/// engine and the edge's reader plus two for HTTP; `spin-yield` one fewer.
pub fn waits_the_cores_allow(cores: usize) -> Vec<String> {
    let mut waits = vec!["park".to_string(), "backoff".to_string()];
    if cores >= 3 {
        waits.push("spin-yield".to_string());
    }
    if cores >= 4 {
        waits.push("spin".to_string());
    }
    waits
}

/// A minimal HTTP/1.1 keep-alive client: no pool, no allocation per request beyond the answer.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    fn open(address: SocketAddr) -> anyhow::Result<Self> {
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting {address}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(8192),
        })
    }

    fn request_bytes(method: &str, path: &str, token: Option<&str>, body: &str) -> Vec<u8> {
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Sends prepared bytes; returns the status and the body.
    fn send(&mut self, request: &[u8]) -> anyhow::Result<(u16, &[u8])> {
        self.stream.write_all(request)?;
        self.buffer.clear();
        let mut chunk = [0u8; 4096];
        let header_end = loop {
            let read = self.stream.read(&mut chunk)?;
            if read == 0 {
                bail!("connection closed");
            }
            self.buffer.extend_from_slice(&chunk[..read]);
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
        };
        let head = std::str::from_utf8(&self.buffer[..header_end])?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .context("status line")?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_string())
            })
            .and_then(|v| v.parse().ok())
            .context("content-length")?;
        while self.buffer.len() < header_end + length {
            let read = self.stream.read(&mut chunk)?;
            if read == 0 {
                bail!("connection closed mid-body");
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
        Ok((status, &self.buffer[header_end..header_end + length]))
    }

    fn json(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<Value> {
        let request = Self::request_bytes(method, path, token, &body.to_string());
        let (status, bytes) = self.send(&request)?;
        let value: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            bail!("{method} {path}: {status} {value}");
        }
        Ok(value)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The engine child process; stopped with SIGTERM on drop.
struct Engine(Child);

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_engine(
    args: &Args,
    run: &RunKind,
    run_dir: &std::path::Path,
    data_dir: &std::path::Path,
) -> anyhow::Result<Engine> {
    let binary = match &args.binary {
        Some(path) => path.clone(),
        None => std::env::current_exe()?,
    };
    let mut command = Command::new(binary);
    command
        .arg("engine")
        .arg("--run-dir")
        .arg(run_dir)
        .arg("--data-dir")
        .arg(data_dir);
    command
        .args(["--wait", &run.wait, "--durability", run.durability])
        .env("PINWHEEL_LOG", "warn");
    if let Some(core) = args.engine_core {
        command.args(["--core", &core.to_string()]);
    }
    Ok(Engine(
        command
            .stdin(Stdio::null())
            .spawn()
            .context("starting the engine")?,
    ))
}

/// Runs a server on its own thread until the returned sender is dropped.
fn spawn_server(
    serve: impl FnOnce(tokio::sync::oneshot::Receiver<()>) -> anyhow::Result<()> + Send + 'static,
) -> (
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<anyhow::Result<()>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel();
    (stop, std::thread::spawn(move || serve(stopped)))
}

fn floor_server(port: u16, stopped: tokio::sync::oneshot::Receiver<()>) -> anyhow::Result<()> {
    let body = json!({ "orderId": 1, "clientOrderId": "", "market": "BTC-USD", "side": "buy", "type": "limit",
        "timeInForce": "IOC", "price": "1", "quantity": "0.001", "status": "EXPIRED", "executedQty": "0",
        "remainingQty": "0.001", "executedQuoteQty": "0", "fills": [] });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/api/v1/order",
            axum::routing::post(move || {
                let body = body.clone();
                async move { axum::Json(body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await?;
        Ok(())
    })
}

fn wait_healthy(address: SocketAddr, path: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut connection) = Connection::open(address) {
            let request = Connection::request_bytes("GET", path, None, "");
            if matches!(connection.send(&request), Ok((200, _))) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("{address}{path} did not answer 200 within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Signs up one user per connection with balances; returns their tokens.
fn make_users(address: SocketAddr, count: usize) -> anyhow::Result<Vec<String>> {
    let mut connection = Connection::open(address)?;
    let mut tokens = Vec::new();
    for i in 0..count {
        let answer = connection.json(
            "POST",
            "/api/v1/signup",
            None,
            json!({ "username": format!("bench{i}"), "password": "bench password" }),
        )?;
        let token = answer["token"].as_str().context("token")?.to_string();
        for (asset, amount) in [("USD", "1000000000"), ("BTC", "1000000")] {
            connection.json(
                "POST",
                "/api/v1/on-ramp",
                Some(&token),
                json!({ "asset": asset, "amount": amount }),
            )?;
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// Orders that go through the whole path and leave the book as it was: IOC far from any price.
fn order_requests(token: &str) -> [Vec<u8>; 2] {
    let buy = r#"{"market":"BTC-USD","side":"buy","type":"limit","timeInForce":"IOC","price":"1","quantity":"0.001"}"#;
    let sell = r#"{"market":"BTC-USD","side":"sell","type":"limit","timeInForce":"IOC","price":"1000000","quantity":"0.001"}"#;
    [
        Connection::request_bytes("POST", "/api/v1/order", Some(token), buy),
        Connection::request_bytes("POST", "/api/v1/order", Some(token), sell),
    ]
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Open loop at `rate` per second for `seconds` over one connection per token; latency from
/// each request's planned send time.
fn open_loop(
    address: SocketAddr,
    tokens: &[String],
    rate: u64,
    seconds: u64,
) -> anyhow::Result<(Histogram<u64>, u64)> {
    let total = rate * seconds;
    let connections = tokens.len() as u64;
    let start = Instant::now() + Duration::from_millis(50);
    let threads: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(k, token)| {
            let requests = order_requests(token);
            std::thread::spawn(move || -> anyhow::Result<(Histogram<u64>, u64)> {
                let mut connection = Connection::open(address)?;
                let mut histogram = new_histogram();
                let mut errors = 0;
                let mut i = k as u64;
                while i < total {
                    let planned = start + Duration::from_nanos(i * 1_000_000_000 / rate);
                    if let Some(wait) = planned.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let (status, _) = connection.send(&requests[(i / connections % 2) as usize])?;
                    if status != 200 {
                        errors += 1;
                    }
                    histogram.record(planned.elapsed().as_nanos().max(1) as u64)?;
                    i += connections;
                }
                Ok((histogram, errors))
            })
        })
        .collect();
    let mut merged = new_histogram();
    let mut errors = 0;
    for thread in threads {
        let (histogram, failed) = thread
            .join()
            .map_err(|_| anyhow::anyhow!("client thread panicked"))??;
        merged.add(&histogram)?;
        errors += failed;
    }
    Ok((merged, errors))
}

/// Closed loop, every connection back to back: the sustained orders per second.
fn saturation(address: SocketAddr, tokens: &[String], seconds: u64) -> anyhow::Result<f64> {
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let threads: Vec<_> = tokens
        .iter()
        .map(|token| {
            let requests = order_requests(token);
            std::thread::spawn(move || -> anyhow::Result<u64> {
                let mut connection = Connection::open(address)?;
                let mut done = 0u64;
                while Instant::now() < end {
                    let (status, _) = connection.send(&requests[(done % 2) as usize])?;
                    if status == 200 {
                        done += 1;
                    }
                }
                Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for thread in threads {
        total += thread
            .join()
            .map_err(|_| anyhow::anyhow!("client thread panicked"))??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Engine trade timestamp -> WebSocket client arrival, for `count` trades.
fn ws_latency(
    address: SocketAddr,
    maker_token: &str,
    taker_token: &str,
    count: u64,
) -> anyhow::Result<Histogram<u64>> {
    let (mut socket, _) =
        tungstenite::connect(format!("ws://{address}/ws")).context("websocket connect")?;
    if let tungstenite::stream::MaybeTlsStream::Plain(stream) = socket.get_ref() {
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    }
    let subscribe =
        json!({ "method": "SUBSCRIBE", "params": ["trade@BTC-USD"], "id": 1 }).to_string();
    socket.send(tungstenite::Message::Text(subscribe.into()))?;
    let mut connection = Connection::open(address)?;
    let maker = Connection::request_bytes(
        "POST",
        "/api/v1/order",
        Some(maker_token),
        r#"{"market":"BTC-USD","side":"sell","type":"limit","price":"100","quantity":"0.001"}"#,
    );
    let taker = Connection::request_bytes(
        "POST",
        "/api/v1/order",
        Some(taker_token),
        r#"{"market":"BTC-USD","side":"buy","type":"limit","timeInForce":"IOC","price":"100","quantity":"0.001"}"#,
    );
    let mut histogram = new_histogram();
    let mut recorded = 0;
    while recorded < count {
        connection.send(&maker)?;
        let (status, _) = connection.send(&taker)?;
        if status != 200 {
            bail!("taker order answered {status}");
        }
        loop {
            let message = socket
                .read()
                .context("waiting for the trade on the WebSocket")?;
            let arrived = now_ns();
            let tungstenite::Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str())?;
            if let Some(stamp) = value["data"]["timeNs"].as_u64() {
                let latency = arrived.saturating_sub(stamp).max(1);
                histogram.record(latency).with_context(|| {
                    format!("latency {latency} ns (stamp {stamp}, arrival {arrived})")
                })?;
                recorded += 1;
                break;
            }
        }
    }
    Ok(histogram)
}

fn percentiles(histogram: &Histogram<u64>) -> Value {
    json!({
        "p50": histogram.value_at_quantile(0.50),
        "p99": histogram.value_at_quantile(0.99),
        "p999": histogram.value_at_quantile(0.999),
        "p9999": histogram.value_at_quantile(0.9999),
        "max": histogram.max(),
    })
}

fn micros(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

fn print_row(name: &str, histogram: &Histogram<u64>, note: &str) {
    let q = |p: f64| micros(histogram.value_at_quantile(p));
    println!(
        "{name:<34}{:>10}{:>10}{:>10}{:>10}{:>10}  {note}",
        q(0.5),
        q(0.99),
        q(0.999),
        q(0.9999),
        micros(histogram.max())
    );
}

/// One configuration the benchmark measures: a wait strategy and a durability.
#[derive(Clone, Debug)]
pub struct RunKind {
    /// The wait strategy of the engine, the flusher and the edge.
    pub wait: String,
    /// `none` or `sync`.
    pub durability: &'static str,
}

/// Everything the benchmark starts, stopped in reverse on drop.
struct Setup {
    edge: SocketAddr,
    floor: SocketAddr,
    stops: Vec<(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<anyhow::Result<()>>,
    )>,
    _engine: Engine,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Drop for Setup {
    fn drop(&mut self) {
        for (stop, thread) in self.stops.drain(..) {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

/// The run directory on tmpfs (as by default); the data directory on tmpfs too, unless the
/// journal must reach a disk (`sync`), then under `--journal-parent`.
fn directories(
    args: &Args,
    run: &RunKind,
) -> anyhow::Result<(tempfile::TempDir, tempfile::TempDir)> {
    let shm = std::path::Path::new("/dev/shm");
    let volatile = || {
        if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
    };
    let data = if run.durability == "sync" {
        tempfile::Builder::new()
            .prefix("pinwheel-e2e-journal-")
            .tempdir_in(&args.journal_parent)
            .with_context(|| format!("a journal folder in {}", args.journal_parent.display()))?
    } else {
        volatile()?
    };
    Ok((volatile()?, data))
}

fn start(args: &Args, run: &RunKind) -> anyhow::Result<Setup> {
    let dirs = directories(args, run)?;
    let (run_dir, data_dir) = (dirs.0.path().join("run"), dirs.1.path().join("data"));
    let engine = start_engine(args, run, &run_dir, &data_dir)?;
    let edge = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let floor = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let config = pinwheel_edge::EdgeConfig {
        port: edge.port(),
        run_dir,
        data_dir,
        wait: run.wait.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        durability: run.durability.into(),
        rate_limit_per_user: 0,
        rate_limit_per_ip: 0,
        ..Default::default()
    };
    let mut stops = vec![spawn_server(move |stopped| {
        pinwheel_edge::run_until(config, async move {
            let _ = stopped.await;
        })
    })];
    stops.push(spawn_server(move |stopped| {
        floor_server(floor.port(), stopped)
    }));
    let setup = Setup {
        edge,
        floor,
        stops,
        _engine: engine,
        _dirs: dirs,
    };
    wait_healthy(setup.edge, "/healthz")?;
    Ok(setup)
}

/// What one configuration measured.
struct Measured {
    orders: Vec<(u64, Histogram<u64>)>,
    floors: Vec<(u64, Histogram<u64>)>,
    hops: Vec<(u64, Value)>,
    max: f64,
    ws: Histogram<u64>,
}

/// Starts engine and edge with `run`, measures every rate (each beside the bare handler),
/// the sustained maximum and the WebSocket latency; prints the rows.
fn measure_kind(args: &Args, run: &RunKind) -> anyhow::Result<Measured> {
    let setup = start(args, run)?;
    let tokens = make_users(setup.edge, args.connections)?;
    eprintln!(
        "e2e bench ({} wait, {} durability): warm-up ...",
        run.wait, run.durability
    );
    open_loop(setup.edge, &tokens, 1000, 1)?;
    open_loop(setup.floor, &tokens, 1000, 1)?;
    let (mut orders, mut floors, mut hops) = (Vec::new(), Vec::new(), Vec::new());
    for &rate in &args.rates {
        eprintln!("e2e bench: {rate} orders/s for {} s ...", args.seconds);
        pinwheel_edge::link::hops::take();
        let (measured, errors) = open_loop(setup.edge, &tokens, rate, args.seconds)?;
        let hop_figures = hops_json(&pinwheel_edge::link::hops::take());
        let (bare, _) = open_loop(setup.floor, &tokens, rate, args.seconds)?;
        let label = format!("{} {} @{rate}/s", run.wait, run.durability);
        print_row(
            &format!("orders {label}"),
            &measured,
            &format!("{errors} errors"),
        );
        print_row(&format!("HTTP floor @{rate}/s"), &bare, "");
        print_hops(&hop_figures);
        orders.push((rate, measured));
        floors.push((rate, bare));
        hops.push((rate, hop_figures));
    }
    let max = saturation(setup.edge, &tokens, args.saturation_seconds.max(1))?;
    println!(
        "sustained orders/s ({} wait, {} connections): {max:.0}",
        run.wait, args.connections
    );
    let ws = ws_latency(setup.edge, &tokens[0], &tokens[1], args.ws_trades.max(1))?;
    print_row(&format!("event -> WS client ({})", run.wait), &ws, "");
    Ok(Measured {
        orders,
        floors,
        hops,
        max,
        ws,
    })
}

/// Per hop of the order path, as the edge's link measured it.
fn hops_json(hops: &[pinwheel_edge::link::hops::HopFigures]) -> Value {
    let mut map = serde_json::Map::new();
    for hop in hops {
        map.insert(
            hop.name.to_string(),
            json!({ "count": hop.count, "p50": hop.p50_ns, "p99": hop.p99_ns }),
        );
    }
    Value::Object(map)
}

fn print_hops(hops: &Value) {
    let Some(map) = hops.as_object() else { return };
    for (name, figures) in map {
        println!(
            "  hop {name:<22}{:>10}{:>10}",
            micros(figures["p50"].as_u64().unwrap_or(0)),
            micros(figures["p99"].as_u64().unwrap_or(0))
        );
    }
}

fn by_rate(rows: &[(u64, Histogram<u64>)]) -> Value {
    let map: serde_json::Map<String, Value> = rows
        .iter()
        .map(|(rate, histogram)| (rate.to_string(), percentiles(histogram)))
        .collect();
    Value::Object(map)
}

fn ratio(a: &Histogram<u64>, b: &Histogram<u64>, q: f64) -> f64 {
    a.value_at_quantile(q) as f64 / b.value_at_quantile(q).max(1) as f64
}

impl Measured {
    fn ratios(&self) -> Value {
        let map: serde_json::Map<String, Value> = self
            .orders
            .iter()
            .zip(&self.floors)
            .map(|((rate, orders), (_, bare))| {
                let p =
                    json!({ "p50": ratio(orders, bare, 0.5), "p99": ratio(orders, bare, 0.99) });
                (rate.to_string(), p)
            })
            .collect();
        Value::Object(map)
    }

    fn json(&self) -> Value {
        let hops: serde_json::Map<String, Value> = self
            .hops
            .iter()
            .map(|(rate, hops)| (rate.to_string(), hops.clone()))
            .collect();
        json!({
            "max_orders_per_sec": self.max.round() as u64,
            "http_rtt_ns": by_rate(&self.orders),
            "http_floor_ns": by_rate(&self.floors),
            "ratio_to_floor": self.ratios(),
            "hops_ns": hops,
            "ws_ns": percentiles(&self.ws),
        })
    }
}

/// `sync` against `none` plus the group-commit floor (the goal's terms), per rate.
fn sync_json(args: &Args, sync: &Measured, none: &Measured) -> anyhow::Result<Value> {
    let (mut floors, mut ratios) = (serde_json::Map::new(), serde_json::Map::new());
    for ((rate, synced), (_, plain)) in sync.orders.iter().zip(&none.orders) {
        let dir = tempfile::Builder::new()
            .prefix("pinwheel-e2e-group-commit-")
            .tempdir_in(&args.journal_parent)?;
        let count = (rate * args.seconds).clamp(200, 20_000) as usize;
        let floor = pinwheel_journal::measure::measure_group_commit(dir.path(), *rate, count)?;
        print_row(
            &format!("group-commit floor @{rate}/s"),
            &floor,
            "bare pwrite + fdatasync",
        );
        let p50_goal = plain.value_at_quantile(0.5) + floor.value_at_quantile(0.5);
        let p50 = synced.value_at_quantile(0.5) as f64 / p50_goal.max(1) as f64;
        let p99 = ratio(synced, &floor, 0.99);
        println!("sync @{rate}/s: p50 {p50:.2}x (none + floor p50), p99 {p99:.2}x the floor's p99");
        ratios.insert(
            rate.to_string(),
            json!({ "p50_to_none_plus_floor": p50, "p99_to_floor": p99 }),
        );
        floors.insert(rate.to_string(), percentiles(&floor));
    }
    let mut value = sync.json();
    value["group_commit_floor_ns"] = Value::Object(floors);
    value["sync_goal_ratios"] = Value::Object(ratios);
    Ok(value)
}

fn check_args(args: &Args) -> anyhow::Result<Vec<String>> {
    if args.rates.is_empty() || args.rates.contains(&0) || args.connections < 2 || args.seconds == 0
    {
        bail!("--rates must be positive, --connections at least 2, --seconds at least 1");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let waits = if args.waits.is_empty() {
        waits_the_cores_allow(cores)
    } else {
        args.waits.clone()
    };
    for wait in &waits {
        wait.parse::<pinwheel_ring::WaitStrategy>()
            .map_err(|e| anyhow::anyhow!("--waits: {e}"))?;
    }
    Ok(waits)
}

/// Runs the benchmark, prints its table, returns the JSON figures.
pub fn run(args: &Args) -> anyhow::Result<Value> {
    let waits = check_args(args)?;
    // First, while this process has one thread (it forks): the floor of a parked hop.
    let pingpong = futex_floor::measure(1000, 2000)?;
    println!(
        "{:<34}{:>10}{:>10}{:>10}{:>10}{:>10}  (microseconds)",
        "", "p50", "p99", "p99.9", "p99.99", "max"
    );
    print_row(
        "futex ping-pong, 2 processes",
        &pingpong,
        "two parked wake-ups per round trip",
    );
    let mut modes = serde_json::Map::new();
    let mut measured = Vec::new();
    for wait in &waits {
        let kind = RunKind {
            wait: wait.clone(),
            durability: "none",
        };
        let figures = measure_kind(args, &kind)?;
        modes.insert(wait.clone(), figures.json());
        measured.push(figures);
    }
    let default = &measured[0];
    for (rate, r) in default.ratios().as_object().into_iter().flatten() {
        println!(
            "{} ratio to floor @{rate}/s: p50 {:.2}x, p99 {:.2}x",
            waits[0],
            r["p50"].as_f64().unwrap_or(0.0),
            r["p99"].as_f64().unwrap_or(0.0)
        );
    }
    let mut summary = default.json();
    summary["bench"] = json!("e2e");
    summary["wait"] = json!(waits[0]);
    summary["futex_pingpong_ns"] = percentiles(&pingpong);
    if args.sync {
        let kind = RunKind {
            wait: waits[0].clone(),
            durability: "sync",
        };
        let sync = measure_kind(args, &kind)?;
        summary["sync"] = sync_json(args, &sync, default)?;
    }
    summary["modes"] = Value::Object(modes);
    Ok(summary)
}
