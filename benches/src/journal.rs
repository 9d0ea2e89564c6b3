//! `pinwheel bench journal`: what durability costs the engine, on the device that holds the
//! journal.
//!
//! In one run, on exchange-core's workload driven through a real [`pinwheel_engine::Engine`]
//! and a real [`pinwheel_journal::JournalWriter`] exactly as the hot loop drives them (stamp,
//! journal, apply, publish once per batch): engine throughput with durability none, async and
//! sync; the device's own `fdatasync` latency; the open-loop latency from a command's planned
//! time until it is durable in sync mode; replay speed; and the engine's start-up recovery
//! time for a long journal. Everything is written in a temporary folder that is removed.

pub mod driven;
pub mod phases;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use pinwheel_journal::measure::{measure_fdatasync, measure_group_commit};
use pinwheel_journal::{Durability, FlusherStats};
use serde_json::{json, Value};

use self::phases::{recovery_time, replay_speed, sync_ack, throughput, Throughput};
use crate::engine::workload::Workload;
use crate::engine::Pinning;

/// Goal: async throughput at least this fraction of none.
pub const ASYNC_GOAL_RATIO: f64 = 0.8;
/// Goal: sync acknowledgement p99 within this multiple of the device's fdatasync p99.
pub const SYNC_ACK_GOAL_RATIO: f64 = 2.0;
/// Goal: replay speed in commands per second.
pub const REPLAY_GOAL_PER_SEC: f64 = 5_000_000.0;
/// Goal: recovery of [`RECOVERY_GOAL_COMMANDS`] commands in under this many seconds.
pub const RECOVERY_GOAL_SECS: f64 = 3.0;
/// The journal length the recovery goal is stated for.
pub const RECOVERY_GOAL_COMMANDS: usize = 10_000_000;

/// Arguments of `pinwheel bench journal`.
#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// Small counts, for tests.
    #[arg(long)]
    pub tiny: bool,
    /// Measured commands per durability mode (after the workload's set-up).
    #[arg(long, default_value_t = 1_000_000)]
    pub commands: usize,
    /// Folder on the device to measure; a temporary folder is made in it and removed at the
    /// end (default: the current directory; /dev/shm would measure memory, not a disk).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Commands in the journal whose recovery is timed (default 10M; with --tiny 200k).
    #[arg(long)]
    pub recovery_commands: Option<usize>,
    /// Commands per second in the open-loop sync acknowledgement run.
    #[arg(long, default_value_t = 20_000)]
    pub ack_rate: u64,
    /// Commands in the open-loop sync acknowledgement run (with --tiny 1000).
    #[arg(long, default_value_t = 40_000)]
    pub ack_commands: usize,
    /// fdatasync calls timed on the device (with --tiny 50).
    #[arg(long, default_value_t = 1_000)]
    pub fdatasync_samples: usize,
    /// Seed of the command stream.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    #[command(flatten)]
    pub pinning: Pinning,
}

/// The counts one run uses, after --tiny.
#[derive(Clone, Debug)]
struct Plan {
    commands: usize,
    recovery_commands: usize,
    ack_commands: usize,
    ack_rate: u64,
    fdatasync_samples: usize,
    segment_size: u64,
}

impl Plan {
    fn from_args(args: &Args) -> anyhow::Result<Self> {
        let plan = if args.tiny {
            Plan {
                commands: 20_000,
                recovery_commands: args.recovery_commands.unwrap_or(200_000),
                ack_commands: 1_000,
                ack_rate: args.ack_rate,
                fdatasync_samples: 50,
                // Small segments, so that even a tiny run rolls over to prepared segments.
                segment_size: 1 << 20,
            }
        } else {
            Plan {
                commands: args.commands,
                recovery_commands: args.recovery_commands.unwrap_or(RECOVERY_GOAL_COMMANDS),
                ack_commands: args.ack_commands,
                ack_rate: args.ack_rate,
                fdatasync_samples: args.fdatasync_samples,
                segment_size: 64 << 20,
            }
        };
        anyhow::ensure!(plan.commands >= 1_000, "--commands must be at least 1000");
        anyhow::ensure!(
            plan.ack_commands >= 1 && plan.ack_commands <= plan.commands,
            "--ack-commands must be between 1 and --commands ({})",
            plan.commands
        );
        anyhow::ensure!(plan.ack_rate > 0, "--ack-rate must be positive");
        anyhow::ensure!(
            plan.fdatasync_samples >= 1,
            "--fdatasync-samples must be positive"
        );
        Ok(plan)
    }
}

