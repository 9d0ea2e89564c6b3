//! Quantity the book file shows but the message file cannot explain.
//!
//! A level-N LOBSTER message file holds only the events that touched the top N levels at
//! the time; what happens deeper (orders added, trimmed or deleted below level N) is left
//! out. When such a level later moves into the top N, the file's figure for it is the only
//! truth available. [`Depth`] keeps, per price, the difference between that truth and the
//! engine's level (positive: orders the replay never saw; negative: quantity the engine
//! holds that NASDAQ had already removed). The shown level is engine + depth.

use std::collections::BTreeMap;

use pinwheel_engine::message::Side;

/// Per side, price -> quantity to add to the engine's level (never stores 0).
#[derive(Clone, Debug, Default)]
pub struct Depth {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl Depth {
    fn side(&self, side: Side) -> &BTreeMap<i64, i64> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<i64, i64> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The unexplained quantity at a level.
    pub fn get(&self, side: Side, price: i64) -> i64 {
        self.side(side).get(&price).copied().unwrap_or(0)
    }

    /// Sets the unexplained quantity at a level.
    pub fn set(&mut self, side: Side, price: i64, quantity: i64) {
        if quantity == 0 {
            self.side_mut(side).remove(&price);
        } else {
            self.side_mut(side).insert(price, quantity);
        }
    }

    /// Adds `delta` to the unexplained quantity at a level.
    pub fn add(&mut self, side: Side, price: i64, delta: i64) {
        let quantity = self.get(side, price) + delta;
        self.set(side, price, quantity);
    }

    /// Prices of `side` that hold an unexplained quantity. The top `n` levels shown come
    /// from at most `n` plus this many engine levels (only these can hide one).
    pub fn len(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// The top `n` levels as NASDAQ would show them: the engine's levels (best first, at
    /// least `n + self.len(side)` of them when the engine has that many) merged with the
    /// unexplained quantities, best first, levels at zero or below left out.
    pub fn view(&self, engine: &[(i64, i64)], side: Side, n: usize, out: &mut Vec<(i64, i64)>) {
        out.clear();
        let mut engine = engine.iter().copied().peekable();
        let extra: Box<dyn Iterator<Item = (&i64, &i64)> + '_> = match side {
            Side::Buy => Box::new(self.bids.iter().rev()),
            Side::Sell => Box::new(self.asks.iter()),
        };
        let mut extra = extra
            .map(|(price, quantity)| (*price, *quantity))
            .peekable();
        let better = |a: i64, b: i64| match side {
            Side::Buy => a > b,
            Side::Sell => a < b,
        };
        while out.len() < n {
            let next = match (engine.peek().copied(), extra.peek().copied()) {
                (None, None) => break,
                (Some(level), None) => {
                    engine.next();
                    level
                }
                (None, Some(level)) => {
                    extra.next();
                    level
                }
                (Some((ep, eq)), Some((xp, xq))) if ep == xp => {
                    engine.next();
                    extra.next();
                    (ep, eq + xq)
                }
                (Some(e), Some(x)) if better(e.0, x.0) => {
                    engine.next();
                    e
                }
                (Some(_), Some(x)) => {
                    extra.next();
                    x
                }
            };
            if next.1 > 0 {
                out.push(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_merges_engine_levels_with_unexplained_quantity() {
        let bids = [(100, 5), (98, 5)];
        let asks = [(103, 2)];
        let mut depth = Depth::default();
        depth.set(Side::Buy, 99, 7);
        depth.set(Side::Buy, 100, -5);
        depth.add(Side::Buy, 98, 1);
        depth.set(Side::Sell, 102, 4);
        let mut view = Vec::new();
        depth.view(&bids, Side::Buy, 5, &mut view);
        assert_eq!(view, vec![(99, 7), (98, 6)]);
        depth.view(&bids, Side::Buy, 1, &mut view);
        assert_eq!(view, vec![(99, 7)]);
        depth.view(&asks, Side::Sell, 5, &mut view);
        assert_eq!(view, vec![(102, 4), (103, 2)]);
        assert_eq!((depth.len(Side::Buy), depth.len(Side::Sell)), (3, 1));
        depth.add(Side::Buy, 99, -7);
        assert_eq!(depth.get(Side::Buy, 99), 0);
        assert_eq!(depth.len(Side::Buy), 2);
    }
}
