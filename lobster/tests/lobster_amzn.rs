//! The LOBSTER check on NASDAQ's AMZN sample day, through the library: the engine must
//! follow NASDAQ's book and fill every sweep in NASDAQ's order.

use std::path::PathBuf;

/// `shared/data/lobster` beside the repository (the nearest ancestor that has it, so the
/// test also runs from a worktree nested one level deeper).
fn data(name: &str) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest
        .ancestors()
        .map(|dir| dir.join("shared/data/lobster"))
        .find(|dir| dir.is_dir())
        .expect("shared/data/lobster beside the repository");
    dir.join(name)
}

#[test]
fn amzn_level_1_replays_without_mismatch() {
    let messages = data("AMZN_2012-06-21_34200000_57600000_message_1.csv");
    let book = data("AMZN_2012-06-21_34200000_57600000_orderbook_1.csv");
    let args = pinwheel_lobster::LobsterArgs {
        messages,
        book,
        levels: 1,
    };
    let summary = pinwheel_lobster::run_lobster(&args).unwrap();
    assert_eq!(summary.messages, 57_515);
    assert_eq!(summary.book_rows_checked, 57_515);
    assert!(summary.execution_groups > 1_000, "{summary}");
    assert!(summary.all_matched(), "{summary}");
}
