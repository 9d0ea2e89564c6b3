//! What the ring's integration tests share: a run directory on tmpfs, an output ring in it,
//! and a way to damage a ring file's header in place.
#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use pinwheel_ring::{output_path, BroadcastWriter};

/// Record size the tests use.
pub const RECORD: usize = 128;

/// A fresh run directory (not yet created) under /dev/shm where it exists, else /tmp; the
/// guard removes it.
pub fn run_dir(prefix: &str) -> (tempfile::TempDir, PathBuf) {
    let parent = if Path::new("/dev/shm").is_dir() {
        "/dev/shm"
    } else {
        "/tmp"
    };
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .unwrap();
    let path = dir.path().join("run");
    (dir, path)
}

/// Creates `dir` and a 64-slot output ring in it; returns its path and writer.
pub fn output_ring(dir: &Path) -> (PathBuf, BroadcastWriter) {
    std::fs::create_dir_all(dir).unwrap();
    let path = output_path(dir);
    let writer = BroadcastWriter::open_or_create(&path, RECORD, 64).unwrap();
    (path, writer)
}

/// Overwrites `bytes` of the file at `path` at `offset` (a damaged or foreign header).
pub fn overwrite(path: &Path, offset: u64, bytes: &[u8]) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .write_all_at(bytes, offset)
        .unwrap();
}
