//! The engine's [`Counters`] placed in a shared-memory file, so edges export them
//! without ever asking the engine thread.

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

use memmap2::{MmapMut, MmapOptions};

use crate::counters::Counters;

/// A mapping of `<run-dir>/counters`.
pub struct SharedCounters {
    map: MmapMut,
}

impl SharedCounters {
    /// Maps the counters file, creating it (zeroed, mode 0600) if missing. Counters
    /// survive an engine restart: they count since the file was created.
    pub fn open_or_create(path: &Path) -> io::Result<Self> {
        let file = pinwheel_journal::open_private(path, pinwheel_journal::Existing::Keep)?;
        let size = core::mem::size_of::<Counters>() as u64;
        if file.metadata()?.len() != size {
            file.set_len(0)?;
            file.set_len(size)?;
        }
        Self::map(&file, path)
    }

    /// Maps an existing counters file (edges).
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let size = core::mem::size_of::<Counters>() as u64;
        let length = file.metadata()?.len();
        if length != size {
            let message = format!(
                "{}: {length} bytes, expected {size} (another engine version?)",
                path.display()
            );
            return Err(io::Error::new(io::ErrorKind::InvalidData, message));
        }
        Self::map(&file, path)
    }

    fn map(file: &std::fs::File, path: &Path) -> io::Result<Self> {
        // SAFETY: the file is ours (run directory, mode 0600) and only ever accessed through
        // the atomics of `Counters`; concurrent writes by another process are therefore
        // data-race free, and a truncation by another process is not part of the protocol.
        let map = unsafe {
            MmapOptions::new()
                .len(core::mem::size_of::<Counters>())
                .map_mut(file)
        }
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        assert!(map.as_ptr().align_offset(core::mem::align_of::<Counters>()) == 0);
        Ok(Self { map })
    }

    /// The counters.
    pub fn get(&self) -> &Counters {
        // SAFETY: the mapping is page-aligned (checked in `map`), exactly
        // `size_of::<Counters>()` bytes long and lives as long as `self`. `Counters` is
        // `#[repr(C)]` and made only of atomic integers, for which every bit pattern
        // (including the zeroed new file) is a valid value.
        unsafe { &*self.map.as_ptr().cast::<Counters>() }
    }
}
