//! Runs `pinwheel bench journal --tiny` in a temporary folder: every figure comes back
//! positive and nothing of the run is left on disk.

use clap::Parser;
use pinwheel_benches::journal::{run, Args};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

#[test]
fn a_tiny_run_reports_every_figure_and_removes_its_journals() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli::parse_from([
        "journal",
        "--tiny",
        "--no-pin",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    let value = run(&cli.args).unwrap();

    assert_eq!(value["bench"], "journal");
    let positive = |path: &[&str]| {
        let figure = path.iter().fold(&value, |v, key| &v[*key]);
        let number = figure
            .as_f64()
            .unwrap_or_else(|| panic!("{path:?} missing in {value}"));
        assert!(number > 0.0, "{path:?} is {number} in {value}");
        number
    };
    for mode in ["none", "async", "sync"] {
        positive(&["ops_per_sec", mode]);
    }
    for figure in ["fdatasync_ns", "group_commit_floor_ns", "sync_ack_ns"] {
        let p50 = positive(&[figure, "p50"]);
        let p99 = positive(&[figure, "p99"]);
        assert!(p50 <= p99, "{figure}: p50 {p50} above p99 {p99}");
    }
    positive(&["replay_per_sec"]);
    positive(&["recovery_10m_s"]);
    positive(&["sync_ack_run", "fdatasyncs"]);
    positive(&["sync_ack_run", "slowest_fdatasync_ns"]);
    assert_eq!(value["recovery_commands"], 200_000, "--tiny's default");
    let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 9, "exactly the documented figures: {keys:?}");

    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(left.is_empty(), "the run left {left:?} behind");
}

#[test]
fn counts_that_cannot_work_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let cli = Cli::parse_from(["journal", "--no-pin", "--dir", path, "--commands", "10"]);
    let error = run(&cli.args).unwrap_err().to_string();
    assert!(error.contains("--commands"), "{error}");
    let cli = Cli::parse_from([
        "journal",
        "--no-pin",
        "--dir",
        path,
        "--commands",
        "2000",
        "--ack-commands",
        "5000",
    ]);
    let error = run(&cli.args).unwrap_err().to_string();
    assert!(error.contains("--ack-commands"), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