/// Everything one run measured.
struct Figures {
    throughput: Vec<Throughput>,
    fdatasync: Histogram<u64>,
    /// Open-loop arrivals at the ack rate through a bare pwrite + fdatasync loop.
    group_commit_floor: Histogram<u64>,
    sync_ack: Histogram<u64>,
    /// The flusher's fdatasyncs during the sync-ack run.
    ack_run_syncs: FlusherStats,
    replayed: u64,
    replay_time: Duration,
    recovery_commands: usize,
    recovery_time: Duration,
}

impl Figures {
    fn ops_per_sec(&self, durability: Durability) -> f64 {
        self.throughput
            .iter()
            .find(|t| t.durability == durability)
            .map_or(0.0, |t| t.ops_per_sec)
    }

    fn replay_per_sec(&self) -> f64 {
        self.replayed as f64 / self.replay_time.as_secs_f64()
    }

    fn json(&self) -> Value {
        let ops = |mode| self.ops_per_sec(mode).round() as u64;
        let p = |h: &Histogram<u64>| json!({"p50": h.value_at_quantile(0.5), "p99": h.value_at_quantile(0.99)});
        json!({
            "bench": "journal",
            "ops_per_sec": {
                "none": ops(Durability::None),
                "async": ops(Durability::Async),
                "sync": ops(Durability::Sync),
            },
            "fdatasync_ns": p(&self.fdatasync),
            "group_commit_floor_ns": p(&self.group_commit_floor),
            "sync_ack_ns": p(&self.sync_ack),
            "sync_ack_run": {
                "fdatasyncs": self.ack_run_syncs.syncs,
                "slowest_fdatasync_ns": self.ack_run_syncs.slowest_sync.as_nanos() as u64,
            },
            "replay_per_sec": self.replay_per_sec().round() as u64,
            "recovery_10m_s": self.recovery_time.as_secs_f64(),
            "recovery_commands": self.recovery_commands,
        })
    }
}

/// Runs the benchmark, prints its table and returns the JSON object.
pub fn run(args: &Args) -> anyhow::Result<Value> {
    let plan = Plan::from_args(args)?;
    let parent = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix(".pinwheel-bench-journal-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot make a temporary folder in {}", parent.display()))?;
    let measured = measure_all(&plan, args, scratch.path());
    let path = scratch.path().to_path_buf();
    let removed = scratch.close();
    let figures = measured?;
    removed.with_context(|| format!("cannot remove {}", path.display()))?;
    print_table(&figures, &plan, &parent, &args.pinning);
    Ok(figures.json())
}

fn generate(plan: &Plan, seed: u64) -> anyhow::Result<Workload> {
    let count = plan.commands.max(plan.recovery_commands);
    tracing::info!(count, "generating the workload");
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!(
        "generating {count} commands of exchange-core's workload"
    ));
    spinner.enable_steady_tick(Duration::from_millis(200));
    let mut workload = Workload::generate(seed, count);
    spinner.finish_and_clear();
    // The book-neutral twins are for orderbook-rs; at 10M commands they are 400 MB.
    workload.ops = Vec::new();
    anyhow::ensure!(
        plan.recovery_commands > workload.setup.len(),
        "--recovery-commands must be above the {} set-up commands",
        workload.setup.len()
    );
    Ok(workload)
}

