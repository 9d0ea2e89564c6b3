//! Where ring files live.

use std::path::{Path, PathBuf};

use crate::RingError;

/// The default run directory of `instance`: `/dev/shm/pinwheel-<instance>`, or
/// `<temp dir>/pinwheel-<instance>` on systems without `/dev/shm`.
pub fn default_run_dir(instance: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let parent = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    parent.join(format!("pinwheel-{instance}"))
}

/// Creates `dir` (and its parents) if missing; a new directory gets mode 0700.
pub fn ensure_run_dir(dir: &Path) -> Result<(), RingError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(source) => Err(RingError::Io {
            path: dir.to_path_buf(),
            op: "create run directory",
            source,
        }),
    }
}

/// The control file of a run directory (edge slots: id -> pid, heartbeat, state).
pub fn control_path(run_dir: &Path) -> PathBuf {
    run_dir.join("control")
}

/// The input ring of edge `edge_id`.
pub fn input_path(run_dir: &Path, edge_id: u16) -> PathBuf {
    run_dir.join(format!("input-{edge_id}"))
}

/// The output (broadcast) ring the engine writes.
pub fn output_path(run_dir: &Path) -> PathBuf {
    run_dir.join("output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // reads the file system
    fn default_run_dir_names_the_instance() {
        let dir = default_run_dir("alpha");
        assert!(dir.ends_with("pinwheel-alpha"), "{}", dir.display());
        if Path::new("/dev/shm").is_dir() {
            assert_eq!(dir, Path::new("/dev/shm/pinwheel-alpha"));
        }
    }
}
