//! Spot settlement: what an order locks and how a fill moves money.
//!
//! This is the per-market-kind seam: matching decides *who trades how much at what price*;
//! this module decides *what that means for balances*. A leveraged market kind would bring
//! its own lock (initial margin) and settlement (positions) beside these, without touching
//! the matcher.

use crate::accounts::Accounts;
use crate::config::MarketSpec;
use crate::message::Side;

/// The integer terms of one market, copied out for the fill loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// Market id.
    pub market: u32,
    /// Base asset.
    pub base: u32,
    /// Quote asset.
    pub quote: u32,
    /// Base units per lot.
    pub lot_units: i64,
    /// Quote units per tick x lot.
    pub quote_per_tick_lot: i64,
    /// Maker fee, basis points.
    pub maker_fee_bps: i64,
    /// Taker fee, basis points.
    pub taker_fee_bps: i64,
}

impl Terms {
    /// Terms of a resolved market.
    pub fn of(spec: &MarketSpec) -> Self {
        Self {
            market: spec.id,
            base: spec.base,
            quote: spec.quote,
            lot_units: spec.lot_units,
            quote_per_tick_lot: spec.quote_per_tick_lot,
            maker_fee_bps: spec.maker_fee_bps,
            taker_fee_bps: spec.taker_fee_bps,
        }
    }

    /// Quote units of `quantity` lots at `price` ticks, if it fits in i64.
    pub fn notional(&self, price: i64, quantity: i64) -> Option<i64> {
        price
            .checked_mul(quantity)?
            .checked_mul(self.quote_per_tick_lot)
    }

    /// Base units of `quantity` lots, if it fits in i64.
    pub fn base_units(&self, quantity: i64) -> Option<i64> {
        quantity.checked_mul(self.lot_units)
    }

    /// What a resting limit order of `quantity` lots at `price` locks, if it fits.
    pub fn limit_lock(&self, side: Side, price: i64, quantity: i64) -> Option<i64> {
        match side {
            Side::Buy => self.notional(price, quantity),
            Side::Sell => self.base_units(quantity),
        }
    }
}

/// The fee on a received `amount`: `bps` basis points, rounded down (the user keeps the dust).
pub fn fee(amount: i64, bps: i64) -> i64 {
    (amount as i128 * bps as i128 / 10_000) as i64
}

/// Money moved by one fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillMoney {
    /// Quote units paid by the buyer, received by the seller (before fees).
    pub cost: i64,
    /// Base units delivered.
    pub base: i64,
    /// Fee taken from the buyer's base.
    pub buyer_fee: i64,
    /// Fee taken from the seller's quote.
    pub seller_fee: i64,
    /// Quote the buyer's order releases from its lock (`cost` plus any price improvement).
    pub buyer_release: i64,
}

/// Moves the money of one fill: the buyer's lock pays `cost` (the rest of its release comes
/// back as available), the seller's lock delivers `base`; fees go to the fee account.
pub fn settle(accounts: &mut Accounts, terms: &Terms, buyer: u64, seller: u64, money: &FillMoney) {
    assert!(money.buyer_release >= money.cost, "release below cost");
    let buyer_quote = accounts.holding_mut(buyer, terms.quote);
    buyer_quote.locked -= money.buyer_release;
    buyer_quote.available += money.buyer_release - money.cost;
    accounts.holding_mut(buyer, terms.base).available += money.base - money.buyer_fee;
    let seller_base = accounts.holding_mut(seller, terms.base);
    seller_base.locked -= money.base;
    accounts.holding_mut(seller, terms.quote).available += money.cost - money.seller_fee;
    accounts.fees[terms.base as usize] += money.buyer_fee;
    accounts.fees[terms.quote as usize] += money.seller_fee;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_round_down() {
        assert_eq!(fee(10_000, 20), 20);
        assert_eq!(fee(9_999, 20), 19);
        assert_eq!(fee(49, 20), 0);
        assert_eq!(fee(i64::MAX, 1000), i64::MAX / 10);
    }
}
