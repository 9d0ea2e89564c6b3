//! Ring files: created mode 0600 and initialised header-last, or opened and
//! checked (permissions, magic, version, kind, geometry, length) before use.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use memmap2::{Mmap, MmapMut, MmapOptions};

use crate::layout::{
    check_ring_config, file_len, FileHeader, FileKind, Geometry, EDGE_SLOT_SIZE, LAYOUT_VERSION,
    MAGIC,
};
use crate::RingError;

/// The only permission bits a ring file may have.
pub const FILE_MODE: u32 = 0o600;
/// How often a waiting attacher looks at the file again.
const ATTACH_POLL: Duration = Duration::from_millis(1);

/// A mapped ring file (or, in tests, an aligned heap block standing in for one).
pub(crate) struct Mapping {
    base: NonNull<u8>,
    len: usize,
    path: PathBuf,
    _backing: Backing,
}

enum Backing {
    Writable(#[allow(dead_code)] MmapMut),
    ReadOnly(#[allow(dead_code)] Mmap),
    #[cfg(test)]
    Heap(#[allow(dead_code)] HeapBlock),
}

// SAFETY: the mapping is plain shared memory owned by this value; every
// concurrent access to it goes through atomics or the ring protocols.
unsafe impl Send for Mapping {}

// SAFETY: as for Send: shared references only hand out atomics or protocol-guarded
// records, which is exactly how other processes share the same bytes.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// First byte of the file.
    #[inline(always)]
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.base
    }

    /// Length of the mapping in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The file this maps.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The file header.
    #[inline(always)]
    pub(crate) fn header(&self) -> &FileHeader {
        self.at::<FileHeader>(0)
    }

    /// A shared reference to a `T` at `offset`. `T` must be made of atomics
    /// (or be read only under a ring protocol).
    #[inline(always)]
    pub(crate) fn at<T>(&self, offset: usize) -> &T {
        debug_assert!(offset + std::mem::size_of::<T>() <= self.len);
        debug_assert_eq!(offset % std::mem::align_of::<T>(), 0);
        // SAFETY: in bounds and aligned (checked above; the base is page-aligned and callers
        // pass offsets computed from the validated layout); the memory lives as long as self.
        unsafe { &*self.base.as_ptr().add(offset).cast::<T>() }
    }

    /// A zeroed, page-aligned heap block laid out like a file (tests, miri).
    #[cfg(test)]
    pub(crate) fn heap(len: usize) -> Self {
        let block = HeapBlock::zeroed(len);
        Self {
            base: block.ptr,
            len,
            path: PathBuf::from("<heap>"),
            _backing: Backing::Heap(block),
        }
    }

    fn from_mut(map: MmapMut, path: &Path) -> Self {
        let mut map = map;
        let base = NonNull::new(map.as_mut_ptr()).expect("mmap returned null");
        Self {
            base,
            len: map.len(),
            path: path.to_path_buf(),
            _backing: Backing::Writable(map),
        }
    }

    fn from_ro(map: Mmap, path: &Path) -> Self {
        let base = NonNull::new(map.as_ptr().cast_mut()).expect("mmap returned null");
        Self {
            base,
            len: map.len(),
            path: path.to_path_buf(),
            _backing: Backing::ReadOnly(map),
        }
    }
}

/// Test stand-in for a mapping.
#[cfg(test)]
struct HeapBlock {
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

#[cfg(test)]
impl HeapBlock {
    fn zeroed(len: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(len.max(1), 4096).unwrap();
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        Self {
            ptr: NonNull::new(ptr).expect("allocation failed"),
            layout,
        }
    }
}

#[cfg(test)]
impl Drop for HeapBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this very layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

fn io_error<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(std::io::Error) -> RingError + 'a {
    move |source| RingError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

/// Creates the file with this geometry, or opens the existing one and checks
/// that it has the same geometry. Returns whether it was created.
pub(crate) fn create_or_open(
    path: &Path,
    geometry: Geometry,
    wait: Duration,
) -> Result<(Mapping, bool), RingError> {
    let created = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path);
    match created {
        Ok(file) => match initialise(file, path, geometry) {
            Ok(mapping) => Ok((mapping, true)),
            Err(error) => {
                // Half made, it would read as a foreign file to the next process to open it.
                let _ = std::fs::remove_file(path);
                Err(error)
            }
        },
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let (mapping, found) = open_existing(path, geometry.kind, true, wait)?;
            check_same_geometry(path, found, geometry)?;
            Ok((mapping, false))
        }
        Err(error) => Err(io_error(path, "create")(error)),
    }
}

