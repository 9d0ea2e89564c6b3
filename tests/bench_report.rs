//! `pinwheel bench all --report DIR --tiny` with the real binary produces the page and the
//! plots; every harness appears, as figures or as a recorded failure.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_pinwheel");

#[test]
fn bench_all_tiny_writes_the_report_and_plots() {
    let dir: PathBuf = std::env::temp_dir().join(format!("pinwheel-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = Command::new(BIN)
        .args([
            "bench",
            "all",
            "--tiny",
            "--timeout-secs",
            "300",
            "--report",
        ])
        .arg(&dir)
        .env("PINWHEEL_LOG", "warn")
        .output()
        .expect("pinwheel runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bench all failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .expect("output");
    let summary: serde_json::Value = serde_json::from_str(last).expect("last line is JSON");
    assert_eq!(summary["bench"], "all");
    let page = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    for harness in ["ring", "engine", "journal", "e2e", "feed"] {
        assert!(
            page.contains(&format!("| {harness} | `pinwheel bench {harness}")),
            "{harness} missing:\n{page}"
        );
        assert!(summary["results"][harness].is_object(), "{harness}");
    }
    // The ring harness is in main: it must have run, with its baselines and a plot.
    assert!(
        summary["results"]["ring"]["rtt_ns"]["p50"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{summary}"
    );
    assert!(page.contains("| ring | rtt_ns.p50 |"), "{page}");
    let plots = summary["plots"].as_array().unwrap();
    assert!(!plots.is_empty());
    for plot in plots {
        let bytes = std::fs::read(dir.join(plot.as_str().unwrap())).expect("plot file");
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 1000,
            "{plot}"
        );
    }
    assert!(page.contains("## What pinning buys"));
    assert!(page.contains("| CPU model |"));
    let _ = std::fs::remove_dir_all(&dir);
}
