//! `pinwheel bench all --report DIR`: runs every harness as a child process, then writes
//! DIR/report.md with each figure beside its same-run baseline, the machine's description,
//! the pinning table, and PNG plots of the latency distributions.

mod figures;
mod markdown;
mod plot;
mod runner;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use pinwheel_tuning::{cpu_list, propose, Host, Topology};
use serde_json::{json, Value};

pub use figures::{comparisons, percentile_series, Comparison, Series, BASELINES};
pub use plot::plot_percentiles;
pub use runner::{run_harness, BackgroundLoad, HarnessRun};

/// Every harness, in the order they run.
pub const HARNESSES: &[&str] = &["ring", "engine", "journal", "e2e", "feed"];

/// `pinwheel bench all`.
#[derive(Clone, Debug, clap::Args)]
pub struct AllArgs {
    /// Directory for report.md and the plots (created if missing).
    #[arg(long)]
    pub report: PathBuf,
    /// Small sizes, for a quick run (CI): passes each harness `--tiny`, or the size flags
    /// its --help lists (see TINY_FLAGS).
    #[arg(long)]
    pub tiny: bool,
    /// Harnesses to run, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ring,engine,journal,e2e,feed"
    )]
    pub only: Vec<String>,
    /// Skip the pinned/unpinned engine runs.
    #[arg(long)]
    pub no_pinning: bool,
    /// Time bound for each harness, seconds (it is killed and recorded as timed out).
    #[arg(long, default_value_t = 900)]
    pub timeout_secs: u64,
    /// The pinwheel binary to run the harnesses with (default: this executable).
    #[arg(long, hide = true)]
    pub exe: Option<PathBuf>,
}

/// The machine the run was on.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Machine {
    /// From /proc/cpuinfo.
    pub cpu_model: String,
    /// Online CPUs.
    pub cores: usize,
    /// The cores this process may run on.
    pub allowed_cores: String,
    /// Kernel release.
    pub kernel: String,
    /// Frequency governor of core 0 (or "not visible").
    pub governor: String,
    /// Cores isolated on the kernel command line.
    pub isolated: String,
    /// The pinning the harnesses were run with.
    pub pinning: String,
    /// The command that produced the report.
    pub command: String,
}

/// One variant of the pinning table.
#[derive(Clone, Debug)]
pub struct PinningRun {
    /// E.g. "pinned, background load".
    pub label: String,
    /// The core the background load ran on, if any.
    pub load_core: Option<usize>,
    /// The engine benchmark's run.
    pub run: HarnessRun,
}

/// Describes this machine.
pub fn describe_machine(command: String) -> Machine {
    let host = Host::new("/");
    let topology = Topology::of(&host);
    let plan = propose(&topology, 1);
    let allowed: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .iter()
        .map(|c| c.id)
        .collect();
    let not_visible = || "not visible".to_string();
    Machine {
        cpu_model: host.cpu_model().unwrap_or_else(not_visible),
        cores: topology.online.len(),
        allowed_cores: cpu_list::format(&allowed),
        kernel: host.kernel_release().unwrap_or_else(not_visible),
        governor: host.governor(0).unwrap_or_else(not_visible),
        isolated: if topology.isolated.is_empty() {
            "none".into()
        } else {
            cpu_list::format(&topology.isolated)
        },
        pinning: format!(
            "each harness pins as its flags and config say; `pinwheel tune plan` proposes \
             engine {}, flusher {}, edge {:?}, feed {}",
            plan.engine_core, plan.flusher_core, plan.edge_cores, plan.feed_core
        ),
        command,
    }
}

/// Small sizes for `--tiny`, by flag: a harness gets each one its `--help` lists (or just
/// `--tiny`, if it has that). Harnesses are written by different hands; asking each what it
/// accepts keeps this runner from guessing.
pub const TINY_FLAGS: &[(&str, &str)] = &[
    ("--iterations", "2000"),
    ("--warmup", "200"),
    ("--throughput-records", "50000"),
    ("--commands", "20000"),
    ("--ops", "20000"),
    ("--orders", "2000"),
    ("--requests", "2000"),
    ("--trades", "20000"),
    ("--rows", "20000"),
    ("--recovery-commands", "100000"),
    ("--seconds", "1"),
    ("--duration", "1"),
    ("--saturation-seconds", "1"),
    ("--ws-trades", "50"),
    ("--connections", "2"),
    ("--lag-rate", "2000"),
    ("--lag-seconds", "1"),
    ("--rates", "1000,2000"),
];

/// Per-harness values that win over [`TINY_FLAGS`]: (harness, flag, value).
pub const TINY_OVERRIDES: &[(&str, &str, &str)] = &[("engine", "--rates", "100000,1000000")];

/// The flags of `--tiny` that harness `name`'s help text shows it accepts.
pub fn tiny_flags_for(name: &str, help: &str) -> Vec<String> {
    let accepts = |flag: &str| {
        [" ", "=", "\n", ","]
            .iter()
            .any(|after| help.contains(&format!("{flag}{after}")))
    };
    if accepts("--tiny") {
        return vec!["--tiny".into()];
    }
    let value_of = |flag: &str, value: &'static str| {
        TINY_OVERRIDES
            .iter()
            .find(|(harness, f, _)| *harness == name && *f == flag)
            .map_or(value, |(_, _, v)| *v)
    };
    TINY_FLAGS
        .iter()
        .filter(|(flag, _)| accepts(flag))
        .flat_map(|(flag, value)| [flag.to_string(), value_of(flag, value).to_string()])
        .collect()
}

