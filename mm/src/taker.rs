//! The market maker's taker (`pinwheel mm --taker-rate R`): a second account that sends
//! small market orders of random side against the maker's quotes, so a demo has trades
//! (chart, tickers, recent trades). It uses only the public API, like the maker; it is a
//! separate account because self-trade prevention stops an account trading with itself.
//!
//! Sides are drawn from a seeded generator, biased towards flattening the position, and
//! forced once the position reaches its bound, so the inventory stays within
//! `MAX_POSITION_MINIMUMS + MAX_SIZE_MINIMUMS` minimum quantities per market.

use std::collections::HashMap;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;
use tokio::sync::watch;

use super::api::{self, Api, HttpError, MarketInfo};
use super::ladder::Side;
use super::price::SplitMix64;
use super::ERROR_BACKOFF_MAX;

/// An order is 1 to this many minimum quantities.
pub const MAX_SIZE_MINIMUMS: i64 = 3;
/// The position (in minimum quantities) at which the taker only trades back towards flat.
pub const MAX_POSITION_MINIMUMS: i64 = 10;

/// One market as the taker trades it, in lots.
#[derive(Clone, Debug)]
pub struct TakerMarket {
    /// The market.
    pub info: MarketInfo,
    /// Its minimum quantity in lots.
    pub min_lots: i64,
    /// A price (ticks) to size the deposit of quote asset by.
    pub reference: i64,
}

impl TakerMarket {
    /// The market with its minimum in lots; `None` if the minimum is not a positive
    /// number of lots.
    pub fn new(info: MarketInfo, reference: i64) -> Option<Self> {
        let min_lots = info.lots_ceil(info.min_quantity)?.max(1);
        Some(Self {
            info,
            min_lots,
            reference,
        })
    }

    /// The largest position, in lots, the taker can reach.
    pub fn bound(&self) -> i64 {
        (MAX_POSITION_MINIMUMS + MAX_SIZE_MINIMUMS) * self.min_lots
    }
}

/// `lots`, or less, so that taking it leaves the last (worst) of `levels` (quantities in
/// lots, best first) on the book; `None` when less than `min_lots` lie before that level.
pub fn short_of_last_level(lots: i64, levels: &[i64], min_lots: i64) -> Option<i64> {
    let (_, before_last) = levels.split_last()?;
    let room: i64 = before_last.iter().sum();
    Some(lots.min(room)).filter(|lots| *lots >= min_lots.max(1))
}

/// The next order for a market: a side biased towards flat (probability of buying falls
/// linearly from 1 at the short bound to 0 at the long bound) and 1..=MAX_SIZE_MINIMUMS
/// minimum quantities.
pub fn next_order(rng: &mut SplitMix64, position: i64, min_lots: i64) -> (Side, i64) {
    let limit = MAX_POSITION_MINIMUMS * min_lots;
    let size = (1 + (rng.next_u64() % MAX_SIZE_MINIMUMS as u64) as i64) * min_lots;
    let side = if position >= limit {
        Side::Sell
    } else if position <= -limit {
        Side::Buy
    } else {
        // Buy with probability (limit - position) / (2 limit), in integers.
        let draw = (rng.next_u64() % (2 * limit) as u64) as i64;
        if draw < limit - position {
            Side::Buy
        } else {
            Side::Sell
        }
    };
    (side, size)
}

/// What the taker did, for the summary.
#[derive(Debug, Default, serde::Serialize)]
pub struct TakerCounters {
    /// Orders sent.
    pub orders: u64,
    /// Orders the engine refused (no liquidity, balance, ...).
    pub rejected: u64,
    /// Failed rounds (transport errors, 5xx, ...).
    pub errors: u64,
    /// Deposits made (the first funding, then top-ups when a balance ran short).
    pub top_ups: u64,
    /// Orders not sent because they would have taken the last level of a side.
    pub skipped: u64,
}

/// The taker's state.
pub struct Taker {
    api: Api,
    username: String,
    password: String,
    markets: Vec<TakerMarket>,
    rng: SplitMix64,
    /// Base-asset totals after the deposits: positions are measured from them.
    baseline: HashMap<String, Decimal>,
    deposits: bool,
    /// What it did.
    pub counters: TakerCounters,
}

/// What the taker needs to start.
#[derive(Clone, Debug)]
pub struct TakerConfig {
    /// The edge's base URL.
    pub url: String,
    /// Its own account (signed up if new, else signed in).
    pub username: String,
    /// The account's password.
    pub password: String,
    /// Markets it trades.
    pub markets: Vec<TakerMarket>,
    /// Seed of its sides and sizes.
    pub seed: u64,
    /// Whether it funds itself through POST /on-ramp.
    pub deposits: bool,
    /// Orders per second per market.
    pub rate: f64,
}

