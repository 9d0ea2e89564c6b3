//! `pinwheel mm`: a market maker that uses only the public API. It quotes `--levels`
//! levels on both sides of a reference price (a seeded random walk or a CSV file),
//! moves its quotes with amends as the price moves (so a quoted side is never empty), keeps
//! its inventory within a bound, and
//! survives errors and edge restarts (REST retries with backoff; the WebSocket reconnects
//! and the open orders are re-synced from GET /order/open).

mod api;
mod ladder;
mod price;
mod stream;
mod taker;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rust_decimal::Decimal;
use tokio::sync::{mpsc, watch};

pub use api::{Api, Credential, HttpError, MarketInfo, OrderState};
pub use ladder::{changes, desired, requote, Changes, LadderParams, Quote, Requote, Side};
pub use price::{plain_decimal, PriceFile, RandomWalk, SplitMix64};
pub use stream::StreamEvent;
pub use taker::{next_order, TakerConfig, TakerCounters, TakerMarket};

/// Longest wait after a failed cycle before the next try.
const ERROR_BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long to wait for the edge to answer at start-up.
const STARTUP_WAIT: Duration = Duration::from_secs(60);
/// Open orders are re-read from the edge at least this often.
const RESYNC_EVERY: Duration = Duration::from_secs(10);
/// Bound of the final cancel-all on shutdown.
const SHUTDOWN_CANCEL_TIMEOUT: Duration = Duration::from_secs(5);
/// Random-walk step of the reference price, basis points.
const WALK_STEP_BPS: i64 = 2;

/// `pinwheel mm`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// The edge's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Markets to quote, comma-separated (default: every market the edge lists).
    #[arg(long, value_delimiter = ',')]
    pub markets: Vec<String>,
    /// Price levels per side.
    #[arg(long, default_value_t = 5)]
    pub levels: usize,
    /// Spread between best bid and best ask, basis points of the reference price; levels
    /// are half of it apart.
    #[arg(long, default_value_t = 10)]
    pub spread_bps: i64,
    /// Quantity of each level in base asset, a decimal (default: 10x each market's
    /// minimum quantity).
    #[arg(long)]
    pub size: Option<String>,
    /// Requotes per second.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Seed of the reference price's random walk.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// CSV file of reference prices (lines SYMBOL,PRICE) instead of the random walk.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Largest position, in base asset (decimal), it may hold long or short per market
    /// (default: 4 x levels x size).
    #[arg(long)]
    pub max_inventory: Option<String>,
    /// Username (signed up if new, else signed in).
    #[arg(long, default_value = "market-maker")]
    pub username: String,
    /// Password.
    #[arg(long, default_value = "market-maker-password")]
    pub password: String,
    /// An API key to use instead of username and password (header X-API-Key).
    #[arg(long, env = "PINWHEEL_API_KEY")]
    pub api_key: Option<String>,
    /// Deposits via POST /on-ramp: `auto` (top up to what the quotes need), `none`, or
    /// ASSET=AMOUNT,... (decimal amounts).
    #[arg(long, default_value = "auto")]
    pub deposit: String,
    /// Taker orders per second per market (0: off). The taker is a second account,
    /// `<username>-taker` with the same password, that sends small market orders of random
    /// side against the quotes so the market trades (demos); its position stays bounded.
    #[arg(long, default_value_t = 0.0)]
    pub taker_rate: f64,
    /// Stop after this many seconds (default: until SIGINT or SIGTERM).
    #[arg(long)]
    pub duration: Option<f64>,
}

/// One quoted market.
struct Book {
    info: MarketInfo,
    params: LadderParams,
    walk: RandomWalk,
    resting: BTreeMap<u64, Quote>,
    needs_sync: bool,
    last_sync: Instant,
}

/// What happened, for the summary.
#[derive(Debug, Default, serde::Serialize)]
struct Counters {
    placed: u64,
    amended: u64,
    canceled: u64,
    rejected: u64,
    errors: u64,
    reconnects: u64,
    fills: u64,
}

/// An answer that refuses the request (bad input, conflict, engine reject), as opposed to
/// a failure of the edge or the connection.
fn is_refusal(error: &anyhow::Error) -> bool {
    api::status_of(error).is_some_and(|s| s == 409 || s == 422 || s == 400)
}

