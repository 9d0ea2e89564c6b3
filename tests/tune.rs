//! `pinwheel tune` from the command line: check --json on the fixtures, plan, jitter.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_pinwheel");

fn pinwheel(args: &[&str]) -> (bool, String) {
    let output = Command::new(BIN)
        .args(args)
        .output()
        .expect("pinwheel runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tuning/tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn tune_check_json_reads_the_fixtures() {
    let data = std::env::temp_dir();
    for (host, isolcpus, engine_core) in [("isolated", "pass", 2), ("stock", "warn", 3)] {
        let root = fixture(host);
        let (ok, out) = pinwheel(&[
            "tune",
            "check",
            "--json",
            "--root",
            &root,
            "--data-dir",
            data.to_str().unwrap(),
        ]);
        assert!(ok, "{out}");
        let report: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
        assert_eq!(report["engine_core"], engine_core, "{host}");
        let item = report["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == "isolcpus")
            .unwrap();
        assert_eq!(item["status"], isolcpus, "{host}");
    }
}

#[test]
fn tune_plan_prints_the_pinning_section() {
    let (ok, out) = pinwheel(&[
        "tune",
        "plan",
        "--root",
        &fixture("isolated"),
        "--edges",
        "2",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "[pinning]\nengine_core = 2\nflusher_core = 3\nedge_cores = [0, 1]\nfeed_core = 1\n"
        ),
        "{out}"
    );
}

#[test]
fn tune_jitter_prints_a_json_last_line() {
    let core = core_ids_first();
    let (ok, out) = pinwheel(&[
        "tune",
        "jitter",
        "--core",
        &core.to_string(),
        "--seconds",
        "0.2",
    ]);
    assert!(ok, "{out}");
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(last["bench"], "jitter");
    assert!(last["samples"].as_u64().unwrap() > 1000);
    let (ok, _) = pinwheel(&["tune", "jitter", "--core", "100000", "--seconds", "0.1"]);
    assert!(!ok, "a core the process may not use is refused");
}

/// The first core this process may run on (from its affinity mask in /proc).
fn core_ids_first() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string();
    list.split([',', '-']).next().unwrap().parse().unwrap()
}
