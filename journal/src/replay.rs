//! Offline replay: hands every frame in a range to a function, with progress on request.

use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::JournalError;
use crate::frame::Frame;
use crate::reader::JournalReader;
use crate::segment_file::list_segments;

/// Frames between progress updates (keeps the bar off the per-frame path).
const PROGRESS_EVERY: u64 = 1 << 16;

fn progress_bar(dir: &Path, show: bool) -> Result<ProgressBar, JournalError> {
    if !show {
        return Ok(ProgressBar::hidden());
    }
    let mut total = 0;
    for entry in list_segments(dir)? {
        total += std::fs::metadata(&entry.path)
            .map(|meta| meta.len())
            .unwrap_or(0);
    }
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "replay {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .expect("the template is valid");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    Ok(bar)
}

/// Calls `f` with every frame from `from_sequence` up to `to` (inclusive; the end if `None`).
/// Returns the number of frames replayed. A torn tail ends the replay with a warning (recovery
/// cuts it); any other damage is an error naming file and offset.
pub fn replay(
    dir: &Path,
    from_sequence: u64,
    to: Option<u64>,
    progress: bool,
    mut f: impl FnMut(Frame<'_>),
) -> Result<u64, JournalError> {
    replay_while(dir, from_sequence, to, progress, |frame| {
        f(frame);
        ControlFlow::Continue(())
    })
}

/// [`replay`], but `f` can stop it early by returning [`ControlFlow::Break`]; the frame it
/// was given then counts as replayed.
pub fn replay_while(
    dir: &Path,
    from_sequence: u64,
    to: Option<u64>,
    progress: bool,
    mut f: impl FnMut(Frame<'_>) -> ControlFlow<()>,
) -> Result<u64, JournalError> {
    let mut reader = JournalReader::open(dir, from_sequence)?;
    let bar = progress_bar(dir, progress)?;
    let limit = to.unwrap_or(u64::MAX);
    let mut count = 0u64;
    while let Some(frame) = reader.next_at_most(limit)? {
        let flow = f(frame);
        count += 1;
        if count.is_multiple_of(PROGRESS_EVERY) {
            bar.set_position(reader.bytes_read());
        }
        if flow.is_break() {
            bar.finish_and_clear();
            return Ok(count);
        }
    }
    if !reader.stopped_at_limit() {
        if let Some((path, offset)) = reader.check_end()? {
            tracing::warn!(file = %path.display(), offset, "replay stopped at a torn frame at the tail");
        }
    }
    bar.finish_and_clear();
    Ok(count)
}