/// A ticker firing `rate` times a second that, when the bot falls behind, waits a whole
/// period rather than firing a burst to catch up.
fn rate_ticker(rate: f64) -> tokio::time::Interval {
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker
}

/// Runs the market maker until SIGINT, SIGTERM or `--duration`.
pub fn run(args: &Args) -> anyhow::Result<()> {
    validate(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args.clone()))
}

fn validate(args: &Args) -> anyhow::Result<()> {
    if args.levels == 0 || args.levels > 100 {
        bail!("--levels must be between 1 and 100, got {}", args.levels);
    }
    if !(1..=10_000).contains(&args.spread_bps) {
        bail!(
            "--spread-bps must be between 1 and 10000, got {}",
            args.spread_bps
        );
    }
    if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 1000.0) {
        bail!(
            "--rate must be between 0 and 1000 requotes per second, got {}",
            args.rate
        );
    }
    if !(args.taker_rate.is_finite() && (0.0..=100.0).contains(&args.taker_rate)) {
        bail!(
            "--taker-rate must be between 0 and 100 orders per second, got {}",
            args.taker_rate
        );
    }
    if let Some(duration) = args.duration {
        if !(duration.is_finite() && duration > 0.0) {
            bail!("--duration must be a positive number of seconds, got {duration}");
        }
    }
    for (flag, value) in [
        ("--size", &args.size),
        ("--max-inventory", &args.max_inventory),
    ] {
        if let Some(text) = value {
            match plain_decimal(text) {
                Some(amount) if amount > Decimal::ZERO => {}
                _ => bail!("{flag} must be a positive decimal, got {text:?}"),
            }
        }
    }
    Ok(())
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let mut api = Api::new(&args.url)?;
    let all_markets = wait_for_edge(&api).await?;
    authenticate(&mut api, &args).await?;
    let mut prices = args.prices.as_deref().map(PriceFile::read).transpose()?;
    let mut books = Vec::new();
    for (index, info) in select_markets(&all_markets, &args.markets)?
        .into_iter()
        .enumerate()
    {
        let reference = start_price(&api, &info, prices.as_mut()).await?;
        books.push(make_book(&args, info, reference, index as u64)?);
    }
    deposit(&api, &args, &books).await?;
    let baseline = base_totals(&api).await?;
    let (credential_tx, credential_rx) = watch::channel(
        api.credential
            .as_ref()
            .map(|c| c.text().to_string())
            .unwrap_or_default(),
    );
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (events_tx, events_rx) = mpsc::channel(1024);
    let mut streams = vec!["orders".to_string()];
    streams.extend(books.iter().map(|b| format!("fills@{}", b.info.symbol)));
    let follower = tokio::spawn(stream::follow(
        api.ws_url(),
        credential_rx,
        streams,
        events_tx,
        shutdown_rx,
    ));
    tokio::spawn(stop_on_signal(shutdown_tx.clone(), args.duration));
    let taker = taker_config(&args, &books)
        .map(|config| tokio::spawn(taker::run_taker(config, shutdown_tx.subscribe())));
    let mut maker = Maker {
        api,
        args,
        books,
        prices,
        baseline,
        counters: Counters::default(),
        credential: credential_tx,
    };
    tracing::info!(markets = maker.books.len(), "market maker quoting");
    maker.quote_until(events_rx, shutdown_tx.subscribe()).await;
    let _ = shutdown_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(2), follower).await;
    let taker = match taker {
        Some(task) => tokio::time::timeout(SHUTDOWN_CANCEL_TIMEOUT, task)
            .await
            .ok()
            .and_then(Result::ok)
            .flatten(),
        None => None,
    };
    maker.cancel_everything().await;
    println!(
        "{}",
        serde_json::json!({"mm": maker.counters, "inventory_lots": maker.inventories().await.ok(), "taker": taker})
    );
    Ok(())
}

/// The taker's settings (`--taker-rate` above 0), trading every quoted market.
fn taker_config(args: &Args, books: &[Book]) -> Option<TakerConfig> {
    if args.taker_rate <= 0.0 {
        return None;
    }
    let markets = books
        .iter()
        .filter_map(|b| TakerMarket::new(b.info.clone(), b.walk.clone().step()))
        .collect();
    Some(TakerConfig {
        url: args.url.clone(),
        username: format!("{}-taker", args.username),
        password: args.password.clone(),
        markets,
        seed: args.seed,
        deposits: args.deposit != "none",
        rate: args.taker_rate,
    })
}

