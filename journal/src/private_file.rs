//! Files only Pinwheel's own user may read or write. The journal, its snapshots, the durable
//! cursor, the lock, the engine's counters and the edge's secrets hold account data, so every
//! file Pinwheel creates is mode 0600, opened read-write through this one function.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// What happens to a file that exists already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Its contents stay (cursors, counters, locks: they are reopened across restarts).
    Keep,
    /// It is emptied (a file about to be written whole: a segment, a snapshot, a secret).
    Truncate,
}

/// Opens `path` for reading and writing, creating it with mode 0600 if missing.
pub fn open_private(path: &Path, existing: Existing) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(existing == Existing::Truncate)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_file_is_private_and_keep_or_truncate_decides_the_old_contents() {
        let dir = std::env::temp_dir().join(format!("pinwheel-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        let _ = std::fs::remove_file(&path);
        open_private(&path, Existing::Truncate)
            .unwrap()
            .write_all(b"kept")
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut text = String::new();
        open_private(&path, Existing::Keep)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "kept");
        let emptied = open_private(&path, Existing::Truncate).unwrap();
        assert_eq!(emptied.metadata().unwrap().len(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