fn measure_all(plan: &Plan, args: &Args, root: &Path) -> anyhow::Result<Figures> {
    let workload = generate(plan, args.seed)?;
    settle(root)?;
    let commands = &workload.commands[..plan.commands];
    let mut runs = Vec::new();
    for (durability, _) in Durability::ALL {
        tracing::info!(%durability, commands = plan.commands, "engine throughput");
        let dir = root.join(format!("throughput-{durability}"));
        runs.push(throughput(
            &dir,
            durability,
            &workload,
            commands,
            plan.segment_size,
            &args.pinning,
        )?);
    }
    for (durability, _) in Durability::ALL {
        remove(&root.join(format!("throughput-{durability}")))?;
    }
    tracing::info!(samples = plan.fdatasync_samples, "timing fdatasync");
    let fdatasync = measure_fdatasync(&root.join("fdatasync"), plan.fdatasync_samples)?;
    tracing::info!(
        rate = plan.ack_rate,
        arrivals = plan.ack_commands,
        "group-commit floor: bare pwrite + fdatasync, open loop"
    );
    let floor_dir = root.join("group-commit");
    let group_commit_floor = measure_group_commit(&floor_dir, plan.ack_rate, plan.ack_commands)?;
    remove(&floor_dir)?;
    tracing::info!(
        rate = plan.ack_rate,
        commands = plan.ack_commands,
        "sync acknowledgements, open loop"
    );
    let ack_dir = root.join("sync-ack");
    let (sync_ack, ack_run_syncs) = sync_ack(
        &ack_dir,
        &workload,
        &commands[..plan.ack_commands],
        plan.ack_rate,
        plan.segment_size,
        &args.pinning,
    )?;
    remove(&ack_dir)?;
    let recovery_dir = root.join("recovery");
    let (recovery_time, recovered_hash) = recovery_time(
        &recovery_dir,
        &workload,
        plan.recovery_commands,
        plan.segment_size,
    )?;
    // Replay speed is timed on the same long journal, so one-off costs (thread start, the
    // first touches of a fresh engine's memory) weigh as little as in a real recovery.
    tracing::info!(
        commands = plan.recovery_commands,
        "replaying the recovery journal"
    );
    let (replayed, replay_time) = replay_speed(&recovery_dir.join("data"), recovered_hash)?;
    remove(&recovery_dir)?;
    Ok(Figures {
        throughput: runs,
        fdatasync,
        group_commit_floor,
        sync_ack,
        ack_run_syncs,
        replayed,
        replay_time,
        recovery_commands: plan.recovery_commands,
        recovery_time,
    })
}

/// Removes an earlier phase's files and waits until the file system has finished with them.
fn remove(dir: &Path) -> anyhow::Result<()> {
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    let parent = dir
        .parent()
        .expect("phase folders live in the scratch folder");
    settle(parent)
}

/// `syncfs` on the file system of `dir`: writes back what earlier phases (or other programs)
/// left dirty and commits the file system's journal. Without it a phase can time the previous
/// phase's clean-up: on ext4 mounted with `discard`, the commit after deleting a few hundred
/// MiB of segments trims them while holding up every fdatasync, for ~90 ms on the development
/// VM (`strace -T -e fdatasync` showed one such call in an otherwise ~100 us run).
fn settle(dir: &Path) -> anyhow::Result<()> {
    let folder =
        std::fs::File::open(dir).with_context(|| format!("cannot open {}", dir.display()))?;
    // SAFETY: a plain syscall on a descriptor that `folder` keeps open for the call.
    let rc = unsafe { libc::syncfs(std::os::fd::AsRawFd::as_raw_fd(&folder)) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("syncfs on {}", dir.display()));
    }
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn print_table(figures: &Figures, plan: &Plan, parent: &Path, pinning: &Pinning) {
    let none = figures.ops_per_sec(Durability::None);
    println!(
        "bench journal: {} commands of exchange-core's workload per mode, batch {}, journal on the device of {}, measuring thread pinned: {}",
        plan.commands,
        driven::BATCH,
        parent.display(),
        !pinning.no_pin
    );
    println!(
        "{:<34} {:>14} {:>26} {:>8}  goal",
        "figure", "measured", "baseline", "ratio"
    );
    for run in &figures.throughput {
        let ratio = run.ops_per_sec / none;
        let goal = match run.durability {
            Durability::Async => format!(
                ">= {ASYNC_GOAL_RATIO}x: {}",
                verdict(ratio >= ASYNC_GOAL_RATIO)
            ),
            _ => String::new(),
        };
        println!(
            "{:<34} {:>14.0} {:>26} {:>7.2}x  {goal}",
            format!("engine ops/s, durability {}", run.durability),
            run.ops_per_sec,
            format!("none {none:.0}"),
            ratio,
        );
    }
    for run in &figures.throughput {
        if run.durability != Durability::None {
            println!(
                "  {} run: last command durable {:.1} ms after the first was sent; the engine waited {:.1} ms for prepared segments",
                run.durability,
                run.until_durable.as_secs_f64() * 1e3,
                run.segment_wait.as_secs_f64() * 1e3
            );
        }
    }
    print_sync_ack(figures);
    print_replay(figures);
    print_latencies(figures, plan);
}

