//! `pinwheel lobster-check`: replays a NASDAQ LOBSTER message file through the real
//! matching engine, as engine commands, and checks it against LOBSTER's book file and
//! NASDAQ's execution order.
//!
//! Prices are LOBSTER's dollars x 10000 used directly as ticks; sizes are shares used as
//! lots. After every message the top N levels of both sides, as the engine's depth query
//! answers them, must equal the book file's row; for every group of same-time executions of
//! one side, an IOC order for the group's total at its worst price, matched by the engine,
//! must fill the same resting orders in the same order and sizes as NASDAQ did.

mod depth;
mod engine_book;
pub mod parse;
mod replay;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pinwheel_engine::message::Side;

use self::parse::{parse_book_row, parse_message, BookRow, Message};
use self::replay::Replay;

/// How many mismatches of each kind the summary lists.
pub const SHOWN_MISMATCHES: usize = 5;

/// Arguments of `pinwheel lobster-check`.
#[derive(clap::Args, Clone, Debug)]
pub struct LobsterArgs {
    /// LOBSTER message file (`*_message_N.csv`).
    #[arg(long)]
    pub messages: PathBuf,
    /// LOBSTER book file (`*_orderbook_N.csv`), one row per message.
    #[arg(long)]
    pub book: PathBuf,
    /// Levels per side in the book file (N: the file has 4N columns).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub levels: u16,
}

/// A book row where the engine's top levels differed from NASDAQ's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookMismatch {
    /// 1-based row of both files.
    pub row: usize,
    /// The side that differed.
    pub side: Side,
    /// NASDAQ's `(price, size)` levels, best first.
    pub nasdaq: Vec<(i64, i64)>,
    /// The engine's levels, best first.
    pub engine: Vec<(i64, i64)>,
}

/// An execution group the engine filled differently from NASDAQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityMismatch {
    /// 1-based row of the group's first execution.
    pub row: usize,
    /// NASDAQ's fills `(order id, size)` in order.
    pub nasdaq: Vec<(u64, i64)>,
    /// The engine's fills in order.
    pub engine: Vec<(u64, i64)>,
}

/// What a LOBSTER check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LobsterSummary {
    /// Levels per side checked.
    pub levels: usize,
    /// Message rows replayed.
    pub messages: u64,
    /// Book rows compared (one per message).
    pub book_rows_checked: u64,
    /// Rows where a level visible in the previous row differed.
    pub mismatches: u64,
    /// The first few book mismatches.
    pub first_mismatches: Vec<BookMismatch>,
    /// Groups of same-time executions checked through the engine's matching.
    pub execution_groups: u64,
    /// Groups filled differently.
    pub priority_mismatches: u64,
    /// The first few priority mismatches.
    pub first_priority_mismatches: Vec<PriorityMismatch>,
    /// Groups where NASDAQ filled a younger order before an older one at the same price
    /// (both submitted in the file) and the engine kept time priority: NASDAQ's exceptions.
    pub nasdaq_time_exceptions: u64,
    /// The first few of them.
    pub first_nasdaq_time_exceptions: Vec<PriorityMismatch>,
    /// Orders the file never submitted, inferred when first named.
    pub inferred_orders: u64,
    /// Levels taken from the book file when they came into view from below level N.
    pub depth_resyncs: u64,
    /// Lots taken off orders no later message names, to match a level NASDAQ showed.
    pub stale_removed: i64,
    /// Messages whose size differed from the engine's order (events left out of the file).
    pub size_corrections: u64,
    /// Hidden executions (type 5): no visible change.
    pub hidden_executions: u64,
    /// Cross trades (type 6): no visible change.
    pub cross_trades: u64,
    /// Halt messages (type 7).
    pub halts: u64,
}

impl LobsterSummary {
    /// True if every book row and every execution group matched NASDAQ.
    pub fn all_matched(&self) -> bool {
        self.mismatches == 0 && self.priority_mismatches == 0 && self.messages > 0
    }
}

