//! pinwheel-tuning: inspects a host for low-latency operation (`pinwheel tune check`),
//! proposes which core runs what (`pinwheel tune plan`) and measures how often a pinned
//! core is taken away from its thread (`pinwheel tune jitter`).

#![warn(missing_docs)]

pub mod check;
pub mod cpu_list;
pub mod fsync_latency;
pub mod host;
pub mod jitter;
pub mod plan;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;

pub use check::{check, CheckOptions, CheckReport, Item, Status};
pub use host::Host;
pub use plan::{propose, Plan, Topology};

/// `pinwheel tune ...`.
#[derive(Clone, Debug, Subcommand)]
pub enum TuneCommand {
    /// Inspect this host, item by item: pass or warn, why it matters, how to fix it.
    Check {
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
        /// Read /proc and /sys under this directory (for fixtures; default the live host).
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// The journal's data directory, whose file system and fdatasync are checked.
        #[arg(long, default_value = "data")]
        data_dir: PathBuf,
        /// The rings' run directory, which should be on tmpfs.
        #[arg(long, default_value = "/dev/shm")]
        run_dir: PathBuf,
    },
    /// Propose cores for the engine, flusher, edges and feed; print the config section.
    Plan {
        /// Read /proc and /sys under this directory.
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// How many edge processes to place.
        #[arg(long, default_value_t = 1)]
        edges: usize,
    },
    /// Measure scheduling hiccups on one core: gaps in a tight pinned loop.
    Jitter {
        /// The core to pin the measuring thread to.
        #[arg(long)]
        core: usize,
        /// How long to measure, seconds.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
}

/// Runs a `tune` command, printing its result.
pub fn run(cmd: &TuneCommand) -> anyhow::Result<()> {
    match cmd {
        TuneCommand::Check {
            json,
            root,
            data_dir,
            run_dir,
        } => {
            let options = CheckOptions {
                root: root.clone(),
                data_dir: absolute(data_dir)?,
                run_dir: absolute(run_dir)?,
            };
            let report = check(&options);
            if *json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print_check(&report);
            }
            Ok(())
        }
        TuneCommand::Plan { root, edges } => {
            if *edges == 0 {
                bail!("--edges must be at least 1");
            }
            let plan = propose(&Topology::of(&Host::new(root)), *edges);
            print!("{}", plan_text(&plan));
            Ok(())
        }
        TuneCommand::Jitter { core, seconds } => {
            if !(seconds.is_finite() && *seconds > 0.0 && *seconds <= 86_400.0) {
                bail!("--seconds must be between 0 and 86400, got {seconds}");
            }
            let report = jitter::measure(*core, Duration::from_secs_f64(*seconds))?;
            report.print_table();
            println!("{}", report.to_json());
            Ok(())
        }
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(cwd.join(path))
}

fn print_check(report: &CheckReport) {
    println!("engine core (from the plan): {}", report.engine_core);
    for item in &report.items {
        let status = match item.status {
            Status::Pass => "pass",
            Status::Warn => "WARN",
            Status::Unknown => "  ? ",
        };
        println!("[{status}] {:<22} {}", item.id, item.found);
        if item.status != Status::Pass {
            println!("       why: {}", item.why);
            if !item.fix.is_empty() {
                println!("       fix: {}", item.fix);
            }
        }
    }
    println!(
        "{} pass, {} warn, {} not visible",
        report.count(Status::Pass),
        report.count(Status::Warn),
        report.count(Status::Unknown)
    );
}

/// The plan as printed: reasons as TOML comments, then the `[pinning]` section.
pub fn plan_text(plan: &Plan) -> String {
    let mut text = String::new();
    for note in &plan.notes {
        text.push_str(&format!("# {note}\n"));
    }
    if let Some(cmdline) = &plan.suggested_cmdline {
        text.push_str(&format!("# suggested kernel parameters: {cmdline}\n"));
    }
    text.push_str(&plan.to_toml());
    text
}