/// The sync acknowledgement's tail beside the device's own fdatasync and the group-commit floor.
fn print_sync_ack(figures: &Figures) {
    let fsync_p99 = figures.fdatasync.value_at_quantile(0.99);
    let ack_p99 = figures.sync_ack.value_at_quantile(0.99);
    let ack_ratio = ack_p99 as f64 / fsync_p99.max(1) as f64;
    println!(
        "{:<34} {:>14} {:>26} {:>7.2}x  <= {SYNC_ACK_GOAL_RATIO}x: {}",
        "sync ack p99 ns",
        ack_p99,
        format!("fdatasync p99 {fsync_p99}"),
        ack_ratio,
        verdict(ack_ratio <= SYNC_ACK_GOAL_RATIO)
    );
    let floor_p99 = figures.group_commit_floor.value_at_quantile(0.99);
    println!(
        "{:<34} {:>14} {:>26} {:>7.2}x",
        "sync ack p99 ns",
        ack_p99,
        format!("group-commit floor p99 {floor_p99}"),
        ack_p99 as f64 / floor_p99.max(1) as f64,
    );
    println!(
        "  sync-ack run: the flusher made {} fdatasyncs, the slowest took {:.2} ms (one slow sync holds up every ack behind it)",
        figures.ack_run_syncs.syncs,
        figures.ack_run_syncs.slowest_sync.as_secs_f64() * 1e3
    );
}

/// Replay speed and recovery time, each with its goal.
fn print_replay(figures: &Figures) {
    let replay = figures.replay_per_sec();
    println!(
        "{:<34} {:>14.0} {:>26} {:>8}  >= {REPLAY_GOAL_PER_SEC:.0}/s: {}",
        "replay commands/s",
        replay,
        format!("{} commands", figures.replayed),
        "",
        verdict(replay >= REPLAY_GOAL_PER_SEC)
    );
    let seconds = figures.recovery_time.as_secs_f64();
    let projected = seconds * RECOVERY_GOAL_COMMANDS as f64 / figures.recovery_commands as f64;
    println!(
        "{:<34} {:>14.3} {:>26} {:>8}  < {RECOVERY_GOAL_SECS} s for 10M: {}",
        format!("recovery s, {} commands", figures.recovery_commands),
        seconds,
        format!("{projected:.3} s per 10M"),
        "",
        verdict(projected < RECOVERY_GOAL_SECS)
    );
}

fn print_latencies(figures: &Figures, plan: &Plan) {
    println!(
        "latency ns: fdatasync of one dirty frame ({} samples); group-commit floor: {} arrivals at {}/s through a bare pwrite + fdatasync loop, from planned time to synced; sync ack: the same open loop through the engine and its journal, to durable, client polling every ~10 us",
        plan.fdatasync_samples, plan.ack_commands, plan.ack_rate
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "", "p50", "p99", "p99.9", "p99.99", "max"
    );
    for (name, h) in [
        ("fdatasync", &figures.fdatasync),
        ("floor", &figures.group_commit_floor),
        ("sync ack", &figures.sync_ack),
    ] {
        let q = |q: f64| h.value_at_quantile(q);
        println!(
            "{:<12} {:>10} {:>10} {:>10} {:>10} {:>12}",
            name,
            q(0.5),
            q(0.99),
            q(0.999),
            q(0.9999),
            h.max()
        );
    }
}
