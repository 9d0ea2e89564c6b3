//! Replays LOBSTER messages through the engine ([`EngineBook`]) and checks every book row
//! and every group of same-time executions against NASDAQ.
//!
//! Orders the file never submitted (they rested before 09:30, or were added below the top
//! N levels, which a level-N file leaves out) are inferred from the messages that name
//! them: their size is at least the sum of everything later done to them, and their place
//! in the queue follows NASDAQ's order reference numbers, which rise with time (every
//! pre-open order is older than every order of the file). What no message explains is kept
//! apart in [`Depth`], and may only be taken from the book file for a level that was not
//! visible in the previous row: a level the previous row showed must match exactly.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context};
use pinwheel_engine::book::{crosses, opposite};
use pinwheel_engine::message::Side;

use super::depth::Depth;
use super::engine_book::{EngineBook, SweepFill};
use super::parse::{BookRow, Message, MessageKind};
use super::{BookMismatch, LobsterSummary, PriorityMismatch, SHOWN_MISMATCHES};

/// The replay state: the engine that follows NASDAQ's messages, a scratch engine for the
/// matching checks, and what the message file cannot explain.
pub struct Replay {
    book: EngineBook,
    scratch: EngineBook,
    depth: Depth,
    /// Orders named before (or without) their submission -> least size they had.
    inferred: HashMap<u64, i64>,
    /// Order id -> index of the message that submitted it.
    submitted: HashMap<u64, usize>,
    /// Order id -> index of the last message that names it.
    last_named: HashMap<u64, usize>,
    /// Index of the message being replayed.
    at: usize,
    levels: usize,
    previous: BookRow,
    view: Vec<(i64, i64)>,
    /// The engine's levels as its depth query answered.
    engine_levels: Vec<(i64, i64)>,
    later: Vec<(u64, i64)>,
    summary: LobsterSummary,
}

impl Replay {
    /// Prepares a replay of `messages` checked at depth `levels`: scans the file once for
    /// orders it never submits and sizes the engines.
    pub fn new(messages: &[Message], levels: usize) -> anyhow::Result<Self> {
        let mut submitted = HashMap::new();
        let mut inferred: HashMap<u64, i64> = HashMap::new();
        let mut prices = HashSet::new();
        let mut last_named = HashMap::new();
        for (index, message) in messages.iter().enumerate() {
            if !message.kind.names_visible_order() {
                continue;
            }
            last_named.insert(message.order_id, index);
            prices.insert((message.side as u8, message.price));
            if message.kind == MessageKind::Submit {
                submitted.insert(message.order_id, index);
            } else if !submitted.contains_key(&message.order_id) {
                *inferred.entry(message.order_id).or_default() += message.size;
            }
        }
        let max_orders = submitted.len() + inferred.len() + 16;
        let max_levels = prices.len() + 16;
        Ok(Self {
            book: EngineBook::new(max_orders, max_levels)?,
            scratch: EngineBook::new(max_orders, max_levels)?,
            depth: Depth::default(),
            inferred,
            submitted,
            last_named,
            at: 0,
            levels,
            previous: BookRow::default(),
            view: Vec::with_capacity(levels),
            engine_levels: Vec::with_capacity(levels),
            later: Vec::new(),
            summary: LobsterSummary {
                levels,
                ..LobsterSummary::default()
            },
        })
    }

    /// Replays every message, checking the book after each against `books[i]`.
    pub fn run(
        mut self,
        messages: &[Message],
        books: &[BookRow],
    ) -> anyhow::Result<LobsterSummary> {
        anyhow::ensure!(
            messages.len() == books.len(),
            "the message file has {} rows but the book file has {}",
            messages.len(),
            books.len()
        );
        for index in 0..messages.len() {
            let row = index + 1;
            self.at = index;
            if starts_execution_group(messages, index) {
                let end = execution_group_end(messages, index);
                self.check_execution_group(&messages[index..end], row)?;
            }
            self.apply(&messages[index], row)?;
            self.check_book(&books[index], row);
        }
        self.summary.messages = messages.len() as u64;
        Ok(self.summary)
    }

    /// Applies one message to the engine's book; NASDAQ's size is the truth, and a
    /// difference from the engine's order goes to [`Depth`] (counted).
    fn apply(&mut self, message: &Message, row: usize) -> anyhow::Result<()> {
        let (side, price, size) = (message.side, message.price, message.size);
        match message.kind {
            MessageKind::Submit => {
                self.book
                    .add(message.order_id, side, price, size)
                    .with_context(|| format!("row {row}: submit"))?;
            }
            MessageKind::PartialCancel | MessageKind::Execute => {
                let remaining = self.ensure_resting(message, row)?;
                let taken = size.min(remaining);
                self.book
                    .reduce(message.order_id, taken)
                    .with_context(|| format!("row {row}: reduce"))?;
                self.correct_size(side, price, taken, size);
            }
            MessageKind::Delete => {
                let remaining = self.ensure_resting(message, row)?;
                self.book
                    .cancel(message.order_id)
                    .with_context(|| format!("row {row}: delete"))?;
                self.correct_size(side, price, remaining, size);
            }
            MessageKind::ExecuteHidden => self.summary.hidden_executions += 1,
            MessageKind::Cross => self.summary.cross_trades += 1,
            MessageKind::Halt => self.summary.halts += 1,
        }
        Ok(())
    }

