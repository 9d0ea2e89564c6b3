//! One scratch directory per fuzzing process, on tmpfs when there is one (targets that read
//! files write each input there first; syncs on tmpfs cost nothing). `PINWHEEL_FUZZ_SCRATCH`
//! overrides where.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch directory, emptied of `name` before it is handed out.
pub fn fresh(name: &str) -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        // scripts/fuzz.sh names one it removes afterwards.
        if let Some(dir) = std::env::var_os("PINWHEEL_FUZZ_SCRATCH") {
            return PathBuf::from(dir).join(std::process::id().to_string());
        }
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("pinwheel-fuzz-{}", std::process::id()))
    });
    let dir = root.join(name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => panic!("cannot empty {}: {error}", dir.display()),
    }
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}
