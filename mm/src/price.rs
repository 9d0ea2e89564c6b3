//! Where the market maker's reference price comes from: a seeded random walk (the same
//! seed gives the same prices) or a CSV file of prices.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};
use rust_decimal::Decimal;

/// Parses a plain positive-or-zero decimal ("12", "0.5"); refuses signs, exponents and
/// anything else, as the API does.
pub fn plain_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1;
    plain.then(|| text.parse().ok()).flatten()
}

/// SplitMix64: small, fast, and the same sequence on every platform and crate version.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform integer in `-bound..=bound`.
    pub fn symmetric(&mut self, bound: i64) -> i64 {
        assert!(bound >= 0);
        let span = 2 * bound as u64 + 1;
        (self.next_u64() % span) as i64 - bound
    }
}

/// A seeded random walk in ticks: each step moves up to `step_bps` of the price.
#[derive(Clone, Debug)]
pub struct RandomWalk {
    rng: SplitMix64,
    price: i64,
    step_bps: i64,
    floor: i64,
}

impl RandomWalk {
    /// Starts at `price` ticks; never goes below `floor` ticks.
    pub fn new(seed: u64, price: i64, step_bps: i64, floor: i64) -> Self {
        assert!(price > 0 && floor > 0);
        Self {
            rng: SplitMix64::new(seed),
            price: price.max(floor),
            step_bps,
            floor,
        }
    }

    /// The next price, ticks.
    pub fn step(&mut self) -> i64 {
        let bound = (self.price.saturating_mul(self.step_bps) / 10_000).max(1);
        self.price = (self.price + self.rng.symmetric(bound)).max(self.floor);
        self.price
    }
}

/// Prices read from a CSV file: lines `SYMBOL,PRICE` (a header line and `#` comments are
/// skipped). Each market replays its own prices in order and starts over at the end.
#[derive(Clone, Debug, Default)]
pub struct PriceFile {
    prices: HashMap<String, Vec<Decimal>>,
    cursor: HashMap<String, usize>,
}

impl PriceFile {
    /// Reads a price file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read price file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("price file {}", path.display()))
    }

    /// Parses the text of a price file.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut prices: HashMap<String, Vec<Decimal>> = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((symbol, price)) = line.split_once(',') else {
                bail!("line {}: expected SYMBOL,PRICE, got {line:?}", number + 1);
            };
            let Some(price) = plain_decimal(price) else {
                if number == 0 {
                    continue; // a header
                }
                bail!(
                    "line {}: {:?} is not a decimal price",
                    number + 1,
                    price.trim()
                );
            };
            if price <= Decimal::ZERO {
                bail!("line {}: price must be positive", number + 1);
            }
            prices
                .entry(symbol.trim().to_string())
                .or_default()
                .push(price);
        }
        if prices.is_empty() {
            bail!("no prices");
        }
        Ok(Self {
            prices,
            cursor: HashMap::new(),
        })
    }

    /// Whether the file has prices for `symbol`.
    pub fn has(&self, symbol: &str) -> bool {
        self.prices.contains_key(symbol)
    }

    /// The next price of `symbol`.
    pub fn next(&mut self, symbol: &str) -> Option<Decimal> {
        let prices = self.prices.get(symbol)?;
        let cursor = self.cursor.entry(symbol.to_string()).or_insert(0);
        let price = prices[*cursor % prices.len()];
        *cursor += 1;
        Some(price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_walks_the_same_path() {
        let walk = |seed| {
            let mut w = RandomWalk::new(seed, 6_000_000, 5, 100);
            (0..1000).map(|_| w.step()).collect::<Vec<_>>()
        };
        assert_eq!(walk(7), walk(7));
        assert_ne!(walk(7), walk(8));
        let path = walk(7);
        // 5 bps of 6M ticks is at most 3000 ticks a step.
        assert!(path.windows(2).all(|w| (w[0] - w[1]).abs() <= 3_100));
        assert!(path.iter().collect::<std::collections::HashSet<_>>().len() > 100);
    }

    #[test]
    fn the_walk_stays_above_its_floor() {
        let mut walk = RandomWalk::new(1, 5, 10_000, 3);
        assert!((0..10_000).all(|_| walk.step() >= 3));
    }

    #[test]
    fn price_files_replay_per_market_and_wrap() {
        let mut file = PriceFile::parse(
            "symbol,price\nBTC-USD,60000.5\n# note\nETH-USD,3000\nBTC-USD,60001\n",
        )
        .unwrap();
        assert_eq!(file.next("BTC-USD"), Some("60000.5".parse().unwrap()));
        assert_eq!(file.next("BTC-USD"), Some("60001".parse().unwrap()));
        assert_eq!(file.next("BTC-USD"), Some("60000.5".parse().unwrap()));
        assert_eq!(file.next("ETH-USD"), Some("3000".parse().unwrap()));
        assert_eq!(file.next("SOL-USD"), None);
        let error = PriceFile::parse("BTC-USD,1\nBTC-USD,abc\n").unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(PriceFile::parse("BTC-USD,-1\n").is_err());
        assert!(PriceFile::parse("BTC-USD,0\n").is_err());
        assert_eq!(plain_decimal(" 2.50 "), Some("2.5".parse().unwrap()));
        assert_eq!(plain_decimal("1e3"), None);
        assert_eq!(plain_decimal("1.2.3"), None);
    }
}
