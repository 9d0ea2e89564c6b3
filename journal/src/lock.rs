//! One writer per journal: an exclusive `flock` on `<journal-dir>/LOCK`, held by the writer for
//! its lifetime and by recovery while it runs. The kernel drops it when the holder dies (even by
//! SIGKILL), so a crash never leaves the journal locked; a second engine on the same data
//! directory, or recovery under a live writer (which would cut the frame being written), is
//! refused with an error naming the holder.

use crate::private_file::{open_private, Existing};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, JournalError};

/// The lock file's name inside the journal directory.
pub const LOCK_FILE_NAME: &str = "LOCK";

/// Held while alive; released on drop (or by the kernel when the process dies).
#[derive(Debug)]
pub(crate) struct JournalLock {
    _file: File,
}

impl JournalLock {
    /// Takes the lock without waiting, or says who holds it.
    pub(crate) fn acquire(dir: &Path, role: &str) -> Result<JournalLock, JournalError> {
        std::fs::create_dir_all(dir).at(dir)?;
        let path = dir.join(LOCK_FILE_NAME);
        let mut file = open_private(&path, Existing::Keep).at(&path)?;
        // SAFETY: plain syscall on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(err).at(&path);
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(JournalError::Locked {
                dir: dir.to_path_buf(),
                holder: holder.trim().to_string(),
            });
        }
        let note = format!("{role} pid {}\n", std::process::id());
        file.set_len(0).at(&path)?;
        file.seek(SeekFrom::Start(0)).at(&path)?;
        file.write_all(note.as_bytes()).at(&path)?;
        Ok(JournalLock { _file: file })
    }
}

/// The lock file of a journal directory.
pub fn lock_path(dir: &Path) -> PathBuf {
    dir.join(LOCK_FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = JournalLock::acquire(dir.path(), "writer").unwrap();
        let err = JournalLock::acquire(dir.path(), "recovery").unwrap_err();
        assert_eq!(err.code(), "journal_locked");
        assert!(
            err.to_string()
                .contains(&format!("writer pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        JournalLock::acquire(dir.path(), "recovery").unwrap();
    }
}
