//! Snapshot files (`pinwheel_journal::read_snapshot`, `latest_snapshot`) from arbitrary bytes.
//! The first byte picks the shape: odd writes the rest as a whole file as is; even wraps the
//! rest, as a body, in an intact file made by `write_snapshot`, which must read back exactly
//! (sequence, hash, body) and whose body then goes to the engine's snapshot reader. Damage is
//! an error naming the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinwheel_engine::Engine;
use pinwheel_fuzz::{fixture, scratch};
use pinwheel_journal::{latest_snapshot, read_snapshot, write_snapshot};

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let dir = scratch::fresh("snapshots");
    if shape % 2 == 1 {
        // A file named as a snapshot, then its bytes replaced by the input.
        let path = write_snapshot(&dir, 7, 0, &[]).expect("scratch write");
        std::fs::write(&path, rest).expect("scratch write");
        match read_snapshot(&path) {
            Ok(snapshot) => read_body(&snapshot.body),
            Err(error) => {
                let text = error.to_string();
                assert!(
                    text.contains(&*path.to_string_lossy()),
                    "unnamed file: {text}"
                );
            }
        }
        // A damaged newest snapshot is passed over, never fatal.
        latest_snapshot(&dir).expect("latest_snapshot skips damage");
    } else {
        let sequence = u64::from(shape) + 1;
        let hash = rest.len() as u64 ^ 0x5eed;
        let path = write_snapshot(&dir, sequence, hash, rest).expect("scratch write");
        let snapshot = read_snapshot(&path).expect("an intact file reads back");
        assert_eq!(
            (snapshot.sequence, snapshot.state_hash, &snapshot.body[..]),
            (sequence, hash, rest)
        );
        read_body(&snapshot.body);
    }
});

fn read_body(body: &[u8]) {
    let mut input = body;
    if let Ok(engine) = Engine::read_snapshot(&mut input, fixture::table(), &fixture::capacity()) {
        engine
            .check_invariants()
            .expect("an accepted snapshot keeps the invariants");
    }
}
