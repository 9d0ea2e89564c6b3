//! After warm-up, applying commands allocates nothing: a counting global allocator watches
//! this thread while thousands of mixed commands (every order type, amends, cancels,
//! cancel-all, deposits, withdrawals, queries, rejections) go through the engine.

mod common;

use common::*;
use pinwheel_engine::alloc_count::{count_allocations, is_counting, CountingAllocator};
use pinwheel_engine::message::{Event, EventKind};
use pinwheel_engine::{Counters, Engine, EventSink};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Counts events by kind and folds them into a checksum: a sink that never allocates.
#[derive(Default)]
struct Tally {
    events: u64,
    trades: u64,
    rejects: u64,
    depth_levels: u64,
    checksum: u64,
}

impl EventSink for Tally {
    fn emit(&mut self, event: &Event) {
        self.events += 1;
        self.trades += (event.head.kind == EventKind::Trade as u8) as u64;
        self.rejects += (event.head.kind == EventKind::Rejected as u8) as u64;
        self.depth_levels += (event.head.kind == EventKind::DepthLevel as u8) as u64;
        for chunk in event.as_bytes().chunks(8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap());
            self.checksum = (self.checksum ^ word)
                .rotate_left(7)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
}

#[test]
fn applying_commands_after_warm_up_allocates_nothing() {
    const USERS: u64 = 8;
    const COMMANDS: u64 = 20_000;
    let mut engine = Engine::new(table(), &capacity());
    let counters = Counters::new();
    let mut tally = Tally::default();
    let mut sequence = 0;
    for user in 1..=USERS {
        sequence += 1;
        engine.apply(&create_user(&format!("user{user}"), sequence), &mut tally);
        for asset in 0..4 {
            sequence += 1;
            engine.apply(&deposit(user, asset, 1_000_000_000, sequence), &mut tally);
        }
    }
    // Pre-build the commands so the measured loop does nothing but apply them.
    let mut rng = Rng(0x5eed);
    let commands: Vec<_> = (0..COMMANDS)
        .map(|i| random_trading_command(&mut rng, USERS, 1 + i / 2, sequence + 1 + i))
        .collect();
    let (warm_up, measured) = commands.split_at(2_000);
    for command in warm_up {
        engine.apply_counted(command, &mut tally, &counters);
    }
    let before = (tally.trades, tally.rejects, tally.depth_levels);
    // Control: the counter does see an allocation on this thread.
    let (_, control) =
        count_allocations(|| drop(std::hint::black_box(Vec::<u64>::with_capacity(4))));
    assert_eq!(control, 1, "the counting allocator is not counting");
    let ((), allocations) = count_allocations(|| {
        for command in measured {
            engine.apply_counted(command, &mut tally, &counters);
        }
    });
    assert_eq!(
        allocations, 0,
        "the engine allocated {allocations} times after warm-up"
    );
    // The measured run did real work: trades, rests, and rejections of every sort.
    assert!(
        tally.trades - before.0 > 1_000,
        "too few trades: {}",
        tally.trades - before.0
    );
    assert!(tally.rejects - before.1 > 100, "too few rejections");
    assert!(tally.depth_levels - before.2 > 100, "books were never deep");
    assert!(counters.command_count(4) + counters.command_count(7) > 10_000);
    engine.check_invariants().unwrap();
}

#[test]
fn counts_this_threads_allocations_only_while_asked() {
    assert!(is_counting(), "this binary installs the counting allocator");
    let (_, none) = count_allocations(|| 1 + 1);
    assert_eq!(none, 0);
    let (vector, some) = count_allocations(|| std::hint::black_box(vec![1u8; 64]));
    assert_eq!(some, 1);
    drop(vector);
    let _outside = std::hint::black_box(vec![0u8; 8]);
    let (_, after) = count_allocations(|| ());
    assert_eq!(
        after, 0,
        "allocations outside the counted work are not counted"
    );
}
