//! The flusher thread: group commit with `fdatasync`, then publish the durable sequence.
//!
//! One `fdatasync` covers every frame published before it, however many: under load the
//! flusher syncs as fast as the device allows and each sync carries a whole group.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::background::Shared;
use crate::config::Durability;
use crate::error::JournalError;
use crate::segment_file::fdatasync;

/// Idle waiting in `sync` mode. Pinned to its own core the flusher spins (lowest latency);
/// unpinned it backs off to short sleeps so that it does not steal a shared core.
struct Idle {
    spin_only: bool,
    step: u32,
}

impl Idle {
    const SPINS: u32 = 128;
    const YIELDS: u32 = 16;
    const SLEEP: Duration = Duration::from_micros(20);

    fn wait(&mut self) {
        self.step = self.step.saturating_add(1);
        if self.step < Self::SPINS || self.spin_only {
            std::hint::spin_loop();
        } else if self.step < Self::SPINS + Self::YIELDS {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Self::SLEEP);
        }
    }

    fn reset(&mut self) {
        self.step = 0;
    }
}

/// Syncs every segment up to the writer's current one; closes the full ones once synced.
fn sync_through(shared: &Shared, writer_segment: u64) -> Result<(), JournalError> {
    let mut files = shared
        .files
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (_, (file, path)) in files.range(..=writer_segment) {
        let started = Instant::now();
        fdatasync(file, path)?;
        let took = started.elapsed().as_nanos() as u64;
        shared.syncs.fetch_add(1, Ordering::Relaxed);
        shared.slowest_sync_ns.fetch_max(took, Ordering::Relaxed);
    }
    // Segments before the writer's are full: nothing more will be written to them.
    files.retain(|index, _| *index >= writer_segment);
    Ok(())
}

/// Makes everything published so far durable; returns the new durable sequence.
fn commit(shared: &Shared, synced: u64) -> Result<u64, JournalError> {
    // Acquire pairs with the writer's release: every frame up to `written` is in memory,
    // and `writer_segment` is at least the segment that holds them.
    let written = shared.written.load(Ordering::Acquire);
    if written <= synced {
        return Ok(synced);
    }
    let writer_segment = shared.writer_segment.load(Ordering::Acquire);
    sync_through(shared, writer_segment)?;
    // Release: an edge that reads this value reads a sequence whose frame is on disk.
    shared.durable.set(written);
    Ok(written)
}

fn pin(core: Option<usize>) {
    let Some(id) = core else { return };
    if !core_affinity::set_for_current(core_affinity::CoreId { id }) {
        tracing::warn!(core = id, "could not pin the journal flusher");
    }
}

/// Body of the flusher thread. `synced` is the sequence already durable when it starts.
pub(crate) fn run_flusher(shared: Arc<Shared>, mut synced: u64) {
    pin(shared.config.flusher_core);
    let mut idle = Idle {
        spin_only: shared.config.flusher_core.is_some(),
        step: 0,
    };
    let interval = shared.config.flush_interval;
    let mut next_tick = Instant::now() + interval;
    loop {
        let stopping = shared.stopping();
        let due = match shared.config.durability {
            Durability::Sync => true,
            _ => stopping || Instant::now() >= next_tick,
        };
        if due {
            match commit(&shared, synced) {
                Ok(durable) if durable > synced => {
                    synced = durable;
                    idle.reset();
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
            Durability::Sync => idle.wait(),
            _ => std::thread::sleep(interval.min(Duration::from_millis(2))),
        }
    }
}
