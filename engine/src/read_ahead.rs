//! Replay in two stages on two threads, as in a pipeline: a reader thread reads and checks
//! the journal's frames (CRC, sequence order, [`command_in`]) and copies their commands into
//! batches; the
//! caller's thread only applies them. Reading and checking cost about a third of a replay,
//! so overlapping them with `apply` makes recovery that much shorter.
//!
//! Batches travel in a fixed set of buffers that go back and forth over two bounded channels,
//! so nothing is allocated per batch and the reader is never more than a few batches ahead.
//! Both waits are blocking (no spinning), so a replay on a small machine leaves the other
//! core alone.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use pinwheel_journal::replay_while;

use crate::journal_follower::{command_in, FollowError, FrameProblem};
use crate::message::Command;

/// Commands per batch: large enough that a hand-over costs little per command, small enough
/// (128 KiB; 512 KiB in flight) that a batch is still in the shared cache when it is applied.
const BATCH: usize = 1024;
/// Batches in flight between the threads.
const BATCHES: usize = 4;

/// What the reader found, besides the commands it handed over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadSummary {
    /// Sequence of the last frame read (0 if none).
    pub last_sequence: u64,
    /// The frame the reader stopped at because it does not hold its command.
    pub problem: Option<FrameProblem>,
}

/// Calls `apply` on this thread with every journaled command from `from` up to `to`, in
/// order, while another thread reads ahead. The journal's error (or a frame's problem), if
/// any, comes after every command before it was applied, and none after it.
pub(crate) fn replay_read_ahead(
    journal: &Path,
    from: u64,
    to: Option<u64>,
    progress: bool,
    mut apply: impl FnMut(&Command),
) -> Result<ReadSummary, FollowError> {
    let (full_tx, full_rx) = sync_channel::<Vec<Command>>(BATCHES);
    let (empty_tx, empty_rx) = sync_channel::<Vec<Command>>(BATCHES);
    for _ in 0..BATCHES {
        empty_tx
            .send(Vec::with_capacity(BATCH))
            .expect("the receiver is here");
    }
    // `move`: if `apply` panics, unwinding this closure drops the channel ends it holds, which
    // stops the reader; the scope then joins it and passes the panic on instead of hanging.
    std::thread::scope(move |scope| {
        let reader = std::thread::Builder::new()
            .name("replay-reader".into())
            .spawn_scoped(scope, move || {
                read_batches(journal, from, to, progress, full_tx, empty_rx)
            })?;
        for mut batch in full_rx.iter() {
            batch.iter().for_each(&mut apply);
            batch.clear();
            // The reader may have finished and dropped its end; the buffer is then not needed.
            let _ = empty_tx.send(batch);
        }
        match reader.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// The reader stage: fills batches with commands and hands them over until the journal ends
/// (or the applying side hangs up).
fn read_batches(
    journal: &Path,
    from: u64,
    to: Option<u64>,
    progress: bool,
    full: SyncSender<Vec<Command>>,
    empty: Receiver<Vec<Command>>,
) -> Result<ReadSummary, FollowError> {
    let mut summary = ReadSummary::default();
    let Ok(mut batch) = empty.recv() else {
        return Ok(summary);
    };
    replay_while(journal, from, to, progress, |frame| {
        let command = match command_in(&frame) {
            Ok(command) => command,
            Err(problem) => {
                summary.problem = Some(problem);
                return ControlFlow::Break(());
            }
        };
        summary.last_sequence = frame.sequence;
        batch.push(command);
        if batch.len() < BATCH {
            return ControlFlow::Continue(());
        }
        // Either channel closing means the applying side stopped: stop reading.
        let Ok(next) = empty.recv() else {
            return ControlFlow::Break(());
        };
        match full.send(std::mem::replace(&mut batch, next)) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    })?;
    if !batch.is_empty() {
        // A closed channel here means the applier is gone; nothing is left to give it.
        let _ = full.send(batch);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;
    use pinwheel_journal::{Durability, DurableCursor, JournalConfig, JournalWriter};
    use std::time::Duration;

    /// A journal of `count` zeroed commands stamped 1..=count, in its own folder.
    fn journal_of(name: &str, count: u64) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("pinwheel-read-ahead-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("run")).unwrap();
        let mut config = JournalConfig::new(dir.join("journal"), Durability::Sync);
        config.segment_size = 1 << 20;
        let durable = DurableCursor::create(&dir.join("run")).unwrap();
        let mut writer = JournalWriter::open(&config, durable, 1).unwrap();
        for sequence in 1..=count {
            let mut command = Command::zeroed();
            command.head.sequence = sequence;
            writer.append(sequence, sequence, command.as_bytes());
        }
        writer.close().unwrap();
        dir
    }

    #[test]
    fn hands_over_every_command_in_order() {
        let dir = journal_of("order", 5_000);
        let mut next = 1;
        let summary = replay_read_ahead(&dir.join("journal"), 1, None, false, |command| {
            assert_eq!(command.head.sequence, next);
            next += 1;
        })
        .unwrap();
        assert_eq!(next, 5_001);
        assert_eq!(summary.last_sequence, 5_000);
        assert_eq!(summary.problem, None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_panic_while_applying_reaches_the_caller_instead_of_hanging() {
        // More commands than the batches in flight hold, so the reader is waiting on a full
        // channel when the applying side panics.
        let dir = journal_of("panic", (BATCH * BATCHES * 3) as u64);
        let journal = dir.join("journal");
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(|| {
                replay_read_ahead(&journal, 1, None, false, |command| {
                    assert!(command.head.sequence < 10, "broken invariant");
                })
            });
            done_tx.send(outcome.is_err()).unwrap();
        });
        let panicked = done_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the replay hung after a panic");
        assert!(panicked, "the panic reached the caller");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