impl fmt::Display for LobsterSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "LOBSTER check, {} level(s) per side", self.levels)?;
        let rows = [
            ("messages", self.messages),
            ("book rows checked", self.book_rows_checked),
            ("book mismatches", self.mismatches),
            ("execution groups checked", self.execution_groups),
            ("priority mismatches", self.priority_mismatches),
            (
                "NASDAQ time-priority exceptions (engine kept time)",
                self.nasdaq_time_exceptions,
            ),
            (
                "inferred orders (not submitted in the file)",
                self.inferred_orders,
            ),
            ("levels resynced from below level N", self.depth_resyncs),
            (
                "size corrections (events left out of the file)",
                self.size_corrections,
            ),
            (
                "lots of unreported departures removed",
                self.stale_removed as u64,
            ),
            ("hidden executions", self.hidden_executions),
            ("cross trades", self.cross_trades),
            ("halts", self.halts),
        ];
        for (name, value) in rows {
            writeln!(f, "  {name:<52} {value:>10}")?;
        }
        for m in &self.first_mismatches {
            writeln!(
                f,
                "  book mismatch at row {} ({:?}): nasdaq {:?} engine {:?}",
                m.row, m.side, m.nasdaq, m.engine
            )?;
        }
        for m in &self.first_priority_mismatches {
            writeln!(
                f,
                "  priority mismatch at row {}: nasdaq {:?} engine {:?}",
                m.row, m.nasdaq, m.engine
            )?;
        }
        for m in &self.first_nasdaq_time_exceptions {
            writeln!(
                f,
                "  NASDAQ filled a younger order first at row {}: nasdaq {:?} engine {:?}",
                m.row, m.nasdaq, m.engine
            )?;
        }
        let verdict = if self.all_matched() {
            "everything matched"
        } else {
            "MISMATCHES FOUND"
        };
        write!(f, "  result: {verdict}")
    }
}

