//! `pinwheel edge`: attach to the engine's rings, serve HTTP and WebSocket until SIGTERM/SIGINT.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use pinwheel_candles::questdb_candles::DEFAULT_TABLE;
use pinwheel_candles::{CandleSource, QuestDbCandles};
use pinwheel_engine::config::MarketTable;

use crate::config::{Durability, EdgeConfig};
use crate::link::{DurableSource, EngineLink};
use crate::market_data::MarketData;
use crate::metrics::Metrics;
use crate::ring_io::{JournalDurable, RingInput, RingOutput};
use crate::sessions::auth::{load_or_create_secret, Tokens};
use crate::sessions::rate_limit::RateLimiter;
use crate::state::{AppState, Shared};

/// How often the edge beats its heartbeat and re-queries books that are out of step.
const MAINTENANCE_PERIOD: Duration = Duration::from_millis(250);
/// How long in-flight requests and WebSocket clients get after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Runs an edge until SIGTERM or SIGINT, then exits cleanly.
pub fn run(config: EdgeConfig) -> anyhow::Result<()> {
    run_until(config, stop_signal())
}

/// Runs an edge until `stop` completes (benchmarks and tests embed an edge this way).
pub fn run_until(
    config: EdgeConfig,
    stop: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("edge-http")
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(serve(config, stop))
}

fn secret(config: &EdgeConfig) -> anyhow::Result<Vec<u8>> {
    match &config.jwt_secret {
        Some(secret) if secret.len() >= 16 => Ok(secret.as_bytes().to_vec()),
        Some(_) => anyhow::bail!("edge.jwt_secret must be at least 16 characters"),
        None => load_or_create_secret(&config.data_dir).with_context(|| {
            format!(
                "reading or creating {}/jwt.secret",
                config.data_dir.display()
            )
        }),
    }
}

fn durable_source(
    config: &EdgeConfig,
    durability: Durability,
) -> anyhow::Result<Option<Box<dyn DurableSource>>> {
    if durability != Durability::Sync {
        return Ok(None);
    }
    let deadline = std::time::Instant::now() + config.attach_timeout;
    loop {
        match pinwheel_journal::DurableCursor::open(&config.run_dir) {
            Ok(cursor) => return Ok(Some(Box::new(JournalDurable::new(cursor, config.wait)))),
            Err(error) if std::time::Instant::now() >= deadline => {
                return Err(anyhow::anyhow!(
                    "durability sync needs the journal's durable cursor: {error}"
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn build_state(config: EdgeConfig) -> anyhow::Result<(Shared, std::thread::JoinHandle<()>)> {
    let table =
        MarketTable::resolve(&config.engine).map_err(|e| anyhow::anyhow!("markets: {e}"))?;
    let durability = Durability::parse(&config.durability)?;
    let tokens = Tokens::new(&secret(&config)?, config.token_ttl);
    let input = RingInput::attach(
        &config.run_dir,
        config.attach_timeout,
        config.engine_max_age,
    )?;
    let output = RingOutput::attach(&config.run_dir, config.wait)?;
    let durable = durable_source(&config, durability)?;
    let depth_limit = config
        .engine
        .capacity
        .depth_levels
        .clamp(1, u32::MAX as usize) as u32;
    let market_data = Arc::new(MarketData::new(&table, depth_limit, config.recent_trades));
    let candles = candle_source(&config, &market_data)?;
    let link = EngineLink::new(
        Box::new(input),
        config.request_timeout,
        market_data,
        config.order_retention,
    );
    // After attaching to the output ring, before reading it: nothing falls between the two.
    let rebuilt = crate::market_data::history::rebuild(
        &config.data_dir,
        &config.run_dir,
        &config.engine,
        crate::market_data::history::Stores {
            market_data: &link.market_data,
            fills: &link.fills,
            orders: &link.orders,
        },
    )
    .context("rebuilding candles, trades, fills and orders from the journal")?;
    tracing::info!(
        commands = rebuilt.commands,
        trades = rebuilt.trades,
        fills = rebuilt.fills,
        "candles, trades, fills and orders rebuilt from the journal"
    );
    let reader = link.start_reader(Box::new(output), durable);
    let state = Arc::new(AppState {
        candles,
        user_limits: RateLimiter::new(config.rate_limit_per_user),
        ip_limits: RateLimiter::new(config.rate_limit_per_ip),
        api_keys: Mutex::new(HashMap::new()),
        metrics: Metrics::default(),
        engine_counters: Mutex::new(None),
        tokens,
        table,
        link,
        config,
    });
    Ok((state, reader))
}

/// QuestDB when configured (the feed ships the trades there), else the embedded store.
fn candle_source(config: &EdgeConfig, market_data: &MarketData) -> anyhow::Result<CandleSource> {
    match &config.questdb {
        Some(url) => Ok(CandleSource::QuestDb(
            QuestDbCandles::new(url, DEFAULT_TABLE)
                .map_err(|e| anyhow::anyhow!("edge.questdb {url:?}: {e}"))?,
        )),
        None => Ok(CandleSource::Embedded(market_data.candles().clone())),
    }
}

/// Beats the edge's heartbeat from a plain thread, so a busy tokio runtime can never make the
/// engine reclaim this edge's ring.
fn heartbeat_thread(
    state: Shared,
    beating: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("edge-heartbeat".into())
        .spawn(move || {
            while beating.load(std::sync::atomic::Ordering::Acquire) {
                state.link.heartbeat();
                std::thread::sleep(MAINTENANCE_PERIOD);
            }
        })
        .expect("spawn heartbeat thread")
}

async fn maintain(state: Shared) {
    let mut ticker = tokio::time::interval(MAINTENANCE_PERIOD);
    let mut rounds = 0u64;
    loop {
        ticker.tick().await;
        rounds += 1;
        // Every second: books that are out of step (start, gap, lap) are asked for again.
        if rounds % 4 == 1 && state.link.engine_alive() {
            for market in state.link.market_data.unready() {
                let _ = state
                    .link
                    .request_depth_init(market, state.link.market_data.depth_limit());
            }
        }
    }
}

async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn serve(
    config: EdgeConfig,
    stop_requested: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let address = SocketAddr::new(config.bind, config.port);
    let (state, reader) = tokio::task::block_in_place(|| build_state(config))?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address}"))?;
    tracing::info!(%address, edge_id = state.link.edge_id(), "edge listening");
    let maintenance = tokio::spawn(maintain(state.clone()));
    let beating = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let heart = heartbeat_thread(state.clone(), beating.clone());
    let app = crate::server::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (stopped, stop) = tokio::sync::watch::channel(false);
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let mut stop = stop;
        let _ = stop.wait_for(|s| *s).await;
    });
    let server = tokio::spawn(async move { server.await });
    stop_requested.await;
    tracing::info!("stop requested: draining");
    let _ = stopped.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, server).await.is_err() {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
    }
    maintenance.abort();
    beating.store(false, std::sync::atomic::Ordering::Release);
    let _ = tokio::task::block_in_place(|| heart.join());
    state.link.stop();
    tokio::task::block_in_place(|| reader.join())
        .map_err(|_| anyhow::anyhow!("output reader thread panicked"))?;
    tracing::info!("edge stopped");
    Ok(())
}
