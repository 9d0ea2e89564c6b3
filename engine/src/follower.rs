//! The follower: applies the journal as it grows to its own engine, and writes the
//! snapshots, so the live engine never pauses for one (`pinwheel journal replay --follow`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pinwheel_journal::{apply_retention, write_snapshot, DurableCursor, Retention};

use crate::config::EngineConfig;
use crate::recovery::{journal_dir, recover_follower, snapshot_dir, DiscardEvents};
use crate::Engine;

/// What the follower does besides following.
#[derive(Clone, Debug)]
pub struct FollowConfig {
    /// Data directory (journal and snapshots).
    pub data_dir: PathBuf,
    /// Run directory of the live engine: the follower applies only durable frames, so a
    /// snapshot never gets ahead of what a machine crash would leave on disk. Without a
    /// durable cursor there (no engine running) every frame on disk counts as durable.
    pub run_dir: PathBuf,
    /// Write a snapshot every this many applied commands (0 = never).
    pub snapshot_every: u64,
    /// What happens to segments a snapshot covers.
    pub retention: Retention,
    /// Sleep when the journal has nothing new.
    pub idle_sleep: Duration,
}

/// Where a follower stopped.
pub struct Followed {
    /// The engine as it stands after the last frame applied.
    pub engine: Engine,
    /// Sequence of the last journal frame applied, accepted or rejected (the engine's own
    /// [`Engine::last_sequence`] counts accepted commands only).
    pub last_sequence: u64,
}

/// Follows the journal until `stop` is set; returns the engine as it stands then.
pub fn follow(
    config: &FollowConfig,
    engine_config: &EngineConfig,
    stop: &AtomicBool,
) -> anyhow::Result<Followed> {
    let (mut follower, report) = recover_follower(&config.data_dir, engine_config, None)?;
    tracing::info!(%report, "follower caught up");
    let mut durable = DurableCursor::open(&config.run_dir).ok();
    let mut since_snapshot = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if durable.is_none() {
            durable = DurableCursor::open(&config.run_dir).ok();
        }
        let limit = durable.as_ref().map_or(u64::MAX, DurableCursor::get);
        let mut applied = 0u64;
        // Now and then, look at the stop flag and the snapshot schedule.
        while applied < 65_536 && follower.apply_next(limit, &mut DiscardEvents)?.is_some() {
            applied += 1;
        }
        since_snapshot += applied;
        if config.snapshot_every > 0 && since_snapshot >= config.snapshot_every {
            take_snapshot(follower.engine(), &config.data_dir, config.retention)?;
            since_snapshot = 0;
        }
        if applied == 0 {
            std::thread::sleep(config.idle_sleep);
        }
    }
    Ok(Followed {
        last_sequence: follower.last_sequence(),
        engine: follower.into_engine(),
    })
}

/// Writes a snapshot of `engine` atomically, then applies the retention rule.
pub fn take_snapshot(
    engine: &Engine,
    data_dir: &Path,
    retention: Retention,
) -> anyhow::Result<PathBuf> {
    let mut body = Vec::new();
    engine.write_snapshot(&mut body)?;
    let sequence = engine.last_sequence();
    let path = write_snapshot(
        &snapshot_dir(data_dir),
        sequence,
        engine.state_hash(),
        &body,
    )?;
    let removed = apply_retention(&journal_dir(data_dir), sequence, retention)?;
    tracing::info!(sequence, file = %path.display(), bytes = body.len(), segments_retired = removed, "snapshot written");
    Ok(path)
}