/// Starts the taker (retrying with backoff while the edge is not ready) and runs it until
/// `shutdown`; returns its counters, or `None` if it never started.
pub async fn run_taker(
    config: TakerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Option<TakerCounters> {
    let mut backoff = Duration::from_millis(250);
    let mut taker = loop {
        match Taker::start(&config).await {
            Ok(taker) => break taker,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), retry_in_ms = backoff.as_millis() as u64, "taker could not start");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return None,
        }
        backoff = (backoff * 2).min(ERROR_BACKOFF_MAX);
    };
    tracing::info!(user = %config.username, rate = config.rate, "taker trading");
    taker.run(config.rate, shutdown).await;
    Some(taker.counters)
}

impl Taker {
    /// Signs the taker up (or in) on the edge and, with deposits, funds it through
    /// POST /on-ramp.
    async fn start(config: &TakerConfig) -> anyhow::Result<Self> {
        let mut api = Api::new(&config.url)?;
        api.sign_in(&config.username, &config.password).await?;
        let mut taker = Self {
            api,
            username: config.username.clone(),
            password: config.password.clone(),
            markets: config.markets.clone(),
            rng: SplitMix64::new(config.seed ^ 0x7A4E_5EED),
            baseline: HashMap::new(),
            deposits: config.deposits,
            counters: TakerCounters::default(),
        };
        taker.top_up().await?;
        taker.baseline = super::base_totals(&taker.api).await?;
        Ok(taker)
    }