fn harness_help(exe: &Path, name: &str) -> String {
    let args = vec!["bench".to_string(), name.to_string(), "--help".to_string()];
    let output = std::process::Command::new(exe)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .output();
    output
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn harness_args(exe: &Path, name: &str, tiny: bool, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["bench".to_string(), name.to_string()];
    if tiny {
        args.extend(tiny_flags_for(name, &harness_help(exe, name)));
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Runs the harnesses and the pinning variants, writes the report, returns its JSON.
pub fn run_all(args: &AllArgs) -> anyhow::Result<Value> {
    for name in &args.only {
        anyhow::ensure!(
            HARNESSES.contains(&name.as_str()),
            "--only: unknown harness {name:?} (known: {})",
            HARNESSES.join(", ")
        );
    }
    let exe = match &args.exe {
        Some(exe) => exe.clone(),
        None => std::env::current_exe().context("cannot find the pinwheel binary")?,
    };
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let variants = if args.no_pinning { 0 } else { 4 };
    let progress = ProgressBar::new((args.only.len() + variants) as u64);
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("valid template"),
    );
    progress.enable_steady_tick(Duration::from_millis(200));
    let mut harnesses = Vec::new();
    for name in &args.only {
        progress.set_message(format!("bench {name}"));
        harnesses.push(run_harness(
            &exe,
            name,
            &harness_args(&exe, name, args.tiny, &[]),
            timeout,
        ));
        progress.inc(1);
    }
    let pinning = if args.no_pinning {
        Vec::new()
    } else {
        run_pinning(&exe, args.tiny, timeout, &progress)
    };
    progress.finish_with_message("done");
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    write_report(
        &args.report,
        &describe_machine(command),
        &harnesses,
        &pinning,
    )
}

/// The engine benchmark pinned and unpinned, each quiet and with a background load on a
/// core other than the one the plan gives the engine.
fn run_pinning(
    exe: &Path,
    tiny: bool,
    timeout: Duration,
    progress: &ProgressBar,
) -> Vec<PinningRun> {
    let engine_core = propose(&Topology::of(&Host::new("/")), 1).engine_core;
    let allowed = core_affinity::get_core_ids().unwrap_or_default();
    let load_core = allowed
        .iter()
        .copied()
        .find(|c| c.id != engine_core)
        .or_else(|| allowed.first().copied());
    let mut runs = Vec::new();
    for (label, flag, loaded) in [
        ("pinned, quiet", "--pin", false),
        ("unpinned, quiet", "--no-pin", false),
        ("pinned, background load", "--pin", true),
        ("unpinned, background load", "--no-pin", true),
    ] {
        progress.set_message(format!(
            "bench engine {flag}{}",
            if loaded { " + load" } else { "" }
        ));
        let load = loaded
            .then(|| load_core.map(BackgroundLoad::start))
            .flatten();
        let run = run_harness(
            exe,
            "engine",
            &harness_args(exe, "engine", tiny, &[flag]),
            timeout,
        );
        runs.push(PinningRun {
            label: label.to_string(),
            load_core: load.as_ref().map(|l| l.core),
            run,
        });
        drop(load);
        progress.inc(1);
    }
    runs
}

/// Writes DIR/report.md and DIR/<harness>-latency.png; returns the run's JSON summary.
pub fn write_report(
    dir: &Path,
    machine: &Machine,
    harnesses: &[HarnessRun],
    pinning: &[PinningRun],
) -> anyhow::Result<Value> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut rows = Vec::new();
    let mut plots = Vec::new();
    for run in harnesses {
        let Ok(json) = &run.outcome else { continue };
        rows.extend(comparisons(&run.name, json));
        let series = percentile_series(json);
        if !series.is_empty() {
            let file = format!("{}-latency.png", run.name);
            let title = format!("pinwheel bench {}: latency percentiles", run.name);
            plot_percentiles(&dir.join(&file), &title, &series)
                .with_context(|| format!("cannot draw {file}"))?;
            plots.push((run.name.clone(), file));
        }
    }
    let page = markdown::page(machine, harnesses, pinning, &rows, &plots);
    let page_path = dir.join("report.md");
    std::fs::write(&page_path, page)
        .with_context(|| format!("cannot write {}", page_path.display()))?;
    println!("report written to {}", page_path.display());
    Ok(summary(
        &page_path, machine, harnesses, pinning, &rows, &plots,
    ))
}

fn outcome_json(run: &HarnessRun) -> Value {
    match &run.outcome {
        Ok(json) => json.clone(),
        Err(reason) => json!({ "error": reason }),
    }
}

fn summary(
    page: &Path,
    machine: &Machine,
    harnesses: &[HarnessRun],
    pinning: &[PinningRun],
    rows: &[Comparison],
    plots: &[(String, String)],
) -> Value {
    let results: serde_json::Map<String, Value> = harnesses
        .iter()
        .map(|run| (run.name.clone(), outcome_json(run)))
        .collect();
    json!({
        "bench": "all",
        "report": page.display().to_string(),
        "plots": plots.iter().map(|(_, file)| file).collect::<Vec<_>>(),
        "machine": machine,
        "results": results,
        "failed": harnesses.iter().filter(|r| r.outcome.is_err()).map(|r| &r.name).collect::<Vec<_>>(),
        "pinning": pinning.iter().map(|p| json!({
            "variant": p.label, "load_core": p.load_core, "result": outcome_json(&p.run)
        })).collect::<Vec<_>>(),
        "comparisons": rows.iter().map(|r| json!({
            "bench": r.bench, "figure": r.figure, "value": r.value,
            "baseline": r.baseline, "baseline_value": r.baseline_value, "ratio": r.ratio
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests;