    /// The engine removed `engine` lots where NASDAQ removed `nasdaq`: keep the shown level
    /// NASDAQ's by booking the difference as unexplained.
    fn correct_size(&mut self, side: Side, price: i64, engine: i64, nasdaq: i64) {
        if engine != nasdaq {
            self.depth.add(side, price, engine - nasdaq);
            self.summary.size_corrections += 1;
        }
    }

    /// Makes sure the order the message names rests in the engine's book (inferring it if
    /// the file never submitted it); returns its remaining quantity.
    fn ensure_resting(&mut self, message: &Message, row: usize) -> anyhow::Result<i64> {
        if let Some(order) = self.book.order(message.order_id) {
            if order.side != message.side || order.price != message.price {
                bail!(
                    "row {row}: order {} rests at {:?} {} but the message says {:?} {}",
                    message.order_id,
                    order.side,
                    order.price,
                    message.side,
                    message.price
                );
            }
            return Ok(order.remaining);
        }
        let size = match self.inferred.remove(&message.order_id) {
            Some(size) => size,
            None => {
                // Submitted, then emptied by the engine while NASDAQ still had some of it.
                self.summary.size_corrections += 1;
                message.size
            }
        };
        self.insert_by_age(message.order_id, message.side, message.price, size)
            .with_context(|| format!("row {row}: inferring order {}", message.order_id))?;
        let (side, price) = (message.side, message.price);
        let unexplained = self.depth.get(side, price).max(0);
        let explained = unexplained.min(size);
        self.depth.add(side, price, -explained);
        if size > explained && self.was_visible(side, price) {
            // NASDAQ showed this level's total with the order in it: the engine's extra
            // quantity belongs to orders that left (or were replaced) while below level N.
            self.remove_stale(side, price, size - explained);
        }
        self.summary.inferred_orders += 1;
        Ok(size)
    }

    /// Rests an inferred order at its place in time: behind every order with a smaller
    /// reference number, ahead of every larger one. The book only appends, so the younger
    /// orders of the level are taken out and appended again behind it, in their order.
    fn insert_by_age(&mut self, id: u64, side: Side, price: i64, size: i64) -> anyhow::Result<()> {
        self.later.clear();
        self.later.extend(
            self.book
                .level_orders(side, price)
                .filter(|&(later_id, _)| later_id > id),
        );
        for &(later_id, _) in &self.later {
            self.book.cancel(later_id)?;
        }
        self.book.add(id, side, price, size)?;
        for &(later_id, remaining) in &self.later {
            self.book.add(later_id, side, price, remaining)?;
        }
        Ok(())
    }

    /// Checks the engine's matching priority on one group of same-time executions: copies
    /// the levels they can reach into the scratch engine (same queues), sends it an IOC
    /// order for their total at their worst price, and compares its fills with NASDAQ's.
    fn check_execution_group(&mut self, group: &[Message], row: usize) -> anyhow::Result<()> {
        for message in group {
            self.ensure_resting(message, row)?;
        }
        let maker = group[0].side;
        let taker = opposite(maker);
        let worst = group
            .iter()
            .map(|m| m.price)
            .reduce(|a, b| if crosses(taker, Some(a), b) { a } else { b })
            .expect("a group has a row");
        self.remove_departed_ahead(group, maker, worst);
        let total: i64 = group.iter().map(|m| m.size).sum();
        copy_reachable_levels(&self.book, &mut self.scratch, maker, worst)?;
        let mut fills = Vec::with_capacity(group.len());
        self.scratch.sweep(taker, worst, total, &mut fills)?;
        self.scratch.clear()?;
        let mut engine = Vec::with_capacity(group.len());
        let mut prices = Vec::with_capacity(group.len());
        for &SweepFill {
            maker_id,
            price,
            quantity,
        } in &fills
        {
            push_coalesced(&mut engine, maker_id, quantity);
            prices.push((maker_id, price));
        }
        let mut nasdaq = Vec::with_capacity(group.len());
        for message in group {
            push_coalesced(&mut nasdaq, message.order_id, message.size);
        }
        self.summary.execution_groups += 1;
        if engine == nasdaq {
            return Ok(());
        }
        let skipped_older = self.nasdaq_skipped_older(&engine, &nasdaq, group, &prices);
        let (count, shown) = if skipped_older {
            (
                &mut self.summary.nasdaq_time_exceptions,
                &mut self.summary.first_nasdaq_time_exceptions,
            )
        } else {
            (
                &mut self.summary.priority_mismatches,
                &mut self.summary.first_priority_mismatches,
            )
        };
        *count += 1;
        if shown.len() < SHOWN_MISMATCHES {
            shown.push(PriorityMismatch {
                row,
                nasdaq,
                engine,
            });
        }
        Ok(())
    }

