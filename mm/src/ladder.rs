//! The market maker's quoting decisions, in integer ticks and lots: which orders should
//! rest around a reference price given the inventory, and how to get there from the
//! orders that rest now.

use std::collections::BTreeMap;

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// A bid.
    Buy,
    /// An ask.
    Sell,
}

impl Side {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }

    /// Parses the API's name (any case).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        }
    }
}

/// One resting order: side, price in ticks, quantity in lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quote {
    /// Bid or ask.
    pub side: Side,
    /// Price, ticks.
    pub price: i64,
    /// Quantity, lots.
    pub lots: i64,
}

/// How one market is quoted, in its integer units.
#[derive(Clone, Copy, Debug)]
pub struct LadderParams {
    /// Levels per side.
    pub levels: usize,
    /// Spread between best bid and best ask, basis points of the reference price.
    pub spread_bps: i64,
    /// Size of each level, lots.
    pub lots: i64,
    /// Largest absolute position allowed, lots of base asset.
    pub max_inventory: i64,
}

/// Ticks from the reference to the first level, and between levels: half the spread,
/// at least one tick.
pub fn half_spread(reference: i64, spread_bps: i64) -> i64 {
    (reference.saturating_mul(spread_bps) / 20_000).max(1)
}

/// The orders that should rest. The ladder leans away from the inventory (long: lower
/// prices, to sell more and buy less) and never offers more on a side than the room left
/// before the inventory bound: if every level on that side were filled, the position would
/// still be within `max_inventory`.
pub fn desired(reference: i64, inventory: i64, params: &LadderParams) -> Vec<Quote> {
    assert!(params.lots > 0, "level size must be positive");
    assert!(
        params.max_inventory >= 0,
        "inventory bound must not be negative"
    );
    let gap = half_spread(reference, params.spread_bps);
    let skew = if params.max_inventory == 0 {
        0
    } else {
        (inventory.clamp(-params.max_inventory, params.max_inventory) as i128 * gap as i128
            / params.max_inventory as i128) as i64
    };
    let center = reference - skew;
    let room_to_buy = (params.max_inventory - inventory).max(0);
    let room_to_sell = (params.max_inventory + inventory).max(0);
    let mut quotes = Vec::with_capacity(params.levels * 2);
    for (side, room) in [(Side::Buy, room_to_buy), (Side::Sell, room_to_sell)] {
        let levels = ((room / params.lots) as usize).min(params.levels);
        for level in 0..levels as i64 {
            let distance = gap + level * gap;
            let price = match side {
                Side::Buy => center - distance,
                Side::Sell => center + distance,
            };
            if price > 0 {
                quotes.push(Quote {
                    side,
                    price,
                    lots: params.lots,
                });
            }
        }
    }
    debug_assert!(best(&quotes, Side::Buy) < best(&quotes, Side::Sell).or(Some(i64::MAX)));
    quotes
}

fn best(quotes: &[Quote], side: Side) -> Option<i64> {
    let prices = quotes.iter().filter(|q| q.side == side).map(|q| q.price);
    match side {
        Side::Buy => prices.max(),
        Side::Sell => prices.min(),
    }
}

/// What to do to go from the resting orders to the desired ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Order ids to cancel.
    pub cancel: Vec<u64>,
    /// Quotes to place.
    pub place: Vec<Quote>,
}

/// Keeps resting orders that match a desired quote at the same side and price (a partly
/// filled one counts: it keeps its time priority), cancels the rest, places what is
/// missing. Cancels come first in the result, so the book never shows both ladders crossed.
pub fn changes(resting: &BTreeMap<u64, Quote>, desired: &[Quote]) -> Changes {
    let mut wanted: Vec<Quote> = desired.to_vec();
    let mut cancel = Vec::new();
    for (&id, order) in resting {
        let matching = wanted
            .iter()
            .position(|q| q.side == order.side && q.price == order.price);
        match matching {
            Some(index) => {
                wanted.swap_remove(index);
            }
            None => cancel.push(id),
        }
    }
    wanted.sort();
    Changes {
        cancel,
        place: wanted,
    }
}

/// How to requote without ever emptying a side that stays quoted: moves instead of
/// cancel-and-replace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requote {
    /// First: orders a side has more of than it wants (the side keeps the rest, so it is
    /// empty only when it wants nothing: the inventory bound).
    pub cancel: Vec<u64>,
    /// Then: orders to move to a new price, each in one engine command (an amend), ordered
    /// so that no move crosses the maker's own quotes: moves away from the other side first
    /// (asks up, bids down), then those towards it.
    pub amend: Vec<(u64, Quote)>,
    /// Last: quotes a side wants more of than it has.
    pub place: Vec<Quote>,
}