fn initialise(file: File, path: &Path, geometry: Geometry) -> Result<Mapping, RingError> {
    // The umask may have removed bits from 0600 at creation; make it exactly 0600.
    file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))
        .map_err(io_error(path, "chmod"))?;
    let len = file_len(geometry);
    file.set_len(len as u64)
        .map_err(io_error(path, "set length"))?;
    reserve(&file, path, len)?;
    // SAFETY: the file is ours (just created, exclusive); other processes that map it
    // only touch it through atomics and the ring protocols, never through plain references.
    let map = unsafe { MmapOptions::new().len(len).populate().map_mut(&file) }
        .map_err(io_error(path, "map"))?;
    let mapping = Mapping::from_mut(map, path);
    mapping.header().initialise(geometry);
    Ok(mapping)
}

/// Reserves the file's blocks: a run directory on a tmpfs too small for the ring (a
/// container's 64 MiB /dev/shm) fails here with ENOSPC naming the file, instead of killing the
/// process with SIGBUS when it first touches a page that cannot be had.
fn reserve(file: &File, path: &Path, len: usize) -> Result<(), RingError> {
    // SAFETY: a plain syscall on a descriptor `file` keeps open for the call.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len as libc::off_t) };
    // File systems without fallocate still work (set_len made the file).
    if rc != 0 && rc != libc::EOPNOTSUPP && rc != libc::EINVAL {
        return Err(io_error(path, "reserve space")(
            std::io::Error::from_raw_os_error(rc),
        ));
    }
    Ok(())
}

fn check_same_geometry(path: &Path, found: Geometry, wanted: Geometry) -> Result<(), RingError> {
    if found.record_size != wanted.record_size {
        return Err(RingError::RecordSize {
            path: path.to_path_buf(),
            found: found.record_size as u64,
            expected: wanted.record_size as u64,
        });
    }
    if found.capacity != wanted.capacity {
        return Err(RingError::Capacity {
            path: path.to_path_buf(),
            found: found.capacity as u64,
            expected: wanted.capacity as u64,
        });
    }
    Ok(())
}

/// Why one attempt to open a file did not succeed.
enum Attempt {
    /// The file may still appear or be initialised: try again until the deadline.
    NotYet(&'static str),
    /// It never will: report at once.
    Failed(RingError),
}

/// Opens an existing file of `kind`, waiting up to `wait` for it to exist and be
/// initialised, and checks everything its header says.
pub(crate) fn open_existing(
    path: &Path,
    kind: FileKind,
    writable: bool,
    wait: Duration,
) -> Result<(Mapping, Geometry), RingError> {
    let deadline = Instant::now() + wait;
    loop {
        match try_open(path, kind, writable) {
            Ok(opened) => return Ok(opened),
            Err(Attempt::Failed(error)) => return Err(error),
            Err(Attempt::NotYet(what)) if Instant::now() >= deadline => {
                return Err(RingError::Timeout {
                    path: path.to_path_buf(),
                    what,
                    waited: wait,
                })
            }
            Err(Attempt::NotYet(_)) => std::thread::sleep(ATTACH_POLL),
        }
    }
}

fn try_open(path: &Path, kind: FileKind, writable: bool) -> Result<(Mapping, Geometry), Attempt> {
    let file = match OpenOptions::new().read(true).write(writable).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(Attempt::NotYet("file does not exist"))
        }
        Err(error) => return Err(Attempt::Failed(io_error(path, "open")(error))),
    };
    let metadata = file
        .metadata()
        .map_err(|e| Attempt::Failed(io_error(path, "stat")(e)))?;
    let mode = metadata.mode() & 0o777;
    if mode != FILE_MODE {
        return Err(Attempt::Failed(RingError::Permissions {
            path: path.to_path_buf(),
            found: mode,
            expected: FILE_MODE,
        }));
    }
    let len = metadata.len();
    if len < std::mem::size_of::<FileHeader>() as u64 {
        return Err(Attempt::NotYet("file is shorter than its header"));
    }
    let mapping = map_existing(&file, path, writable).map_err(Attempt::Failed)?;
    let geometry = check_header(&mapping, kind)?;
    let expected = file_len(geometry) as u64;
    if expected != len {
        return Err(Attempt::Failed(RingError::FileLength {
            path: path.to_path_buf(),
            found: len,
            expected,
        }));
    }
    Ok((mapping, geometry))
}

