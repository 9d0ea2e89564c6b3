//! The measured parts of `pinwheel bench journal`, one function each.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use pinwheel_engine::message::Command;
use pinwheel_engine::recovery::{journal_dir, recover, replay_into, DiscardEvents};
use pinwheel_journal::{Durability, FlusherStats};

use super::driven::DrivenEngine;
use crate::engine::workload::{self, Workload};
use crate::engine::{Pinning, PlacementGuard};

/// Longest wait for the flusher to make a run durable.
const DURABLE_LIMIT: Duration = Duration::from_secs(120);
/// How long the open-loop client sleeps between polls of the durable cursor (it must not
/// starve the flusher on a small machine); the real sleep is longer (timer slack).
const ACK_POLL: Duration = Duration::from_micros(10);
/// Upper bound of the latency histograms (60 s in ns).
const HISTOGRAM_MAX_NS: u64 = 60_000_000_000;

/// A latency histogram in nanoseconds.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_NS, 3).expect("static bounds are valid")
}

/// Runs `work` on a fresh thread placed as `pinning` says. The caller's thread stays
/// unpinned, so journal threads it starts later are not confined to the measuring core.
fn on_measuring_thread<T: Send>(
    pinning: &Pinning,
    work: impl FnOnce() -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    std::thread::scope(|scope| {
        let thread = scope.spawn(|| {
            let _placement = PlacementGuard::apply(pinning)?;
            work()
        });
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("the measuring thread panicked"))?
    })
}

/// A driven engine with the workload's set-up journaled, applied and durable.
fn prepared(
    root: &Path,
    durability: Durability,
    workload: &Workload,
    segment_size: u64,
) -> anyhow::Result<DrivenEngine> {
    let mut driven = DrivenEngine::open(root, durability, segment_size)?;
    driven.drive(&workload.setup, |_| {});
    driven.wait_durable(DURABLE_LIMIT)?;
    Ok(driven)
}

/// What one durability mode achieved.
#[derive(Clone, Debug)]
pub struct Throughput {
    /// The mode.
    pub durability: Durability,
    /// Commands per second on the engine thread (stamp, journal, apply, publish).
    pub ops_per_sec: f64,
    /// From the first measured command until the last one was durable.
    pub until_durable: Duration,
    /// The engine's state hash at the end (replay must reproduce it).
    pub state_hash: u64,
    /// Time the engine thread waited for the preparer's next segment during the run.
    pub segment_wait: Duration,
}

/// Drives `commands` (after the set-up) through an engine journaling with `durability`
/// under `root`, closed loop; the journal stays on disk for [`replay_speed`].
pub fn throughput(
    root: &Path,
    durability: Durability,
    workload: &Workload,
    commands: &[Command],
    segment_size: u64,
    pinning: &Pinning,
) -> anyhow::Result<Throughput> {
    let mut driven = prepared(root, durability, workload, segment_size)?;
    let elapsed = on_measuring_thread(pinning, || {
        let start = Instant::now();
        driven.drive(commands, |_| {});
        Ok(start.elapsed())
    })?;
    let segment_wait = driven.segment_wait();
    let waited = Instant::now();
    driven.wait_durable(DURABLE_LIMIT)?;
    let until_durable = elapsed + waited.elapsed();
    anyhow::ensure!(
        driven.sink.rejects == 0,
        "the engine rejected {} commands of the workload with durability {durability}",
        driven.sink.rejects
    );
    let engine = driven.close()?;
    Ok(Throughput {
        durability,
        ops_per_sec: commands.len() as f64 / elapsed.as_secs_f64(),
        until_durable,
        state_hash: engine.state_hash(),
        segment_wait,
    })
}

/// Open-loop acknowledgements in sync durability: `commands` are due `rate` per second
/// apart; each latency runs from its planned time until the durable cursor (read as an edge
/// reads it) covers its sequence. The engine applies every command on the way.
pub fn sync_ack(
    root: &Path,
    workload: &Workload,
    commands: &[Command],
    rate: u64,
    segment_size: u64,
    pinning: &Pinning,
) -> anyhow::Result<(Histogram<u64>, FlusherStats)> {
    anyhow::ensure!(
        rate > 0 && !commands.is_empty(),
        "the ack rate and count must be positive"
    );
    let mut driven = prepared(root, Durability::Sync, workload, segment_size)?;
    driven.reset_flusher_stats();
    let latencies = on_measuring_thread(pinning, || open_loop_acks(&mut driven, commands, rate))?;
    anyhow::ensure!(
        driven.sink.rejects == 0,
        "the engine rejected commands of the workload"
    );
    let during = driven.flusher_stats();
    driven.close()?;
    Ok((latencies, during))
}

