//! Runs `pinwheel bench ring` end to end with tiny counts. The echo process is
//! this test binary re-run (`echo_child_entry`), since the `pinwheel` CLI is not
//! what `current_exe` is here.

use clap::Parser;
use pinwheel_benches::ring::{run_echo, run_with, Args, EchoArgs, EchoLauncher};
use pinwheel_ring::WaitStrategy;

const CHILD_VAR: &str = "PINWHEEL_BENCH_ECHO_CHILD";

#[derive(Parser)]
struct EchoCli {
    #[command(flatten)]
    echo: EchoArgs,
}

/// The echo process's side: a no-op in the normal test run.
#[test]
fn echo_child_entry() {
    if std::env::var(CHILD_VAR).is_err() {
        return;
    }
    let flags: Vec<String> = std::env::args().skip_while(|a| a != "--").skip(1).collect();
    let cli = EchoCli::parse_from(std::iter::once("ring-echo".to_string()).chain(flags));
    run_echo(&cli.echo).unwrap();
}

#[test]
fn the_ring_bench_measures_all_three_paths_and_reports_json() {
    let args = Args {
        iterations: 300,
        warmup: 30,
        rate: 20_000,
        wait: WaitStrategy::Backoff,
        throughput_records: 20_000,
        batch: 16,
        ..Args::default()
    };
    let launcher = EchoLauncher {
        program: std::env::current_exe().unwrap(),
        leading: [
            "--exact",
            "echo_child_entry",
            "--nocapture",
            "--test-threads=1",
            "--",
        ]
        .map(String::from)
        .to_vec(),
        env: vec![(CHILD_VAR.to_string(), "1".to_string())],
    };
    let json = run_with(&args, &launcher).unwrap();
    assert_eq!(json["bench"], "ring");
    for key in ["rtt_ns", "pingpong_ns", "crossbeam_ns"] {
        let figures = &json[key];
        let p = |name: &str| {
            figures[name]
                .as_u64()
                .unwrap_or_else(|| panic!("{key}.{name} missing"))
        };
        assert!(p("p50") > 0, "{key}: {figures}");
        assert!(
            p("p50") <= p("p99") && p("p99") <= p("p999") && p("p999") <= p("p9999"),
            "{key}: {figures}"
        );
        assert!(p("p9999") <= p("max"), "{key}: {figures}");
    }
    assert!(json["throughput_per_sec"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_core_choices_are_refused() {
    let args = Args {
        cores: vec![0, 0],
        ..Args::default()
    };
    let error = pinwheel_benches::ring::run(&args).unwrap_err().to_string();
    assert!(error.contains("two different core ids"), "{error}");
    let args = Args {
        cores: vec![0, 4096],
        ..Args::default()
    };
    let error = pinwheel_benches::ring::run(&args).unwrap_err().to_string();
    assert!(error.contains("core 4096 is not available"), "{error}");
}