/// Maps the first `len` bytes of an existing, already checked file writable: a broadcast
/// reader's view of the ring's header, where its doorbell is (the slots stay read-only).
pub(crate) fn map_head_writable(path: &Path, len: usize) -> Result<Mapping, RingError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_error(path, "open"))?;
    // SAFETY: as in `map_existing`; the caller checked the file is at least `len` bytes, and
    // this process writes only the doorbell's atomics through the mapping.
    let map = unsafe { MmapOptions::new().len(len).map_mut(&file) };
    map.map(|m| Mapping::from_mut(m, path))
        .map_err(io_error(path, "map"))
}

fn map_existing(file: &File, path: &Path, writable: bool) -> Result<Mapping, RingError> {
    // SAFETY: ring files are shared with other processes by design; this process touches
    // them only through atomics and the ring protocols. A file shortened after this check
    // would fault, but only processes of the same user (mode 0600) can do that.
    let mapping = unsafe {
        if writable {
            MmapOptions::new()
                .populate()
                .map_mut(file)
                .map(|m| Mapping::from_mut(m, path))
        } else {
            MmapOptions::new()
                .map(file)
                .map(|m| Mapping::from_ro(m, path))
        }
    };
    mapping.map_err(io_error(path, "map"))
}

/// Checks magic, version, kind and geometry; version 0 means "not yet initialised".
fn check_header(mapping: &Mapping, kind: FileKind) -> Result<Geometry, Attempt> {
    let header = mapping.header();
    let path = mapping.path().to_path_buf();
    let version = header.version.load(Ordering::Acquire);
    if version == 0 {
        return Err(Attempt::NotYet("header not initialised (version 0)"));
    }
    let magic = header.magic.load(Ordering::Relaxed);
    if magic != MAGIC {
        let expected = MAGIC;
        return Err(Attempt::Failed(RingError::BadMagic {
            path,
            found: magic,
            expected,
        }));
    }
    if version != LAYOUT_VERSION {
        let expected = LAYOUT_VERSION;
        return Err(Attempt::Failed(RingError::BadVersion {
            path,
            found: version,
            expected,
        }));
    }
    let found_kind = header.kind.load(Ordering::Relaxed);
    if found_kind != kind as u32 {
        let expected = kind as u32;
        return Err(Attempt::Failed(RingError::WrongKind {
            path,
            found: found_kind,
            expected,
        }));
    }
    let record_size = header.record_size.load(Ordering::Relaxed);
    let capacity = header.capacity.load(Ordering::Relaxed);
    check_geometry(path, kind, record_size, capacity).map_err(Attempt::Failed)
}

fn check_geometry(
    path: PathBuf,
    kind: FileKind,
    record_size: u64,
    capacity: u64,
) -> Result<Geometry, RingError> {
    let geometry = Geometry {
        kind,
        record_size: record_size as usize,
        capacity: capacity as usize,
    };
    if kind == FileKind::Control {
        if record_size != EDGE_SLOT_SIZE as u64 {
            let expected = EDGE_SLOT_SIZE as u64;
            return Err(RingError::RecordSize {
                path,
                found: record_size,
                expected,
            });
        }
        if capacity == 0 || capacity > u16::MAX as u64 {
            let expected = capacity.clamp(1, u16::MAX as u64);
            return Err(RingError::Capacity {
                path,
                found: capacity,
                expected,
            });
        }
        return Ok(geometry);
    }
    if check_ring_config(record_size as usize, capacity as usize).is_err() {
        if !capacity.is_power_of_two() {
            let expected = capacity.next_power_of_two();
            return Err(RingError::Capacity {
                path,
                found: capacity,
                expected,
            });
        }
        let expected = record_size.next_multiple_of(64).max(64);
        return Err(RingError::RecordSize {
            path,
            found: record_size,
            expected,
        });
    }
    Ok(geometry)
}
