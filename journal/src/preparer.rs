//! The preparer thread: keeps the next segment created and synced, and its staging file made
//! and pre-faulted, before the writer needs them, and unmaps staging files the writer is done
//! with. These are syscalls the engine thread must never make.

use std::sync::Arc;
use std::time::Duration;

use crate::background::{OpenSegment, PreparedSegment, Shared};
use crate::error::JournalError;
use crate::segment_file::{create_segment, SEGMENT_HEADER_SIZE};
use crate::stage::Stage;

const POLL: Duration = Duration::from_millis(1);

/// Body of the preparer thread; `next_index` is the index of the first segment to prepare.
pub(crate) fn run_preparer(shared: Arc<Shared>, mut next_index: u64) {
    while !shared.stopping() {
        // Unmapping a retired stage; the flusher keeps its own handle until it copied it out.
        drop(shared.retired.take());
        if shared.ready.is_full() {
            std::thread::sleep(POLL);
            continue;
        }
        match prepare(&shared, next_index) {
            Ok(prepared) => {
                assert!(
                    shared.ready.put(prepared).is_ok(),
                    "only the preparer fills the ready slot"
                );
                next_index += 1;
            }
            Err(err) => return shared.fail("preparer", err),
        }
    }
}

/// Creates segment `index` and its staging file and registers both with the flusher.
fn prepare(shared: &Shared, index: u64) -> Result<PreparedSegment, JournalError> {
    let config = &shared.config;
    let (file, map, path) = create_segment(&config.dir, index, config.segment_size)?;
    let stage = Arc::new(Stage::create(
        &config.stage_dir,
        index,
        &map[..SEGMENT_HEADER_SIZE],
        map.len(),
    )?);
    drop(map);
    // Registered before the writer can see the segment, so the flusher always finds the
    // segment the writer publishes into.
    let segment = OpenSegment {
        file,
        path,
        stage: Arc::clone(&stage),
    };
    shared
        .files
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(index, segment);
    Ok(PreparedSegment { index, stage })
}
