//! `pinwheel lobster-check` on NASDAQ's AMZN sample day (level 1), through the real binary.

use std::path::PathBuf;
use std::process::Command;

/// `shared/data/lobster` beside the repository: `../shared` from the repository root (the
/// nearest ancestor that has it, so the test also runs from a nested worktree).
fn lobster_data(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/data/lobster"))
        .find(|dir| dir.is_dir())
        .expect("../shared/data/lobster beside the repository");
    dir.join(name)
}

#[test]
fn amzn_day_matches_nasdaq_book_and_execution_order() {
    let output = Command::new(env!("CARGO_BIN_EXE_pinwheel"))
        .arg("lobster-check")
        .arg("--messages")
        .arg(lobster_data(
            "AMZN_2012-06-21_34200000_57600000_message_1.csv",
        ))
        .arg("--book")
        .arg(lobster_data(
            "AMZN_2012-06-21_34200000_57600000_orderbook_1.csv",
        ))
        .args(["--levels", "1"])
        .output()
        .expect("run pinwheel");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        output.status
    );
    let count = |label: &str| -> u64 {
        let line = stdout
            .lines()
            .find(|line| line.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line in\n{stdout}"));
        line.split_whitespace().last().unwrap().parse().unwrap()
    };
    assert_eq!(count("messages"), 57_515);
    assert_eq!(count("book rows checked"), 57_515);
    assert_eq!(count("book mismatches"), 0);
    assert!(count("execution groups checked") > 6_000);
    assert_eq!(count("priority mismatches"), 0);
    assert!(count("inferred orders") > 0);
    assert!(stdout.contains("result: everything matched"), "{stdout}");
}