async fn wait_for_edge(api: &Api) -> anyhow::Result<Vec<MarketInfo>> {
    let deadline = Instant::now() + STARTUP_WAIT;
    loop {
        match api.markets().await {
            Ok(markets) if !markets.is_empty() => return Ok(markets),
            Ok(_) => bail!("the edge lists no markets"),
            Err(error) if Instant::now() >= deadline => {
                return Err(error.context(format!(
                    "the edge did not answer within {} s",
                    STARTUP_WAIT.as_secs()
                )))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

async fn authenticate(api: &mut Api, args: &Args) -> anyhow::Result<()> {
    match &args.api_key {
        Some(key) => api.credential = Some(Credential::ApiKey(key.clone())),
        None => api.sign_in(&args.username, &args.password).await?,
    }
    Ok(())
}

fn select_markets(all: &[MarketInfo], wanted: &[String]) -> anyhow::Result<Vec<MarketInfo>> {
    if wanted.is_empty() {
        return Ok(all.to_vec());
    }
    wanted
        .iter()
        .map(|symbol| {
            all.iter()
                .find(|m| &m.symbol == symbol)
                .cloned()
                .with_context(|| {
                    let known: Vec<&str> = all.iter().map(|m| m.symbol.as_str()).collect();
                    format!(
                        "--markets: unknown market {symbol:?} (the edge lists {})",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

/// A price to start from, per base asset, when neither the file nor the book has one.
const DEFAULT_PRICES: &[(&str, &str)] = &[("BTC", "60000"), ("ETH", "3000"), ("SOL", "150")];

async fn start_price(
    api: &Api,
    info: &MarketInfo,
    prices: Option<&mut PriceFile>,
) -> anyhow::Result<i64> {
    let from_file = prices.and_then(|p| p.next(&info.symbol));
    let from_book = match from_file {
        Some(_) => None,
        None => api.mid_price(info).await.unwrap_or(None),
    };
    let fallback = DEFAULT_PRICES
        .iter()
        .find(|(base, _)| *base == info.base)
        .map_or("100", |(_, p)| p);
    let price = from_file
        .or(from_book)
        .unwrap_or_else(|| fallback.parse().expect("valid default"));
    info.ticks(price)
        .filter(|t| *t > 0)
        .with_context(|| format!("{}: start price {price} is out of range", info.symbol))
}

fn make_book(args: &Args, info: MarketInfo, reference: i64, index: u64) -> anyhow::Result<Book> {
    let size = match &args.size {
        Some(text) => plain_decimal(text)
            .context("--size is not a decimal")?
            .max(info.min_quantity),
        None => info.min_quantity * Decimal::TEN,
    };
    let lots = info
        .lots_ceil(size)
        .filter(|l| *l > 0)
        .context("--size is out of range")?;
    let max_inventory = match &args.max_inventory {
        Some(text) => info
            .lots_floor(text.parse()?)
            .context("--max-inventory is out of range")?,
        None => lots * args.levels as i64 * 4,
    };
    let params = LadderParams {
        levels: args.levels,
        spread_bps: args.spread_bps,
        lots,
        max_inventory,
    };
    let floor = ladder::half_spread(reference, args.spread_bps) * (args.levels as i64 + 1) + 1;
    // Each market walks its own path from the one seed.
    let walk = RandomWalk::new(
        args.seed.wrapping_mul(1_000_003).wrapping_add(index),
        reference,
        WALK_STEP_BPS,
        floor.min(reference),
    );
    Ok(Book {
        info,
        params,
        walk,
        resting: BTreeMap::new(),
        needs_sync: true,
        last_sync: Instant::now(),
    })
}

async fn deposit(api: &Api, args: &Args, books: &[Book]) -> anyhow::Result<()> {
    let wanted = match args.deposit.as_str() {
        "none" => return Ok(()),
        "auto" => auto_deposit(books),
        list => parse_deposits(list)?,
    };
    let have: HashMap<String, Decimal> = api
        .balances()
        .await?
        .into_iter()
        .map(|(a, free, locked)| (a, free + locked))
        .collect();
    for (asset, amount) in wanted {
        let top_up = if args.deposit == "auto" {
            amount - have.get(&asset).copied().unwrap_or_default()
        } else {
            amount
        };
        if top_up > Decimal::ZERO {
            api.deposit(&asset, top_up).await.with_context(|| {
                format!("deposit of {top_up} {asset} (use --deposit none if deposits are off)")
            })?;
        }
    }
    Ok(())
}

/// Enough to quote every level on both sides with the inventory at its bound, twice over.
fn auto_deposit(books: &[Book]) -> Vec<(String, Decimal)> {
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for book in books {
        let lots = book.params.lots * book.params.levels as i64 + book.params.max_inventory;
        let base = book.info.lot * Decimal::from(lots) * Decimal::TWO;
        let price = book.info.tick * Decimal::from(book.walk.clone().step()) * Decimal::TWO;
        *totals.entry(book.info.base.clone()).or_default() += base;
        *totals.entry(book.info.quote.clone()).or_default() += base * price;
    }
    totals
        .into_iter()
        .map(|(asset, amount)| (asset, amount.round_dp(8)))
        .collect()
}

/// Parses `ASSET=AMOUNT,...`.
pub fn parse_deposits(list: &str) -> anyhow::Result<Vec<(String, Decimal)>> {
    list.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let (asset, amount) = item
                .split_once('=')
                .with_context(|| format!("--deposit: expected ASSET=AMOUNT, got {item:?}"))?;
            let amount: Decimal = plain_decimal(amount)
                .filter(|a: &Decimal| *a > Decimal::ZERO)
                .with_context(|| format!("--deposit: {amount:?} is not a positive decimal"))?;
            Ok((asset.trim().to_string(), amount))
        })
        .collect()
}

async fn base_totals(api: &Api) -> anyhow::Result<HashMap<String, Decimal>> {
    Ok(api
        .balances()
        .await?
        .into_iter()
        .map(|(asset, free, locked)| (asset, free + locked))
        .collect())
}

async fn stop_on_signal(shutdown: watch::Sender<bool>, duration: Option<f64>) {
    let timer = async {
        match duration {
            Some(seconds) => tokio::time::sleep(Duration::from_secs_f64(seconds)).await,
            None => std::future::pending().await,
        }
    };
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let sigterm = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
        _ = sigterm => tracing::info!("SIGTERM: stopping"),
        _ = timer => tracing::info!("--duration reached: stopping"),
    }
    let _ = shutdown.send(true);
}

/// The quoting loop's state.
struct Maker {
    api: Api,
    args: Args,
    books: Vec<Book>,
    prices: Option<PriceFile>,
    baseline: HashMap<String, Decimal>,
    counters: Counters,
    credential: watch::Sender<String>,
}

impl Maker {
    async fn quote_until(
        &mut self,
        mut events: mpsc::Receiver<StreamEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut ticker = rate_ticker(self.args.rate);
        let mut backoff = Duration::ZERO;
        while !*shutdown.borrow() {
            tokio::select! {
                _ = ticker.tick() => {}
                Some(event) = events.recv() => { self.on_event(event); continue; }
                _ = shutdown.changed() => break,
            }
            match self.cycle().await {
                Ok(()) => backoff = Duration::ZERO,
                Err(error) => {
                    self.counters.errors += 1;
                    backoff = (backoff * 2).clamp(ticker.period(), ERROR_BACKOFF_MAX);
                    tracing::warn!(error = %format!("{error:#}"), retry_in_ms = backoff.as_millis() as u64, "quoting failed");
                    self.books.iter_mut().for_each(|b| b.needs_sync = true);
                    self.recover(&error).await;
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            }
        }
    }

    fn on_event(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Connected => self.books.iter_mut().for_each(|b| b.needs_sync = true),
            StreamEvent::Disconnected(reason) => {
                self.counters.reconnects += 1;
                tracing::warn!(%reason, "order stream lost; reconnecting");
                self.books.iter_mut().for_each(|b| b.needs_sync = true);
            }
            StreamEvent::Fill(_) => self.counters.fills += 1,
            StreamEvent::Order(data) => self.on_order_update(&data),
        }
    }

    fn on_order_update(&mut self, data: &serde_json::Value) {
        let symbol = data.get("market").and_then(|m| m.as_str());
        let Some(book) = self
            .books
            .iter_mut()
            .find(|b| Some(b.info.symbol.as_str()) == symbol)
        else {
            return;
        };
        match OrderState::from_json(data, &book.info) {
            Ok(order) if order.open => {
                if let Some(resting) = book.resting.get_mut(&order.id) {
                    *resting = order.quote;
                }
            }
            Ok(order) => {
                book.resting.remove(&order.id);
            }
            Err(_) => book.needs_sync = true,
        }
    }

    /// After an error: sign in again on 401, wait out a 429.
    async fn recover(&mut self, error: &anyhow::Error) {
        match error.downcast_ref::<HttpError>() {
            Some(e) if e.status == 401 && self.args.api_key.is_none() => self.sign_in_again().await,
            Some(e) if e.status == 429 => {
                let wait = e
                    .retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .min(ERROR_BACKOFF_MAX);
                tokio::time::sleep(wait).await;
            }
            _ => {}
        }
    }

    async fn sign_in_again(&mut self) {
        let signed_in = self
            .api
            .sign_in(&self.args.username, &self.args.password)
            .await;
        match signed_in {
            Ok(()) => {
                let credential = self.api.credential.as_ref();
                let text = credential.map(|c| c.text().to_string()).unwrap_or_default();
                let _ = self.credential.send(text);
            }
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "sign-in failed"),
        }
    }

    /// Per-market position in lots, from the balances (the source of truth).
    async fn inventories(&self) -> anyhow::Result<Vec<i64>> {
        let totals = base_totals(&self.api).await?;
        Ok(self
            .books
            .iter()
            .map(|book| {
                let now = totals.get(&book.info.base).copied().unwrap_or_default();
                let start = self
                    .baseline
                    .get(&book.info.base)
                    .copied()
                    .unwrap_or_default();
                // Away from zero: a fee-trimmed part of a lot still counts against the bound.
                let lots = (now - start) / book.info.lot;
                let rounded = if lots >= Decimal::ZERO {
                    lots.ceil()
                } else {
                    lots.floor()
                };
                rounded.try_into().unwrap_or(0)
            })
            .collect())
    }

    /// One requote of every market, from the inventory the balances show now. Each market's
    /// plan ([`ladder::requote`]) cancels a side's surplus first, then moves orders to their
    /// new prices (amends), then places what is missing, so a side that stays quoted is
    /// never empty, and a side never holds more than the ladder wants (position + resting
    /// size on a side never passes the bound: a fill only moves quantity from resting orders
    /// into the position).
    async fn cycle(&mut self) -> anyhow::Result<()> {
        for index in 0..self.books.len() {
            self.sync_if_due(index).await?;
        }
        let inventories = self.inventories().await?;
        for (index, inventory) in inventories.into_iter().enumerate() {
            let reference = self.next_reference(index);
            self.apply(index, reference, inventory).await?;
        }
        Ok(())
    }

    fn next_reference(&mut self, index: usize) -> i64 {
        let book = &mut self.books[index];
        let from_file = self.prices.as_mut().and_then(|p| p.next(&book.info.symbol));
        match from_file
            .and_then(|price| book.info.ticks(price))
            .filter(|t| *t > 0)
        {
            Some(ticks) => ticks,
            None => book.walk.step(),
        }
    }

    /// Re-reads the open orders after a disconnect or error, and every RESYNC_EVERY.
    async fn sync_if_due(&mut self, index: usize) -> anyhow::Result<()> {
        let book = &mut self.books[index];
        if book.needs_sync || book.last_sync.elapsed() >= RESYNC_EVERY {
            let open = self.api.open_orders(&book.info).await?;
            book.resting = open
                .into_iter()
                .filter(|o| o.open)
                .map(|o| (o.id, o.quote))
                .collect();
            book.needs_sync = false;
            book.last_sync = Instant::now();
        }
        Ok(())
    }

    /// Carries out one market's requote plan.
    async fn apply(&mut self, index: usize, reference: i64, inventory: i64) -> anyhow::Result<()> {
        let book = &mut self.books[index];
        let want = desired(reference, inventory, &book.params);
        let Requote {
            cancel,
            amend,
            mut place,
        } = requote(&book.resting, &want);
        for id in cancel {
            self.api.cancel(&book.info, id).await?;
            book.resting.remove(&id);
            self.counters.canceled += 1;
        }
        for (id, quote) in amend {
            match self.api.amend(&book.info, id, quote.price).await {
                Ok(order) => {
                    self.counters.amended += 1;
                    book.resting.remove(&id);
                    if order.open {
                        book.resting.insert(order.id, order.quote);
                    }
                }
                // Filled or gone meanwhile: the level is placed anew instead.
                Err(error) if api::status_of(&error) == Some(404) => {
                    book.resting.remove(&id);
                    place.push(quote);
                }
                // The engine said no (balance, halted, ...): it rests where it was.
                Err(error) if is_refusal(&error) => {
                    self.counters.rejected += 1;
                    tracing::debug!(error = %error, "move rejected");
                }
                Err(error) => return Err(error),
            }
        }
        for quote in place {
            match self.api.place(&book.info, &quote).await {
                Ok(order) => {
                    self.counters.placed += 1;
                    if order.open {
                        book.resting.insert(order.id, order.quote);
                    }
                }
                // The engine said no (post-only would cross, balance, ...): skip this level.
                Err(error) if is_refusal(&error) => {
                    self.counters.rejected += 1;
                    tracing::debug!(error = %error, "quote rejected");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    async fn cancel_everything(&self) {
        for book in &self.books {
            let cancel = self.api.cancel_all(&book.info);
            if let Ok(Err(error)) = tokio::time::timeout(SHUTDOWN_CANCEL_TIMEOUT, cancel).await {
                tracing::warn!(market = %book.info.symbol, error = %error, "cancel-all on exit failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(line: &[&str]) -> anyhow::Result<Args> {
        let args = Cli::try_parse_from(std::iter::once("mm").chain(line.iter().copied()))?.args;
        validate(&args)?;
        Ok(args)
    }

    #[test]
    fn flags_parse_and_bad_values_are_named() {
        let args = parse(&[
            "--markets",
            "BTC-USD,ETH-USD",
            "--levels",
            "3",
            "--size",
            "0.01",
            "--rate",
            "4",
        ])
        .unwrap();
        assert_eq!(args.markets, vec!["BTC-USD", "ETH-USD"]);
        assert_eq!((args.levels, args.rate), (3, 4.0));
        for (line, named) in [
            (vec!["--levels", "0"], "--levels"),
            (vec!["--rate", "0"], "--rate"),
            (vec!["--size=-1"], "--size"),
            (vec!["--size", "1e3"], "--size"),
            (vec!["--max-inventory", "abc"], "--max-inventory"),
            (vec!["--spread-bps", "0"], "--spread-bps"),
            (vec!["--duration=-2"], "--duration"),
            (vec!["--taker-rate=-1"], "--taker-rate"),
        ] {
            let error = parse(&line).unwrap_err().to_string();
            assert!(error.contains(named), "{line:?}: {error}");
        }
    }

    #[test]
    fn deposits_parse_as_decimals() {
        let list = parse_deposits("USD=1000000, BTC=2.5").unwrap();
        assert_eq!(
            list,
            vec![
                ("USD".into(), "1000000".parse().unwrap()),
                ("BTC".into(), "2.5".parse().unwrap())
            ]
        );
        assert!(parse_deposits("USD").is_err());
        assert!(parse_deposits("USD=0").is_err());
        assert!(parse_deposits("USD=1e9").is_err());
    }

    #[test]
    fn books_size_levels_in_lots_and_bound_inventory() {
        let info = MarketInfo {
            symbol: "BTC-USD".into(),
            base: "BTC".into(),
            quote: "USD".into(),
            tick: "0.01".parse().unwrap(),
            lot: "0.00001".parse().unwrap(),
            min_quantity: "0.0001".parse().unwrap(),
        };
        let args = parse(&["--levels", "4"]).unwrap();
        let book = make_book(&args, info.clone(), 6_000_000, 0).unwrap();
        assert_eq!(book.params.lots, 100, "10 x min quantity");
        assert_eq!(book.params.max_inventory, 1600);
        let args = parse(&["--size", "0.000015", "--max-inventory", "0.5"]).unwrap();
        let book = make_book(&args, info.clone(), 6_000_000, 0).unwrap();
        assert_eq!(book.params.lots, 10, "raised to the minimum quantity");
        assert_eq!(book.params.max_inventory, 50_000);
        let deposits = auto_deposit(&[book]);
        assert_eq!(
            deposits.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
            ["BTC", "USD"]
        );
        assert!(deposits.iter().all(|d| d.1 > Decimal::ZERO));
        let all = vec![info];
        assert!(select_markets(&all, &["DOGE-USD".into()])
            .unwrap_err()
            .to_string()
            .contains("DOGE-USD"));
    }
}