    /// True if, where the fills first differ, NASDAQ filled an order submitted in the file
    /// after the one the engine filled, at the same price: NASDAQ itself departed from
    /// price-time priority (for reasons LOBSTER does not record) and the engine kept it.
    /// An engine that broke time priority fills the younger order and is never excused.
    fn nasdaq_skipped_older(
        &self,
        engine: &[(u64, i64)],
        nasdaq: &[(u64, i64)],
        group: &[Message],
        engine_prices: &[(u64, i64)],
    ) -> bool {
        let Some(at) = engine.iter().zip(nasdaq).position(|(e, n)| e != n) else {
            return false;
        };
        let ((engine_id, _), (nasdaq_id, _)) = (engine[at], nasdaq[at]);
        let engine_price = engine_prices.iter().find(|(id, _)| *id == engine_id);
        let nasdaq_price = group.iter().find(|m| m.order_id == nasdaq_id);
        let same_price = match (engine_price, nasdaq_price) {
            (Some((_, engine_price)), Some(message)) => *engine_price == message.price,
            _ => false,
        };
        let submitted = |id| self.submitted.get(&id).copied();
        match (submitted(engine_id), submitted(nasdaq_id)) {
            (Some(older), Some(younger)) => same_price && engine_id != nasdaq_id && older < younger,
            _ => false,
        }
    }

    /// Compares the shown top levels with the book row; reconciles levels that were not
    /// visible in the previous row and counts a mismatch for any other difference.
    fn check_book(&mut self, want: &BookRow, row: usize) {
        self.summary.book_rows_checked += 1;
        let mut row_mismatched = false;
        for side in [Side::Sell, Side::Buy] {
            self.show(side);
            if self.view == want.side(side) {
                continue;
            }
            let shown_before = self.view.clone();
            if self.reconcile(side, want.side(side)) {
                row_mismatched = true;
                if self.summary.first_mismatches.len() < SHOWN_MISMATCHES {
                    self.summary.first_mismatches.push(BookMismatch {
                        row,
                        side,
                        nasdaq: want.side(side).to_vec(),
                        engine: shown_before,
                    });
                }
            }
        }
        if row_mismatched {
            self.summary.mismatches += 1;
        }
        self.previous.clone_from(want);
    }

    /// Fills `self.view` with the top levels of `side` as NASDAQ would show them: the
    /// engine's, from its depth query, merged with what the messages cannot explain.
    fn show(&mut self, side: Side) {
        let needed = self.levels + self.depth.len(side);
        self.book.depth(side, needed, &mut self.engine_levels);
        self.depth
            .view(&self.engine_levels, side, self.levels, &mut self.view);
    }

    /// Brings levels of `side` that the previous row did not show to `want` (they were
    /// below level N, where the file reports nothing); returns true if the shown levels
    /// still differ from `want` (a real mismatch, left as the engine has it).
    fn reconcile(&mut self, side: Side, want: &[(i64, i64)]) -> bool {
        for &(price, quantity) in want {
            let engine = self.book.level_quantity(side, price);
            let shown = (engine + self.depth.get(side, price)).max(0);
            if shown == quantity || self.was_visible(side, price) {
                continue;
            }
            let engine = if shown > quantity {
                engine - self.remove_stale(side, price, shown - quantity)
            } else {
                engine
            };
            self.depth.set(side, price, quantity - engine);
            self.summary.depth_resyncs += 1;
        }
        // Each pass empties one hidden level NASDAQ does not show; there are finitely many.
        loop {
            self.show(side);
            let extra = self.view.iter().map(|&(price, _)| price).find(|&price| {
                !want.iter().any(|&(p, _)| p == price) && !self.was_visible(side, price)
            });
            let Some(price) = extra else {
                break;
            };
            self.clear_level(side, price);
            self.summary.depth_resyncs += 1;
        }
        self.view != want
    }

