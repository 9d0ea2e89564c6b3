//! The engine's snapshot body (`Engine::read_snapshot`) from arbitrary bytes: never a panic;
//! a refusal is an `InvalidData` error that says why; what it accepts keeps every invariant
//! and writes back (`Engine::write_snapshot`) as exactly the bytes it read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinwheel_engine::Engine;
use pinwheel_fuzz::fixture;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    match Engine::read_snapshot(&mut input, fixture::table(), &fixture::capacity()) {
        Ok(engine) => {
            let consumed = data.len() - input.len();
            let mut written = Vec::new();
            engine
                .write_snapshot(&mut written)
                .expect("writing to memory");
            assert_eq!(written, &data[..consumed], "snapshot did not round-trip");
            engine
                .check_invariants()
                .expect("an accepted snapshot keeps the invariants");
        }
        Err(error) => {
            let kind = error.kind();
            assert!(
                matches!(
                    kind,
                    std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
                ),
                "unexpected error kind {kind:?}: {error}"
            );
            assert!(!error.to_string().is_empty());
        }
    }
});
