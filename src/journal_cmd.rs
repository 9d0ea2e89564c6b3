//! `pinwheel journal verify|inspect|replay`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use pinwheel_engine::describe::describe_command;
use pinwheel_engine::follower::{follow, take_snapshot, FollowConfig};
use pinwheel_engine::message::Command;
use pinwheel_engine::recovery::{journal_dir, recover, replay_into, DiscardEvents};
use pinwheel_journal::JournalReader;

use crate::config::{CommonArgs, Config};

/// Journal subcommands. DIR is a data directory (it holds `journal/` and `snapshots/`).
#[derive(Subcommand, Debug)]
pub enum JournalCommand {
    /// Check every frame and snapshot; exit non-zero on damage.
    Verify {
        /// Data directory.
        dir: PathBuf,
    },
    /// Print one readable line per journaled command.
    Inspect {
        /// Data directory.
        dir: PathBuf,
        /// First sequence to print.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Most lines to print.
        #[arg(long)]
        limit: Option<u64>,
    },
    /// Rebuild the state from the journal and print its hash; or follow it and write snapshots.
    Replay {
        /// Data directory.
        dir: PathBuf,
        /// Stop after this sequence.
        #[arg(long)]
        to: Option<u64>,
        /// Keep applying the journal as it grows (the snapshot follower) until SIGTERM.
        #[arg(long)]
        follow: bool,
        /// Write a snapshot every this many commands (with --follow), or once at the end (without).
        #[arg(long)]
        snapshot_every: Option<u64>,
        /// Replay from sequence 1, ignoring snapshots.
        #[arg(long)]
        full: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
}

impl JournalCommand {
    /// The configuration flags, for the subcommands that read the configuration.
    pub fn common_mut(&mut self) -> Option<&mut CommonArgs> {
        match self {
            Self::Replay { common, .. } => Some(common),
            Self::Verify { .. } | Self::Inspect { .. } => None,
        }
    }
}

/// Runs one journal subcommand.
pub fn run(command: &JournalCommand) -> anyhow::Result<()> {
    match command {
        JournalCommand::Verify { dir } => verify(dir),
        JournalCommand::Inspect { dir, from, limit } => inspect(dir, *from, *limit),
        JournalCommand::Replay {
            dir,
            to,
            follow,
            snapshot_every,
            full,
            common,
        } => {
            let config = Config::load(common)?;
            if !follow {
                return replay(&config, dir, *to, *snapshot_every, *full);
            }
            anyhow::ensure!(
                to.is_none() && !full,
                "--follow cannot be combined with --to or --full"
            );
            let every = snapshot_every.unwrap_or(config.journal.snapshot_every);
            follow_journal(&config, dir, every)
        }
    }
}

fn verify(dir: &std::path::Path) -> anyhow::Result<()> {
    let report = pinwheel_journal::verify(dir)?;
    println!("segments: {}", report.segments);
    println!(
        "frames: {} (sequences {} to {})",
        report.frames,
        report.first_sequence.unwrap_or(0),
        report.last_sequence
    );
    if let Some((path, offset)) = &report.torn_tail {
        println!(
            "torn tail: {}:{offset} (a crash mid-write; the engine cuts it at start)",
            path.display()
        );
    }
    for (path, sequence) in &report.snapshots {
        println!("snapshot: {} (sequence {sequence}) ok", path.display());
    }
    println!("journal ok");
    Ok(())
}

fn inspect(dir: &std::path::Path, from: u64, limit: Option<u64>) -> anyhow::Result<()> {
    let mut reader = JournalReader::open(&journal_dir(dir), from)?;
    let mut printed = 0;
    while let Some(frame) = reader.next()? {
        if limit.is_some_and(|limit| printed >= limit) {
            break;
        }
        println!("{}", describe_command(&Command::from_bytes(frame.payload)));
        printed += 1;
    }
    Ok(())
}

fn replay(
    config: &Config,
    dir: &std::path::Path,
    to: Option<u64>,
    snapshot_every: Option<u64>,
    full: bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (mut engine, from_snapshot) = if full || to.is_some() {
        let table = pinwheel_engine::config::MarketTable::resolve(&config.engine)?;
        (
            pinwheel_engine::Engine::new(table, &config.engine.capacity),
            None,
        )
    } else {
        let recovered = recover(dir, &config.engine, None)?;
        let snapshot = recovered.report.snapshot.clone();
        (recovered.engine, snapshot)
    };
    let replayed = replay_into(&mut engine, &journal_dir(dir), to, &mut DiscardEvents, true)?;
    if let Err(broken) = engine.check_invariants() {
        anyhow::bail!("state after replay breaks an invariant: {broken}");
    }
    if snapshot_every.is_some() {
        let path = take_snapshot(&engine, dir, pinwheel_journal::Retention::Keep)?;
        println!("snapshot: {}", path.display());
    }
    if let Some((path, sequence)) = from_snapshot {
        println!("from snapshot: {} (sequence {sequence})", path.display());
    }
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    println!("replayed: {} commands in {seconds:.3} s", replayed.applied);
    println!("last sequence: {}", replayed.last_journaled(&engine));
    println!("state hash: {:016x}", engine.state_hash());
    Ok(())
}

fn follow_journal(
    config: &Config,
    dir: &std::path::Path,
    snapshot_every: u64,
) -> anyhow::Result<()> {
    let stop = crate::stop_flag()?;
    let follow_config = FollowConfig {
        data_dir: dir.to_path_buf(),
        run_dir: config.run_dir(),
        snapshot_every,
        retention: config.hot_loop()?.retention,
        idle_sleep: Duration::from_millis(5),
    };
    let followed = follow(&follow_config, &config.engine, &stop)?;
    println!("last sequence: {}", followed.last_sequence);
    println!("state hash: {:016x}", followed.engine.state_hash());
    Ok(())
}
