//! The report writer on synthetic harness output.
#![allow(clippy::too_many_lines)] // Tests opt out: synthetic harness output is one literal.

use serde_json::json;

use super::*;

fn ok(name: &str, value: Value) -> HarnessRun {
    HarnessRun {
        name: name.into(),
        args: vec!["bench".into(), name.into(), "--tiny".into()],
        outcome: Ok(value),
        seconds: 1.5,
    }
}

fn failed(name: &str, reason: &str) -> HarnessRun {
    HarnessRun {
        name: name.into(),
        args: vec!["bench".into(), name.into()],
        outcome: Err(reason.into()),
        seconds: 0.1,
    }
}

fn percentiles(scale: u64) -> Value {
    json!({"p50": 100 * scale, "p99": 300 * scale, "p999": 900 * scale, "p9999": 2000 * scale, "max": 5000 * scale})
}

fn synthetic() -> (Vec<HarnessRun>, Vec<PinningRun>) {
    let harnesses = vec![
        ok(
            "ring",
            json!({"bench": "ring", "rtt_ns": percentiles(3), "pingpong_ns": percentiles(2),
                          "crossbeam_ns": percentiles(4), "throughput_per_sec": 12_000_000}),
        ),
        ok(
            "engine",
            json!({"bench": "engine", "ops_per_sec": 9_000_000, "baseline_ops_per_sec": 3_000_000,
                            "allocs_per_op": 0,
                            "latency_ns": {"125000": percentiles(1), "1000000": percentiles(2)},
                            "baseline_latency_ns": {"125000": percentiles(4), "1000000": percentiles(8)}}),
        ),
        failed(
            "journal",
            "exited with exit status: 2: error: unexpected argument '--tiny'",
        ),
        ok(
            "e2e",
            json!({"bench": "e2e", "max_orders_per_sec": 60000,
                         "http_rtt_ns": {"10000": percentiles(150)}, "http_floor_ns": {"10000": percentiles(100)},
                         "ws_ns": percentiles(50)}),
        ),
    ];
    let engine = |ops: u64| {
        ok(
            "engine",
            json!({"ops_per_sec": ops, "latency_ns": {"125000": percentiles(1)}}),
        )
    };
    let pinning = vec![
        PinningRun {
            label: "pinned, quiet".into(),
            load_core: None,
            run: engine(8_000_000),
        },
        PinningRun {
            label: "unpinned, quiet".into(),
            load_core: None,
            run: engine(6_000_000),
        },
        PinningRun {
            label: "pinned, background load".into(),
            load_core: Some(0),
            run: engine(4_000_000),
        },
        PinningRun {
            label: "unpinned, background load".into(),
            load_core: Some(0),
            run: failed("engine", "error: unexpected argument '--no-pin'"),
        },
    ];
    (harnesses, pinning)
}

fn non_white_pixels(path: &Path) -> (u32, u32, usize) {
    let image = image::open(path).unwrap().to_rgb8();
    let painted = image.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    (image.width(), image.height(), painted)
}

#[test]
fn report_has_tables_ratios_machine_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let (harnesses, pinning) = synthetic();
    let machine = describe_machine("pinwheel bench all --report x --tiny".into());
    let summary = write_report(dir.path(), &machine, &harnesses, &pinning).unwrap();
    let page = std::fs::read_to_string(dir.path().join("report.md")).unwrap();

    // Every figure beside its baseline with the right ratio.
    assert!(page.contains("| ring | rtt_ns.p50 | 300 | pingpong_ns.p50 (bare atomic ping-pong (hardware floor)) | 200 | 1.50x |"), "{page}");
    assert!(page.contains("| ring | rtt_ns.p99 | 900 | crossbeam_ns.p99 (crossbeam channel ping-pong) | 1200 | 0.75x |"), "{page}");
    assert!(
        page.contains("| engine | ops_per_sec | 9000000 | baseline_ops_per_sec"),
        "{page}"
    );
    assert!(page.contains("| 3.00x |"));
    assert!(page.contains("| engine | latency_ns.125000.p999 | 900 | baseline_latency_ns.125000.p999 (orderbook-rs, same commands) | 3600 | 0.25x |"), "{page}");
    assert!(
        page.contains("| e2e | http_rtt_ns.10000.max | 750000 | http_floor_ns.10000.max"),
        "{page}"
    );
    // The failed harness is shown as failed with its reason, not hidden.
    assert!(
        page.contains(
            "| journal | `pinwheel bench journal` | 0.1 | **failed**: exited with exit status: 2"
        ),
        "{page}"
    );
    // Machine description.
    for heading in [
        "CPU model",
        "cores online",
        "kernel",
        "governor",
        "pinning used",
    ] {
        assert!(page.contains(&format!("| {heading} |")), "{heading}");
    }
    // Pinning table: ratios against the pinned quiet run; the missing flag is recorded.
    assert!(
        page.contains(
            "| pinned, quiet | ok | 8000000 | 1.00x | 125000/s | 100 | 300 | 900 | 5000 |"
        ),
        "{page}"
    );
    assert!(
        page.contains("| unpinned, quiet | ok | 6000000 | 0.75x |"),
        "{page}"
    );
    assert!(
        page.contains("| pinned, background load | ok | 4000000 | 0.50x |"),
        "{page}"
    );
    assert!(
        page.contains(
            "| unpinned, background load | **failed**: error: unexpected argument '--no-pin'"
        ),
        "{page}"
    );
    assert!(page.contains("on core 0"));

    // One plot per harness that has latency percentiles, none for the failed one.
    let plots: Vec<&str> = summary["plots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        plots,
        ["ring-latency.png", "engine-latency.png", "e2e-latency.png"]
    );
    for plot in &plots {
        assert!(page.contains(&format!("]({plot})")), "{plot} not linked");
        let (width, height, painted) = non_white_pixels(&dir.path().join(plot));
        assert_eq!((width, height), (960, 600));
        assert!(
            painted > 2_000,
            "{plot} is nearly blank: {painted} pixels drawn"
        );
    }
    assert_eq!(summary["failed"], json!(["journal"]));
    assert!(summary["results"]["journal"]["error"]
        .as_str()
        .unwrap()
        .contains("--tiny"));
    let ratio = summary["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["figure"] == "http_rtt_ns.10000.p50")
        .unwrap()["ratio"]
        .as_f64()
        .unwrap();
    assert!((ratio - 1.5).abs() < 1e-12);
}

