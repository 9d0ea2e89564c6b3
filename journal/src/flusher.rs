//! The flusher thread: seals published frames in the staging files (fills in their CRCs, which
//! the engine thread leaves out), copies them into the segment files (`pwrite`), makes them
//! durable (`fdatasync`, group commit), then publishes the durable sequence.
//!
//! One `fdatasync` covers every frame published before it, however many: under load the
//! flusher syncs as fast as the device allows and each sync carries a whole group.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinwheel_ring::{WaitStrategy, Waiter};

use crate::background::{unpack_end, Shared};
use crate::config::Durability;
use crate::error::JournalError;
use crate::segment_file::{fdatasync, SEGMENT_HEADER_SIZE};
use crate::stage::copy_out;

/// How the flusher idles in `sync` mode. Pinned to its own core it spins (lowest latency);
/// unpinned it spins briefly, then parks on the writer's doorbell, which `publish` rings: it
/// wakes within microseconds of the engine publishing, and burns nothing while idle.
fn sync_wait(shared: &Shared) -> WaitStrategy {
    if shared.config.flusher_core.is_some() {
        WaitStrategy::Spin
    } else {
        WaitStrategy::Park
    }
}

/// How far the segment files hold the published frames: segment index, byte position, and
/// the sequence that is durable once they are synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flushed {
    pub index: u64,
    pub pos: usize,
    pub sequence: u64,
}

/// Copies `[flushed, end)` out of the staging files and syncs every segment it touched; drops
/// (and removes the staging files of) the segments before `end`'s, which are full.
fn copy_and_sync(shared: &Shared, flushed: Flushed, end: (u64, usize)) -> Result<(), JournalError> {
    let mut files = shared
        .files
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (&index, segment) in files.range(flushed.index..=end.0) {
        let from = if index == flushed.index {
            flushed.pos
        } else {
            0
        };
        let to = if index == end.0 {
            end.1
        } else {
            segment.stage.len()
        };
        if from >= to {
            continue;
        }
        // SAFETY: `from..to` is published (below the writer's published end, or the writer
        // has left this segment), and this thread is the only one that touches it.
        unsafe {
            segment
                .stage
                .seal(from.max(SEGMENT_HEADER_SIZE).min(to), to)
        };
        copy_out(&segment.stage, &segment.file, &segment.path, from, to)?;
        let started = Instant::now();
        fdatasync(&segment.file, &segment.path)?;
        let took = started.elapsed().as_nanos() as u64;
        shared.syncs.fetch_add(1, Ordering::Relaxed);
        shared.slowest_sync_ns.fetch_max(took, Ordering::Relaxed);
    }
    // Segments before the writer's are full and now durable: nothing more will be written to
    // them, and their staging copies are no longer needed for recovery.
    while files
        .first_key_value()
        .is_some_and(|(index, _)| *index < end.0)
    {
        let (_, segment) = files.pop_first().expect("checked above");
        segment.stage.remove_file()?;
    }
    Ok(())
}

/// Makes everything published so far durable; returns how far that is.
fn commit(shared: &Shared, flushed: Flushed) -> Result<Flushed, JournalError> {
    // Acquire pairs with the writer's release: every frame up to `written` is in its stage,
    // below the published end read next (stored before `written`).
    let written = shared.written.load(Ordering::Acquire);
    if written <= flushed.sequence {
        return Ok(flushed);
    }
    let end = unpack_end(shared.published_end.load(Ordering::Acquire));
    debug_assert!(
        end >= (flushed.index, flushed.pos),
        "the published end never goes back"
    );
    copy_and_sync(shared, flushed, end)?;
    // Release: an edge that reads this value reads a sequence whose frame is on disk; the
    // cursor rings its doorbell for the edges parked on it.
    shared.durable.set(written);
    Ok(Flushed {
        index: end.0,
        pos: end.1,
        sequence: written,
    })
}

fn pin(core: Option<usize>) {
    let Some(id) = core else { return };
    if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
        tracing::warn!(core = id, "could not pin the journal flusher");
    }
}

/// Body of the flusher thread. `flushed` is what the segment files already hold, durably.
pub(crate) fn run_flusher(shared: Arc<Shared>, mut flushed: Flushed) {
    pin(shared.config.flusher_core);
    // The async flusher sleeps its interval: without this, each sleep may overrun by 50 us.
    pinwheel_ring::set_min_timer_slack();
    let mut waiter = Waiter::new(sync_wait(&shared));
    let interval = shared.config.flush_interval;
    let mut next_tick = Instant::now() + interval;
    loop {
        let stopping = shared.stopping();
        let due = match shared.config.durability {
            Durability::Sync => true,
            _ => stopping || Instant::now() >= next_tick,
        };
        if due {
            match commit(&shared, flushed) {
                Ok(now) if now.sequence > flushed.sequence => {
                    flushed = now;
                    waiter.reset();
                }
                Ok(_) => {}
                Err(err) => return shared.fail("flusher", err),
            }
            next_tick = Instant::now() + interval;
        }
        if stopping {
            return;
        }
        match shared.config.durability {
            Durability::Sync => idle_until_published(&shared, &mut waiter, flushed.sequence),
            _ => std::thread::sleep(interval.min(Duration::from_millis(2))),
        }
    }
}

/// One idle step of the sync flusher: parks (bounded) until the writer publishes past
/// `flushed` or stops.
fn idle_until_published(shared: &Shared, waiter: &mut Waiter, flushed: u64) {
    waiter.idle_on(&shared.flush_bell, || {
        shared.written.load(Ordering::Acquire) > flushed || shared.stopping()
    });
}