/// The plan from the resting orders to the desired ones: what [`changes`] would cancel and
/// place becomes, side by side, as many moves as both have (best stale order to best new
/// price), the surplus of stale orders cancelled first, the surplus of new quotes placed
/// last.
pub fn requote(resting: &BTreeMap<u64, Quote>, desired: &[Quote]) -> Requote {
    let plain = changes(resting, desired);
    let mut plan = Requote::default();
    let mut towards = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        let best_first = |a: &i64, b: &i64| match side {
            Side::Buy => b.cmp(a),
            Side::Sell => a.cmp(b),
        };
        let mut stale: Vec<(u64, i64)> = plain
            .cancel
            .iter()
            .map(|id| (*id, resting[id]))
            .filter(|(_, quote)| quote.side == side)
            .map(|(id, quote)| (id, quote.price))
            .collect();
        stale.sort_by(|a, b| best_first(&a.1, &b.1));
        let mut fresh: Vec<Quote> = plain
            .place
            .iter()
            .copied()
            .filter(|q| q.side == side)
            .collect();
        fresh.sort_by(|a, b| best_first(&a.price, &b.price));
        let moves = stale.len().min(fresh.len());
        plan.cancel.extend(stale[moves..].iter().map(|(id, _)| *id));
        plan.place.extend_from_slice(&fresh[moves..]);
        for ((id, old), quote) in stale.iter().zip(&fresh) {
            let away = match side {
                Side::Buy => quote.price < *old,
                Side::Sell => quote.price > *old,
            };
            if away {
                plan.amend.push((*id, *quote));
            } else {
                towards.push((*id, *quote));
            }
        }
    }
    plan.amend.extend(towards);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(levels: usize, max_inventory: i64) -> LadderParams {
        LadderParams {
            levels,
            spread_bps: 20,
            lots: 10,
            max_inventory,
        }
    }

    #[test]
    fn flat_inventory_quotes_symmetric_levels() {
        // 20 bps of 100_000 ticks: half spread 100 ticks.
        let quotes = desired(100_000, 0, &params(3, 1_000));
        let bids: Vec<i64> = quotes
            .iter()
            .filter(|q| q.side == Side::Buy)
            .map(|q| q.price)
            .collect();
        let asks: Vec<i64> = quotes
            .iter()
            .filter(|q| q.side == Side::Sell)
            .map(|q| q.price)
            .collect();
        assert_eq!(bids, vec![99_900, 99_800, 99_700]);
        assert_eq!(asks, vec![100_100, 100_200, 100_300]);
        assert!(quotes.iter().all(|q| q.lots == 10));
    }

    #[test]
    fn long_inventory_leans_down_and_stops_buying_at_the_bound() {
        let leaning = desired(100_000, 500, &params(3, 1_000));
        assert_eq!(
            leaning.iter().find(|q| q.side == Side::Sell).unwrap().price,
            100_050
        );
        // 15 lots of room to buy: one level of 10 fits, a second would break the bound.
        let near = desired(100_000, 985, &params(3, 1_000));
        assert_eq!(near.iter().filter(|q| q.side == Side::Buy).count(), 1);
        let full = desired(100_000, 1_000, &params(3, 1_000));
        assert_eq!(full.iter().filter(|q| q.side == Side::Buy).count(), 0);
        assert_eq!(full.iter().filter(|q| q.side == Side::Sell).count(), 3);
        let short = desired(100_000, -1_000, &params(3, 1_000));
        assert_eq!(short.iter().filter(|q| q.side == Side::Sell).count(), 0);
    }

    #[test]
    fn worst_case_fills_stay_within_the_bound() {
        for inventory in [-1_000, -995, -400, 0, 7, 999, 1_000] {
            let quotes = desired(5_000, inventory, &params(5, 1_000));
            let bought: i64 = quotes
                .iter()
                .filter(|q| q.side == Side::Buy)
                .map(|q| q.lots)
                .sum();
            let sold: i64 = quotes
                .iter()
                .filter(|q| q.side == Side::Sell)
                .map(|q| q.lots)
                .sum();
            assert!(inventory + bought <= 1_000, "{inventory}");
            assert!(inventory - sold >= -1_000, "{inventory}");
        }
    }

    #[test]
    fn tiny_prices_keep_one_tick_spread_and_positive_prices() {
        let quotes = desired(3, 0, &params(5, 1_000));
        assert!(quotes.iter().all(|q| q.price > 0));
        assert_eq!(quotes.iter().filter(|q| q.side == Side::Buy).count(), 2);
    }

    #[test]
    fn changes_keep_matching_orders_and_replace_the_rest() {
        let resting: BTreeMap<u64, Quote> = [
            (
                1,
                Quote {
                    side: Side::Buy,
                    price: 99,
                    lots: 10,
                },
            ),
            (
                2,
                Quote {
                    side: Side::Buy,
                    price: 98,
                    lots: 4,
                },
            ),
            (
                3,
                Quote {
                    side: Side::Sell,
                    price: 101,
                    lots: 10,
                },
            ),
        ]
        .into();
        let want = [
            Quote {
                side: Side::Buy,
                price: 98,
                lots: 10,
            },
            Quote {
                side: Side::Buy,
                price: 97,
                lots: 10,
            },
            Quote {
                side: Side::Sell,
                price: 100,
                lots: 10,
            },
        ];
        let plan = changes(&resting, &want);
        assert_eq!(plan.cancel, vec![1, 3]);
        assert_eq!(
            plan.place,
            vec![
                Quote {
                    side: Side::Buy,
                    price: 97,
                    lots: 10
                },
                Quote {
                    side: Side::Sell,
                    price: 100,
                    lots: 10
                },
            ]
        );
        assert_eq!(changes(&BTreeMap::new(), &[]), Changes::default());
    }
}