#[test]
fn plots_differ_when_the_data_differ() {
    let dir = tempfile::tempdir().unwrap();
    let series = |scale: f64| {
        vec![Series {
            label: "x".into(),
            points: vec![(0.5, 100.0 * scale), (0.99, 1000.0 * scale), (1.0, 9000.0)],
        }]
    };
    plot_percentiles(&dir.path().join("a.png"), "a", &series(1.0)).unwrap();
    plot_percentiles(&dir.path().join("b.png"), "a", &series(5.0)).unwrap();
    let a = std::fs::read(dir.path().join("a.png")).unwrap();
    let b = std::fs::read(dir.path().join("b.png")).unwrap();
    assert!(a.starts_with(b"\x89PNG") && a != b);
}

#[test]
fn tiny_flags_follow_what_each_harness_accepts() {
    let ring_help = "Options:\n      --iterations <ITERATIONS>  Measured round trips\n      \
                     --warmup <WARMUP>\n      --rate <RATE>\n      --duration-secs <S>\n";
    assert_eq!(
        tiny_flags_for("ring", ring_help),
        ["--iterations", "2000", "--warmup", "200"]
    );
    assert_eq!(
        tiny_flags_for("ring", "  --tiny  Small sizes\n  --iterations <N>\n"),
        ["--tiny"]
    );
    assert!(tiny_flags_for("ring", "").is_empty());
    let rates = "      --rates <RATES>  Planned rates\n";
    assert_eq!(tiny_flags_for("e2e", rates), ["--rates", "1000,2000"]);
    assert_eq!(
        tiny_flags_for("engine", rates),
        ["--rates", "100000,1000000"]
    );
}

/// A stand-in `pinwheel`: `bench ring` works (and says which flags it got), every other
/// harness is unknown, as a harness that is not built yet would be.
const STAND_IN: &str = r#"#!/bin/sh
if [ "$3" = "--help" ]; then
  [ "$2" = ring ] && printf '  --iterations <ITERATIONS>\n  --rate <RATE>\n'
  exit 0
fi
if [ "$2" = ring ]; then
  echo "ring table"
  echo "{\"bench\":\"ring\",\"args\":\"$*\",\"rtt_ns\":{\"p50\":300,\"p99\":900},\"pingpong_ns\":{\"p50\":200,\"p99\":450}}"
  exit 0
fi
echo "error: unrecognized subcommand '$2'" >&2
exit 2
"#;

#[test]
fn run_all_runs_harnesses_and_records_the_ones_that_fail() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("pinwheel");
    std::fs::write(&exe, STAND_IN).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = dir.path().join("report");
    let args = AllArgs {
        report: report.clone(),
        tiny: true,
        only: vec!["ring".into(), "feed".into()],
        no_pinning: false,
        timeout_secs: 20,
        exe: Some(exe),
    };
    let summary = run_all(&args).unwrap();
    assert_eq!(
        summary["results"]["ring"]["args"],
        "bench ring --iterations 2000"
    );
    assert_eq!(summary["failed"], json!(["feed"]));
    let feed_error = summary["results"]["feed"]["error"].as_str().unwrap();
    assert!(
        feed_error.contains("unrecognized subcommand 'feed'"),
        "{feed_error}"
    );
    let pinning = summary["pinning"].as_array().unwrap();
    assert_eq!(pinning.len(), 4);
    assert!(pinning.iter().all(|p| p["result"]["error"].is_string()));
    let page = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        page.contains("| ring | `pinwheel bench ring --iterations 2000` |"),
        "{page}"
    );
    assert!(
        page.contains("| ring | rtt_ns.p99 | 900 | pingpong_ns.p99"),
        "{page}"
    );
    assert!(page.contains("| 2.00x |"), "{page}");
    assert!(page.contains("| feed | `pinwheel bench feed` |"), "{page}");
    assert!(page.contains("| pinned, quiet | **failed**: "), "{page}");
    assert!(
        std::fs::metadata(report.join("ring-latency.png"))
            .unwrap()
            .len()
            > 1000
    );
}