fn open_loop_acks(
    driven: &mut DrivenEngine,
    commands: &[Command],
    rate: u64,
) -> anyhow::Result<Histogram<u64>> {
    pinwheel_ring::set_min_timer_slack();
    let gap_ns = 1_000_000_000 / rate;
    let start = Instant::now() + Duration::from_millis(10);
    let planned = |index: usize| start + Duration::from_nanos(gap_ns * index as u64);
    let deadline = planned(commands.len()) + Duration::from_secs(30);
    let mut sequences = vec![0u64; commands.len()];
    let mut latencies = histogram();
    let (mut sent, mut acked) = (0usize, 0usize);
    while acked < commands.len() {
        let now = Instant::now();
        if now >= deadline {
            driven.health()?;
            anyhow::bail!(
                "sync acknowledgements stalled at {acked} of {}",
                commands.len()
            );
        }
        while sent < commands.len() && planned(sent) <= now {
            sequences[sent] = driven.step(&commands[sent]);
            sent += 1;
        }
        driven.publish();
        let durable = driven.durable_sequence();
        let seen = Instant::now();
        while acked < sent && sequences[acked] <= durable {
            latencies.saturating_record(seen.duration_since(planned(acked)).as_nanos() as u64);
            acked += 1;
        }
        std::thread::sleep(ACK_POLL);
    }
    Ok(latencies)
}

/// Replays the journal under `data_dir` into a fresh engine; checks the state hash and
/// returns `(commands applied, time taken)`.
pub fn replay_speed(data_dir: &Path, expected_hash: u64) -> anyhow::Result<(u64, Duration)> {
    let mut engine = workload::engine();
    let start = Instant::now();
    let replayed = replay_into(
        &mut engine,
        &journal_dir(data_dir),
        None,
        &mut DiscardEvents,
        false,
    )?;
    let elapsed = start.elapsed();
    anyhow::ensure!(
        engine.state_hash() == expected_hash,
        "replay reached state hash {:016x}, the live engine had {expected_hash:016x}",
        engine.state_hash()
    );
    Ok((replayed.applied, elapsed))
}

/// Writes a journal of exactly `total` commands (the set-up, then the workload) under `root`,
/// then times the engine's start-up recovery of it (scan, cut, replay). The journal is still
/// in the page cache, as after a killed engine process. Returns the time and the state hash
/// (checked against the live engine's); the journal stays under `root/data`.
pub fn recovery_time(
    root: &Path,
    workload: &Workload,
    total: usize,
    segment_size: u64,
) -> anyhow::Result<(Duration, u64)> {
    let measured = total
        .checked_sub(workload.setup.len())
        .filter(|&n| n <= workload.commands.len())
        .with_context(|| format!("{total} recovery commands do not fit the generated workload"))?;
    let mut driven = DrivenEngine::open(root, Durability::Async, segment_size)?;
    let bar = progress_bar(total as u64, "writing the recovery journal");
    driven.drive(&workload.setup, |n| bar.inc(n as u64));
    driven.drive(&workload.commands[..measured], |n| bar.inc(n as u64));
    bar.finish_and_clear();
    let data_dir = driven.data_dir.clone();
    let stage_dir = driven.stage_dir.clone();
    let live_hash = driven.engine().state_hash();
    driven.close()?;
    tracing::info!(commands = total, "recovering");
    let start = Instant::now();
    let recovered = recover(&data_dir, &workload::config(), Some(&stage_dir))?;
    let elapsed = start.elapsed();
    let report = &recovered.report;
    anyhow::ensure!(
        report.state_hash == live_hash && report.replayed == total as u64,
        "recovery replayed {} of {total} commands to state hash {:016x}, the live engine had {live_hash:016x}",
        report.replayed,
        report.state_hash
    );
    Ok((elapsed, live_hash))
}

/// A progress bar on stderr for long parts.
pub fn progress_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} eta {eta}")
            .expect("the template is valid"),
    );
    bar.set_message(what.to_string());
    bar
}