/// Runs the check on two files and prints the summary.
pub fn run_lobster(args: &LobsterArgs) -> anyhow::Result<LobsterSummary> {
    let messages = read(&args.messages)?;
    let book = read(&args.book)?;
    let summary = check_text(&messages, &book, usize::from(args.levels))
        .with_context(|| format!("checking {}", args.messages.display()))?;
    println!("{summary}");
    Ok(summary)
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Checks a message file's text against a book file's text at depth `levels`.
pub fn check_text(messages: &str, book: &str, levels: usize) -> anyhow::Result<LobsterSummary> {
    anyhow::ensure!(levels > 0, "--levels must be at least 1");
    let messages: Vec<Message> = non_empty_lines(messages)
        .map(|(row, line)| parse_message(line, row))
        .collect::<anyhow::Result<_>>()?;
    let mut books = Vec::with_capacity(messages.len());
    for (row, line) in non_empty_lines(book) {
        let mut parsed = BookRow::default();
        parse_book_row(line, levels, row, &mut parsed)?;
        books.push(parsed);
    }
    Replay::new(&messages, levels)?.run(&messages, &books)
}

fn non_empty_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day in twelve messages, two levels deep: a pre-open bid (order 3, never submitted),
    /// a two-order sweep, a hidden execution, a halt, a cross, partial cancel and deletes.
    const MESSAGES: &str = "\
34200.000000001,1,10,5,1000100,-1
34200.000000002,1,11,3,1000100,-1
34200.000000003,1,12,2,1000200,-1
34200.000000004,5,0,1,1000000,-1
34200.000000005,4,10,5,1000100,-1
34200.000000005,4,11,1,1000100,-1
34200.000000006,2,11,1,1000100,-1
34200.000000007,7,0,0,-1,-1
34200.000000008,4,3,4,999900,1
34200.000000009,3,3,3,999900,1
34200.000000010,6,-1,50,1000150,-1
34200.000000011,3,11,1,1000100,-1
";

    const BOOK: &str = "\
1000100,5,999900,7,9999999999,0,-9999999999,0
1000100,8,999900,7,9999999999,0,-9999999999,0
1000100,8,999900,7,1000200,2,-9999999999,0
1000100,8,999900,7,1000200,2,-9999999999,0
1000100,3,999900,7,1000200,2,-9999999999,0
1000100,2,999900,7,1000200,2,-9999999999,0
1000100,1,999900,7,1000200,2,-9999999999,0
1000100,1,999900,7,1000200,2,-9999999999,0
1000100,1,999900,3,1000200,2,-9999999999,0
1000100,1,-9999999999,0,1000200,2,-9999999999,0
1000100,1,-9999999999,0,1000200,2,-9999999999,0
1000200,2,-9999999999,0,9999999999,0,-9999999999,0
";

    #[test]
    fn a_consistent_day_matches_everywhere() {
        let summary = check_text(MESSAGES, BOOK, 2).unwrap();
        assert!(summary.all_matched(), "{summary}");
        assert_eq!(summary.messages, 12);
        assert_eq!(summary.book_rows_checked, 12);
        assert_eq!(summary.execution_groups, 2);
        assert_eq!(summary.inferred_orders, 1);
        assert_eq!(
            (
                summary.hidden_executions,
                summary.halts,
                summary.cross_trades
            ),
            (1, 1, 1)
        );
        assert_eq!(summary.nasdaq_time_exceptions, 0);
    }

    #[test]
    fn a_wrong_book_row_is_reported_with_its_row() {
        let wrong = BOOK.replacen(
            "1000100,1,999900,7,1000200,2,-9999999999,0\n1000100,1,999900,7",
            "1000100,2,999900,7,1000200,2,-9999999999,0\n1000100,1,999900,7",
            1,
        );
        assert_ne!(wrong, BOOK);
        let summary = check_text(MESSAGES, &wrong, 2).unwrap();
        assert!(!summary.all_matched());
        assert_eq!(summary.mismatches, 1, "{summary}");
        let mismatch = &summary.first_mismatches[0];
        assert_eq!((mismatch.row, mismatch.side), (7, Side::Sell));
        assert_eq!(mismatch.nasdaq, vec![(1_000_100, 2), (1_000_200, 2)]);
        assert_eq!(mismatch.engine, vec![(1_000_100, 1), (1_000_200, 2)]);
        assert!(summary.to_string().contains("book mismatch at row 7"));
    }

    #[test]
    fn the_same_day_checks_at_one_level() {
        let one_level: String = BOOK
            .lines()
            .map(|line| line.split(',').take(4).collect::<Vec<_>>().join(",") + "\n")
            .collect();
        let summary = check_text(MESSAGES, &one_level, 1).unwrap();
        assert!(summary.all_matched(), "{summary}");
        assert!(check_text(MESSAGES, &one_level, 2).is_err());
    }

    /// Two sell orders of 5 (ids 1 and 2, at `first` and `second`), then NASDAQ executes
    /// the younger one first: (messages, level-1 book after each message).
    fn younger_executed_first(first: i64, second: i64) -> (String, String) {
        let messages = format!(
            "34200.1,1,1,5,{first},-1\n34200.2,1,2,5,{second},-1\n\
             34200.3,4,2,5,{second},-1\n34200.3,4,1,5,{first},-1\n"
        );
        let both = if first == second { 10 } else { 5 };
        let book = format!(
            "{first},5,-9999999999,0\n{first},{both},-9999999999,0\n\
             {first},5,-9999999999,0\n9999999999,0,-9999999999,0\n"
        );
        (messages, book)
    }

    #[test]
    fn an_execution_at_a_worse_price_first_is_a_priority_mismatch() {
        let (messages, book) = younger_executed_first(1_000_100, 1_000_200);
        let summary = check_text(&messages, &book, 1).unwrap();
        assert_eq!(summary.priority_mismatches, 1, "{summary}");
        let mismatch = &summary.first_priority_mismatches[0];
        assert_eq!(mismatch.row, 3);
        assert_eq!(mismatch.nasdaq, vec![(2, 5), (1, 5)]);
        assert_eq!(mismatch.engine, vec![(1, 5), (2, 5)]);
        assert!(!summary.all_matched());
    }

    #[test]
    fn nasdaq_filling_a_younger_order_first_is_told_apart() {
        let (messages, book) = younger_executed_first(1_000_100, 1_000_100);
        let summary = check_text(&messages, &book, 1).unwrap();
        assert_eq!(summary.priority_mismatches, 0, "{summary}");
        assert_eq!(summary.nasdaq_time_exceptions, 1);
        assert_eq!(
            summary.first_nasdaq_time_exceptions[0].engine,
            vec![(1, 5), (2, 5)]
        );
        assert!(summary.all_matched());
    }

    #[test]
    fn pre_open_orders_keep_their_place_ahead_of_the_file() {
        // Order 7 rested before the file; 20 arrives in it at the same price. NASDAQ's sweep
        // takes 7 first, which the engine can only do if 7 was put ahead of 20.
        let messages = "\
34200.1,1,20,4,1000100,-1
34200.2,4,7,6,1000100,-1
34200.2,4,20,4,1000100,-1
";
        let book = "\
1000100,10,-9999999999,0
1000100,4,-9999999999,0
9999999999,0,-9999999999,0
";
        let summary = check_text(messages, book, 1).unwrap();
        assert!(summary.all_matched(), "{summary}");
        assert_eq!(summary.inferred_orders, 1);
        assert_eq!(summary.depth_resyncs, 1);
    }

    #[test]
    fn row_counts_must_agree() {
        let error = check_text(MESSAGES, "1000100,5,999900,7\n", 1).unwrap_err();
        assert!(error.to_string().contains("12 rows"), "{error}");
    }
}
