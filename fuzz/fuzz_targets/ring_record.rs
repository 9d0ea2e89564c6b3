//! Ring records as the engine reads them: every 128 bytes of the input is one command record
//! (`Command::from_bytes`), stamped and applied to the fixture engine. Whatever the bytes, the
//! engine never panics, answers every command with events ending in exactly one `Done`, keeps
//! its invariants, and a rejected command carries a known reason and leaves the state hash as
//! it was. The state is also replayed from the records and must hash the same (determinism).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinwheel_engine::message::{
    Command, CommandKind, Done, Event, EventKind, Reject, RejectReason, RECORD_SIZE,
};
use pinwheel_fuzz::fixture;

/// Records per input: enough to place, match and cancel, few enough to stay fast.
const MAX_RECORDS: usize = 16;

fuzz_target!(|data: &[u8]| {
    let mut engine = fixture::engine();
    let records: Vec<Command> = data
        .chunks_exact(RECORD_SIZE)
        .take(MAX_RECORDS)
        .map(Command::from_bytes)
        .collect();
    for command in &records {
        let before = engine.state_hash();
        let events = fixture::apply(&mut engine, *command);
        check_answer(command, &events);
        let done: Done = events.last().expect("a Done").body();
        let query = CommandKind::from_u8(command.head.kind).is_some_and(CommandKind::is_query);
        if done.rejected != 0 || query {
            assert_eq!(
                engine.state_hash(),
                before,
                "a rejected or query command changed the state: {command:?} -> {events:?}"
            );
        }
        if let Err(broken) = engine.check_invariants() {
            panic!("invariant broken by {command:?}: {broken}");
        }
    }
    let mut again = fixture::engine();
    for command in &records {
        fixture::apply(&mut again, *command);
    }
    assert_eq!(again.state_hash(), engine.state_hash(), "replay diverged");
});

/// One `Done`, last, counting the events before it; a reject is one `Rejected` with a reason.
fn check_answer(command: &Command, events: &[Event]) {
    let (done, before) = events.split_last().expect("at least a Done");
    assert_eq!(
        done.head.kind,
        EventKind::Done as u8,
        "{command:?}: {events:?}"
    );
    assert!(
        before.iter().all(|e| e.head.kind != EventKind::Done as u8),
        "{command:?}: two Done events"
    );
    let body: Done = done.body();
    assert_eq!(body.event_count as usize, before.len(), "{command:?}");
    let rejects: Vec<&Event> = before
        .iter()
        .filter(|e| e.head.kind == EventKind::Rejected as u8)
        .collect();
    if body.rejected != 0 {
        assert_eq!(rejects.len(), 1, "{command:?}: {events:?}");
        let reject: Reject = rejects[0].body();
        assert!(
            RejectReason::from_u16(reject.reason).is_some(),
            "{command:?}: unknown reject reason {}",
            reject.reason
        );
    } else {
        assert!(
            rejects.is_empty(),
            "{command:?}: Rejected without the Done saying so"
        );
    }
}