    /// Empties a level NASDAQ no longer has (its orders left below level N, unreported):
    /// the engine's orders there are cancelled so they can never trade again.
    fn clear_level(&mut self, side: Side, price: i64) {
        self.later.clear();
        self.later.extend(self.book.level_orders(side, price));
        for &(id, _) in &self.later {
            let cancelled = self.book.cancel(id);
            debug_assert!(cancelled.is_ok(), "order listed in its level must cancel");
        }
        self.depth.set(side, price, 0);
    }

    /// Takes up to `quantity` lots off orders of a level that no later message names,
    /// oldest first: the only orders that can have left the book unreported (one NASDAQ
    /// still has is named when it trades or goes). Returns the quantity removed.
    fn remove_stale(&mut self, side: Side, price: i64, quantity: i64) -> i64 {
        let at = self.at;
        self.later.clear();
        self.later.extend(
            self.book
                .level_orders(side, price)
                .filter(|&(id, _)| is_never_named_after(&self.last_named, id, at)),
        );
        self.later.sort_unstable();
        let mut left = quantity;
        for &(id, remaining) in &self.later {
            if left == 0 {
                break;
            }
            let taken = remaining.min(left);
            let reduced = self.book.reduce(id, taken);
            debug_assert!(reduced.is_ok(), "a listed order reduces");
            left -= taken;
        }
        self.summary.stale_removed += quantity - left;
        quantity - left
    }

    /// An order queued ahead of one NASDAQ executes, and never named again, cannot still
    /// have rested (it would have traded first): it left while below level N, unreported.
    /// Takes such orders out of the levels the group reaches. NASDAQ's total for their level
    /// stays what it was, so their quantity moves to [`Depth`] (orders the file never named).
    fn remove_departed_ahead(&mut self, group: &[Message], maker: Side, worst: i64) {
        let taker = opposite(maker);
        self.later.clear();
        for price in self.book.level_prices(maker) {
            if !crosses(taker, Some(worst), price) {
                break;
            }
            self.later.extend(self.book.level_orders(maker, price));
        }
        let named = |id: u64| group.iter().any(|m| m.order_id == id);
        let Some(last_named) = self.later.iter().rposition(|&(id, _)| named(id)) else {
            return;
        };
        self.later.truncate(last_named);
        let at = self.at;
        self.later
            .retain(|&(id, _)| is_never_named_after(&self.last_named, id, at));
        for &(id, remaining) in &self.later {
            let order = self.book.order(id).expect("a listed order rests");
            let cancelled = self.book.cancel(id);
            debug_assert!(cancelled.is_ok(), "a listed order cancels");
            self.depth.add(order.side, order.price, remaining);
            self.summary.stale_removed += remaining;
        }
    }

    fn was_visible(&self, side: Side, price: i64) -> bool {
        self.previous.side(side).iter().any(|(p, _)| *p == price)
    }
}

/// True if no message from row index `at` on names the order.
fn is_never_named_after(last_named: &HashMap<u64, usize>, id: u64, at: usize) -> bool {
    last_named.get(&id).is_none_or(|&last| last < at)
}

/// True if row `index` is an execution that does not continue the previous row's group.
fn starts_execution_group(messages: &[Message], index: usize) -> bool {
    messages[index].kind == MessageKind::Execute
        && (index == 0 || !same_group(&messages[index - 1], &messages[index]))
}

/// One past the last row of the execution group starting at `start`.
fn execution_group_end(messages: &[Message], start: usize) -> usize {
    let mut end = start + 1;
    while end < messages.len() && same_group(&messages[end - 1], &messages[end]) {
        end += 1;
    }
    end
}

/// Executions of one aggressive sweep: consecutive, same time, same resting side.
fn same_group(a: &Message, b: &Message) -> bool {
    a.kind == MessageKind::Execute
        && b.kind == MessageKind::Execute
        && a.time_ns == b.time_ns
        && a.side == b.side
}

/// Appends a fill, merging it with the previous one for the same order (two sweeps at the
/// same instant may each take part of one order).
fn push_coalesced(fills: &mut Vec<(u64, i64)>, id: u64, quantity: i64) {
    match fills.last_mut() {
        Some((last, total)) if *last == id => *total += quantity,
        _ => fills.push((id, quantity)),
    }
}

/// Copies, in queue order, every order of `maker`'s levels a taker limited at `worst`
/// could reach into the (empty) scratch engine.
fn copy_reachable_levels(
    book: &EngineBook,
    scratch: &mut EngineBook,
    maker: Side,
    worst: i64,
) -> anyhow::Result<()> {
    debug_assert!(scratch.is_empty(), "scratch engine left dirty");
    let taker = opposite(maker);
    for price in book.level_prices(maker) {
        if !crosses(taker, Some(worst), price) {
            break;
        }
        for (id, remaining) in book.level_orders(maker, price) {
            scratch
                .add(id, maker, price, remaining)
                .context("copying into the scratch engine")?;
        }
    }
    Ok(())
}