#[cfg(test)]
mod requote_tests {
    use super::*;
    use crate::price::SplitMix64;

    /// Checks the maker's own book after each step of a plan: bids below asks, and no side
    /// that was quoted before the plan, and is wanted after it, empty.
    fn check(book: &BTreeMap<u64, Quote>, desired: &[Quote], quoted: &[Side], step: &str) {
        let best_bid = best(&book.values().copied().collect::<Vec<_>>(), Side::Buy);
        let best_ask = best(&book.values().copied().collect::<Vec<_>>(), Side::Sell);
        if let (Some(bid), Some(ask)) = (best_bid, best_ask) {
            assert!(bid < ask, "own quotes cross after {step}: {bid} >= {ask}");
        }
        for side in [Side::Buy, Side::Sell] {
            let wanted = quoted.contains(&side) && desired.iter().any(|q| q.side == side);
            let had = book.values().any(|q| q.side == side);
            assert!(!wanted || had, "{side:?} empty after {step}");
        }
    }

    #[test]
    fn requotes_move_every_ladder_to_the_next_without_an_empty_side_or_a_self_cross() {
        let params = LadderParams {
            levels: 8,
            spread_bps: 10,
            lots: 10,
            max_inventory: 10_000,
        };
        let mut rng = SplitMix64::new(7);
        let mut book: BTreeMap<u64, Quote> = BTreeMap::new();
        let mut next_id = 1;
        let mut reference = 1_000_000i64;
        for round in 0..500 {
            // Small steps and, now and then, a jump of many spreads (both ways).
            let step = (rng.next_u64() % 2_001) as i64 - 1_000;
            reference += if round % 50 == 49 { step * 40 } else { step };
            let inventory = (rng.next_u64() % 2_001) as i64 - 1_000;
            let desired = desired(reference, inventory, &params);
            let plan = requote(&book, &desired);
            let quoted: Vec<Side> = [Side::Buy, Side::Sell]
                .into_iter()
                .filter(|side| book.values().any(|q| q.side == *side))
                .collect();
            for id in &plan.cancel {
                book.remove(id).unwrap();
                check(&book, &desired, &quoted, "a cancel");
            }
            for (id, quote) in &plan.amend {
                assert_eq!(book[id].side, quote.side, "a move keeps its side");
                book.insert(*id, *quote);
                check(&book, &desired, &quoted, "a move");
            }
            for quote in &plan.place {
                book.insert(next_id, *quote);
                next_id += 1;
                check(&book, &desired, &quoted, "a place");
            }
            let mut have: Vec<Quote> = book.values().copied().collect();
            let mut want = desired.clone();
            have.sort();
            want.sort();
            assert_eq!(have, want, "round {round} ends at the desired ladder");
        }
    }
}
