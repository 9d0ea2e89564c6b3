//! The preparer thread: keeps the next segment created, pre-faulted and synced before the writer
//! needs it, and unmaps segments the writer is done with. Both are syscalls the engine thread
//! must never make.

use std::sync::Arc;
use std::time::Duration;

use crate::background::{PreparedSegment, Shared};
use crate::segment_file::create_segment;

const POLL: Duration = Duration::from_millis(1);

/// Body of the preparer thread; `next_index` is the index of the first segment to prepare.
pub(crate) fn run_preparer(shared: Arc<Shared>, mut next_index: u64) {
    while !shared.stopping() {
        // Unmapping a retired segment; its file stays open in `files` until the flusher synced it.
        drop(shared.retired.take());
        if shared.ready.is_full() {
            std::thread::sleep(POLL);
            continue;
        }
        let (dir, size) = (&shared.config.dir, shared.config.segment_size);
        match create_segment(dir, next_index, size) {
            Ok((file, map, path)) => {
                // The file is registered before the writer can see the segment, so the flusher
                // always finds the file of the segment the writer announces.
                let mut files = shared
                    .files
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                files.insert(next_index, (file, path));
                drop(files);
                let prepared = PreparedSegment {
                    index: next_index,
                    map,
                };
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
