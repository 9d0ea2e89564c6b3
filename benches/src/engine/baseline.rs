//! The baseline: the same command stream through orderbook-rs (crates.io), an established
//! Rust limit order book with price-time priority.

use orderbook_rs::prelude::{Id, OrderBook, Side as BookSide, TimeInForce};
use pinwheel_engine::message::Side;
use pricelevel::{OrderUpdate, Price};

use super::open_loop::Target;
use super::workload::{Op, Workload};

/// orderbook-rs driven by the workload's book-neutral operations.
pub struct Baseline<'a> {
    book: OrderBook<()>,
    ops: &'a [Op],
    /// Operations the book refused (e.g. an order it had already filled).
    pub refused: u64,
}

impl<'a> Baseline<'a> {
    /// A fresh book with the workload's initial orders.
    pub fn prepared(workload: &'a Workload) -> Self {
        let mut baseline = Self {
            book: OrderBook::new("BTC-USD"),
            ops: &workload.ops,
            refused: 0,
        };
        for op in &workload.setup_ops {
            baseline.run(op);
        }
        baseline.refused = 0;
        baseline
    }

    fn run(&mut self, op: &Op) {
        let refused = match *op {
            Op::Place {
                id,
                side,
                price,
                quantity,
                ioc,
                ..
            } => {
                let tif = if ioc {
                    TimeInForce::Ioc
                } else {
                    TimeInForce::Gtc
                };
                let side = match side {
                    Side::Buy => BookSide::Buy,
                    Side::Sell => BookSide::Sell,
                };
                let price = price as u128;
                let placed = self.book.add_limit_order(
                    Id::from_u64(id),
                    price,
                    quantity as u64,
                    side,
                    tif,
                    None,
                );
                placed.is_err()
            }
            Op::Amend { id, price } => self
                .book
                .update_order(OrderUpdate::UpdatePrice {
                    order_id: Id::from_u64(id),
                    new_price: Price::new(price as u128),
                })
                .is_err(),
            Op::Cancel { id } => self.book.cancel_order(Id::from_u64(id)).is_err(),
        };
        self.refused += refused as u64;
    }
}

impl Target for Baseline<'_> {
    fn apply(&mut self, index: usize) {
        let op = self.ops[index];
        self.run(&op);
    }
}