    /// Sends one order per market every `1 / rate` seconds until `shutdown`.
    async fn run(&mut self, rate: f64, mut shutdown: watch::Receiver<bool>) {
        let mut ticker = super::rate_ticker(rate);
        let mut backoff = Duration::ZERO;
        while !*shutdown.borrow() {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.changed() => break,
            }
            // A seeded delay within the first half of the period. Started with the maker and
            // on a multiple of its period, an undelayed taker reached the books in the very
            // moment the maker had cancelled its quotes to requote them: in a 20 s demo 50 of
            // its 60 orders were rejected with NO_LIQUIDITY.
            let half_period_ns = (ticker.period() / 2).as_nanos().max(1) as u64;
            let delay = Duration::from_nanos(self.rng.next_u64() % half_period_ns);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => break,
            }
            let Err(error) = self.round().await else {
                backoff = Duration::ZERO;
                continue;
            };
            self.counters.errors += 1;
            backoff = (backoff * 2).clamp(ticker.period(), ERROR_BACKOFF_MAX);
            tracing::warn!(error = %format!("{error:#}"), retry_in_ms = backoff.as_millis() as u64, "taker round failed");
            self.recover(&error).await;
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => break,
            }
        }
    }

    /// One order per market, each sized and sided from the position the balances show, and
    /// capped so that it leaves the last level of the side it takes untouched.
    async fn round(&mut self) -> anyhow::Result<()> {
        let positions = self.positions().await?;
        for (index, position) in positions.into_iter().enumerate() {
            let market = &self.markets[index];
            let (side, lots) = next_order(&mut self.rng, position, market.min_lots);
            let taken = match side {
                Side::Buy => Side::Sell,
                Side::Sell => Side::Buy,
            };
            let levels = self.api.depth_lots(&market.info, taken).await?;
            let Some(lots) = short_of_last_level(lots, &levels, market.min_lots) else {
                self.counters.skipped += 1;
                continue;
            };
            let body = json!({
                "market": market.info.symbol,
                "side": side.as_str(),
                "type": "market",
                "quantity": market.info.quantity_text(lots),
            });
            self.counters.orders += 1;
            match self
                .api
                .call(reqwest::Method::POST, "/api/v1/order", Some(body))
                .await
            {
                Ok(_) => {}
                Err(error) if api::status_of(&error) == Some(422) => {
                    tracing::debug!(market = %market.info.symbol, error = %error, "taker order rejected");
                    self.counters.rejected += 1;
                    if is_code(&error, "INSUFFICIENT_BALANCE") {
                        self.top_up().await?;
                    }
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Position per market in lots: base-asset total now minus the baseline (balances are
    /// the source of truth: an order whose answer was lost still counts).
    pub async fn positions(&self) -> anyhow::Result<Vec<i64>> {
        let totals = super::base_totals(&self.api).await?;
        Ok(self
            .markets
            .iter()
            .map(|m| {
                let now = totals.get(&m.info.base).copied().unwrap_or_default();
                let start = self.baseline.get(&m.info.base).copied().unwrap_or_default();
                ((now - start) / m.info.lot).round().try_into().unwrap_or(0)
            })
            .collect())
    }

    /// Deposits what is missing of enough base to sell down to the bound twice and enough
    /// quote to buy it back twice; base deposited moves the baseline with it.
    async fn top_up(&mut self) -> anyhow::Result<()> {
        if !self.deposits {
            return Ok(());
        }
        let have = super::base_totals(&self.api).await?;
        for (asset, wanted) in self.wanted_funds() {
            let missing = wanted - have.get(&asset).copied().unwrap_or_default();
            if missing > Decimal::ZERO {
                self.api.deposit(&asset, missing).await?;
                self.counters.top_ups += 1;
                if let Some(start) = self.baseline.get_mut(&asset) {
                    *start += missing;
                }
            }
        }
        Ok(())
    }

    fn wanted_funds(&self) -> HashMap<String, Decimal> {
        let mut wanted: HashMap<String, Decimal> = HashMap::new();
        for market in &self.markets {
            let base = market.info.lot * Decimal::from(market.bound() * 2);
            let price = market.info.tick * Decimal::from(market.reference);
            *wanted.entry(market.info.base.clone()).or_default() += base;
            *wanted.entry(market.info.quote.clone()).or_default() += base * price * Decimal::TWO;
        }
        wanted
            .into_iter()
            .map(|(asset, amount)| (asset, amount.round_dp(8)))
            .collect()
    }

    /// After an error: sign in again on 401, wait out a 429.
    async fn recover(&mut self, error: &anyhow::Error) {
        match error.downcast_ref::<HttpError>() {
            Some(e) if e.status == 401 => {
                if let Err(error) = self.api.sign_in(&self.username, &self.password).await {
                    tracing::warn!(error = %format!("{error:#}"), "taker sign-in failed");
                }
            }
            Some(e) if e.status == 429 => {
                let wait = e.retry_after.unwrap_or(Duration::from_secs(1));
                tokio::time::sleep(wait.min(ERROR_BACKOFF_MAX)).await;
            }
            _ => {}
        }
    }
}

fn is_code(error: &anyhow::Error, code: &str) -> bool {
    error
        .downcast_ref::<HttpError>()
        .is_some_and(|e| e.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_small_multiples_of_the_minimum_and_keep_the_position_bounded() {
        let min_lots = 10;
        let bound = (MAX_POSITION_MINIMUMS + MAX_SIZE_MINIMUMS) * min_lots;
        let mut rng = SplitMix64::new(7);
        let (mut position, mut widest, mut buys) = (0i64, 0i64, 0u32);
        for _ in 0..10_000 {
            let (side, lots) = next_order(&mut rng, position, min_lots);
            assert!(lots % min_lots == 0 && (1..=MAX_SIZE_MINIMUMS).contains(&(lots / min_lots)));
            position += if side == Side::Buy { lots } else { -lots };
            buys += (side == Side::Buy) as u32;
            widest = widest.max(position.abs());
            assert!(position.abs() <= bound, "position {position}");
        }
        assert!(
            (4_000..6_000).contains(&buys),
            "both sides, about evenly: {buys}"
        );
        assert!(
            widest > MAX_SIZE_MINIMUMS * min_lots,
            "it does move: {widest}"
        );
    }

    #[test]
    fn at_the_bound_it_only_trades_back() {
        let mut rng = SplitMix64::new(1);
        for _ in 0..100 {
            assert_eq!(next_order(&mut rng, 100, 10).0, Side::Sell);
            assert_eq!(next_order(&mut rng, -100, 10).0, Side::Buy);
        }
    }

    #[test]
    fn an_order_never_reaches_the_last_level_of_the_side_it_takes() {
        assert_eq!(short_of_last_level(30, &[10, 10, 10], 10), Some(20));
        assert_eq!(short_of_last_level(5, &[10, 10], 1), Some(5));
        assert_eq!(
            short_of_last_level(30, &[100], 10),
            None,
            "one level: keep it"
        );
        assert_eq!(short_of_last_level(30, &[], 10), None);
        assert_eq!(
            short_of_last_level(30, &[4, 50], 10),
            None,
            "below the minimum"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_orders() {
        let draw = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..20)
                .map(|i| next_order(&mut rng, i * 7 - 50, 10))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }
}
