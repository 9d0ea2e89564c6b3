//! The one error type of the journal: every variant names what was wrong and where.

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong in the journal, snapshots, recovery and replay.
///
/// Each variant has a stable code ([`JournalError::code`]) the CLI can print and tests can match.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An operating-system call failed on a file or directory.
    #[error("journal I/O error on {path}: {source}")]
    Io {
        /// The file or directory the call was made on.
        path: PathBuf,
        /// The operating-system error.
        source: io::Error,
    },
    /// Bytes on disk are not what the writer wrote: a bad CRC, a broken header, a sequence out of order.
    #[error("journal damaged: {path} at byte {offset}: {reason}")]
    Damaged {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damaged record or header field inside the file.
        offset: u64,
        /// What was found wrong.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid journal configuration: {0}")]
    Config(String),
    /// A reader asked for a sequence that retention already removed from the journal.
    #[error("sequence {from} is no longer in the journal {dir}: its oldest segment starts at sequence {oldest} (older segments were removed by retention); start from a snapshot at or after {oldest_minus_one}", oldest_minus_one = .oldest - 1)]
    NotCovered {
        /// The journal directory.
        dir: PathBuf,
        /// The sequence asked for.
        from: u64,
        /// The first sequence still in the journal.
        oldest: u64,
    },
    /// The writer was opened at a sequence that does not continue the journal on disk.
    #[error("journal {dir} ends at sequence {last}; the writer must continue after it, but was opened with next sequence {requested}")]
    SequenceMismatch {
        /// The journal directory.
        dir: PathBuf,
        /// The last sequence on disk.
        last: u64,
        /// The next sequence the caller asked for.
        requested: u64,
    },
    /// Another process (or writer) holds the journal: a second engine, or recovery under a live writer.
    #[error("journal {dir} is in use by {holder}; only one writer (or recovery) at a time")]
    Locked {
        /// The journal directory.
        dir: PathBuf,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// The background flusher or segment preparer stopped with an error.
    #[error("journal background thread failed: {0}")]
    Background(String),
}

impl JournalError {
    /// A stable, machine-readable code for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            JournalError::Io { .. } => "journal_io",
            JournalError::Damaged { .. } => "journal_damaged",
            JournalError::Config(_) => "journal_config",
            JournalError::NotCovered { .. } => "journal_not_covered",
            JournalError::SequenceMismatch { .. } => "journal_sequence_mismatch",
            JournalError::Locked { .. } => "journal_locked",
            JournalError::Background(_) => "journal_background",
        }
    }

    /// Builds a [`JournalError::Damaged`].
    pub(crate) fn damaged(path: &Path, offset: u64, reason: impl Into<String>) -> Self {
        JournalError::Damaged {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

/// Attaches a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    /// Turns the error into [`JournalError::Io`] naming `path`.
    fn at(self, path: &Path) -> Result<T, JournalError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T, JournalError> {
        self.map_err(|source| JournalError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
