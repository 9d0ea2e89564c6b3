//! Input rings: one single-producer ring per edge, and the engine's hub that
//! drains them all. A dead or stalled edge only ever fills its own ring.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::clock::{heartbeat_fresh, monotonic_ns, pid_alive};
use crate::control::{owner, pid_of, state_of, Control, ATTACHED, CLAIMING, DEAD, DETACHED, FREE};
use crate::layout::{check_ring_config, FileKind, Geometry};
use crate::mapping::{create_or_open, open_existing};
use crate::run_dir::{control_path, ensure_run_dir, input_path};
use crate::slots::RingView;
use crate::spsc::{Consumer, Producer};
use crate::{RingError, RingFull};

/// How long the engine waits for a file another process is initialising.
const ADOPT_WAIT: Duration = Duration::from_secs(2);
/// How often an attaching edge retries when every slot is taken.
const CLAIM_POLL: Duration = Duration::from_millis(1);

/// Geometry of the input side, fixed when the engine creates the run directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputConfig {
    /// Edge slots (and input ring files).
    pub max_edges: u16,
    /// Records per input ring, a power of two.
    pub capacity: usize,
    /// Bytes per record, a multiple of 64.
    pub record_size: usize,
    /// An edge whose heartbeat is older than this is reclaimed.
    pub heartbeat_timeout: Duration,
}

impl Default for InputConfig {
    fn default() -> Self {
        Self {
            max_edges: 16,
            capacity: 4096,
            record_size: 128,
            heartbeat_timeout: Duration::from_secs(2),
        }
    }
}

/// What `InputHub::maintain` noticed about an edge slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeChange {
    /// An edge attached to this slot.
    Attached(u16),
    /// The edge detached cleanly; its records were all drained; the slot is free.
    Detached(u16),
    /// The edge died (pid gone or heartbeat stale); its finished records were
    /// drained and the slot is free.
    Reclaimed(u16),
}

/// The engine's side: drains every edge's ring.
pub struct InputHub {
    config: InputConfig,
    run_dir: PathBuf,
    control: Control,
    rings: Vec<Consumer<RingView>>,
    /// Generation of each slot last reported as `Attached` (0: none).
    reported: Vec<u64>,
    /// Slots that may hold records: attached, or gone but not yet drained.
    active: Vec<u16>,
    is_active: Vec<bool>,
    /// Where the next drain starts, so no edge is always served first.
    start: usize,
    seen_epoch: u64,
}

impl InputHub {
    /// Creates the control file and every input ring under `run_dir`, or adopts
    /// existing ones (engine restart): attached edges stay attached and their
    /// unread records are still delivered. Records lent to `drain`'s callback by a
    /// previous engine that died before the call returned are delivered again.
    pub fn open_or_create(run_dir: &Path, config: InputConfig) -> Result<InputHub, RingError> {
        check_ring_config(config.record_size, config.capacity).map_err(RingError::InvalidConfig)?;
        if config.max_edges == 0 {
            return Err(RingError::InvalidConfig(
                "max_edges must be at least 1".into(),
            ));
        }
        ensure_run_dir(run_dir)?;
        let (control, created) =
            Control::create_or_open(&control_path(run_dir), config.max_edges, ADOPT_WAIT)?;
        let edges = usize::from(config.max_edges);
        let mut rings = Vec::with_capacity(edges);
        for edge in 0..config.max_edges {
            rings.push(open_ring(run_dir, edge, &config)?);
        }
        control.header().take_over();
        tracing::info!(run_dir = %run_dir.display(), created, max_edges = edges, "input hub opened");
        Ok(InputHub {
            config,
            run_dir: run_dir.to_path_buf(),
            control,
            rings,
            reported: vec![0; edges],
            active: Vec::with_capacity(edges),
            is_active: vec![false; edges],
            start: 0,
            seen_epoch: u64::MAX,
        })
    }

    /// The configuration the hub runs with.
    pub fn config(&self) -> &InputConfig {
        &self.config
    }

    /// The run directory.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// Number of edges being drained (attached, or gone with records left).
    pub fn active_edges(&self) -> usize {
        self.active.len()
    }

    /// The doorbell every edge rings after a push: park on it with
    /// [`crate::Waiter::idle_on`] and [`InputHub::has_pending`] as the re-check.
    pub fn doorbell(&self) -> &crate::Doorbell {
        self.control.doorbell()
    }

    /// Whether a drain would find something: a record in an active ring, or an edge that
    /// attached since the last drain (whose ring is not yet in the active list).
    #[inline]
    pub fn has_pending(&self) -> bool {
        self.control.attach_epoch().load(Ordering::Acquire) != self.seen_epoch
            || self
                .active
                .iter()
                .any(|&edge| self.rings[usize::from(edge)].has_pending())
    }

    /// Lends up to `max` records to `f` as `(edge_id, record)`, taking turns
    /// between edges (an equal share each, the first edge rotating per call).
    #[inline]
    pub fn drain(&mut self, max: usize, mut f: impl FnMut(u16, &[u8])) -> usize {
        let epoch = self.control.attach_epoch().load(Ordering::Acquire);
        if epoch != self.seen_epoch {
            self.seen_epoch = epoch;
            self.activate_occupied_slots();
        }
        let edges = self.active.len();
        if edges == 0 || max == 0 {
            return 0;
        }
        let share = (max / edges).max(1);
        let mut total = 0;
        loop {
            let before = total;
            for turn in 0..edges {
                if total == max {
                    break;
                }
                let edge = self.active[(self.start + turn) % edges];
                let budget = share.min(max - total);
                total += self.rings[usize::from(edge)].drain(budget, |record| f(edge, record));
            }
            if total == before || total == max {
                break;
            }
        }
        self.start = (self.start + 1) % edges;
        total
    }

    /// Adds every slot that may hold records to the active list (on an attach epoch change).
    #[cold]
    fn activate_occupied_slots(&mut self) {
        for edge in 0..self.config.max_edges {
            let state = state_of(self.control.slot(edge).owner.load(Ordering::Acquire));
            if matches!(state, ATTACHED | DETACHED | DEAD) {
                self.activate(edge);
            }
        }
    }

    fn activate(&mut self, edge: u16) {
        if !self.is_active[usize::from(edge)] {
            self.is_active[usize::from(edge)] = true;
            self.active.push(edge);
        }
    }

    fn deactivate(&mut self, edge: u16) {
        if std::mem::replace(&mut self.is_active[usize::from(edge)], false) {
            self.active.retain(|&e| e != edge);
            self.start = 0;
        }
    }

    /// Notices attaches, detaches and dead edges (pid gone, heartbeat stale) and
    /// frees the slot of a gone edge once its ring is drained. Makes syscalls:
    /// call it rarely (every millisecond or so), not per poll.
    pub fn maintain(&mut self, mut f: impl FnMut(EdgeChange)) {
        for edge in 0..self.config.max_edges {
            let word = self.control.slot(edge).owner.load(Ordering::Acquire);
            match state_of(word) {
                FREE => {}
                CLAIMING => self.free_abandoned_claim(edge, word),
                ATTACHED => self.check_attached(edge, word, &mut f),
                DETACHED | DEAD => self.free_if_drained(edge, word, &mut f),
                other => tracing::error!(edge, state = other, "unknown edge slot state"),
            }
        }
    }

    fn free_abandoned_claim(&mut self, edge: u16, word: u64) {
        if !pid_alive(pid_of(word)) && self.control.transition(edge, word, owner(FREE, 0)) {
            tracing::warn!(
                edge,
                pid = pid_of(word),
                "edge died while attaching; slot freed"
            );
        }
    }

    fn report_attached(&mut self, edge: u16, f: &mut impl FnMut(EdgeChange)) {
        let generation = self.control.slot(edge).generation.load(Ordering::Acquire);
        if self.reported[usize::from(edge)] != generation {
            self.reported[usize::from(edge)] = generation;
            self.activate(edge);
            f(EdgeChange::Attached(edge));
        }
    }

    fn check_attached(&mut self, edge: u16, word: u64, f: &mut impl FnMut(EdgeChange)) {
        self.report_attached(edge, f);
        let pid = pid_of(word);
        let beat = self.control.slot(edge).heartbeat_ns.load(Ordering::Acquire);
        let timeout = self.config.heartbeat_timeout.as_nanos() as u64;
        let alive = pid_alive(pid) && heartbeat_fresh(beat, timeout);
        if alive || !self.control.transition(edge, word, owner(DEAD, pid)) {
            return;
        }
        let age_ms = monotonic_ns().saturating_sub(beat) / 1_000_000;
        tracing::warn!(
            edge,
            pid,
            heartbeat_age_ms = age_ms,
            "edge is dead; draining and reclaiming its ring"
        );
        self.free_if_drained(edge, owner(DEAD, pid), f);
    }

    fn free_if_drained(&mut self, edge: u16, word: u64, f: &mut impl FnMut(EdgeChange)) {
        self.report_attached(edge, f);
        if self.rings[usize::from(edge)].has_pending() {
            self.activate(edge);
            return;
        }
        if !self.control.transition(edge, word, owner(FREE, 0)) {
            return;
        }
        self.deactivate(edge);
        let change = if state_of(word) == DEAD {
            EdgeChange::Reclaimed(edge)
        } else {
            EdgeChange::Detached(edge)
        };
        tracing::info!(edge, ?change, "edge slot freed");
        f(change);
    }

    /// Stamps the engine's liveness into the control file (edges check it).
    pub fn heartbeat(&self) {
        self.control.header().beat();
    }
}

fn open_ring(
    run_dir: &Path,
    edge: u16,
    config: &InputConfig,
) -> Result<Consumer<RingView>, RingError> {
    let path = input_path(run_dir, edge);
    let geometry = Geometry {
        kind: FileKind::Input,
        record_size: config.record_size,
        capacity: config.capacity,
    };
    let (mapping, _) = create_or_open(&path, geometry, ADOPT_WAIT)?;
    Consumer::adopt(RingView::new(mapping, geometry)).map_err(|broken| RingError::Corrupt {
        path,
        what: broken.0,
    })
}

/// An edge's side: the only writer of its own input ring. Dropping it detaches.
pub struct InputProducer {
    control: Control,
    edge_id: u16,
    pid: u32,
    generation: u64,
    producer: Producer<RingView>,
}

impl InputProducer {
    /// Claims a free edge slot and opens its ring, waiting up to `timeout` for the
    /// engine to create the run directory or for a slot to become free.
    pub fn attach(run_dir: &Path, timeout: Duration) -> Result<InputProducer, RingError> {
        let deadline = Instant::now() + timeout;
        let control = Control::open(&control_path(run_dir), timeout)?;
        let pid = std::process::id();
        let edge_id = claim_slot(&control, pid, deadline)?;
        let slot = control.slot(edge_id);
        slot.heartbeat_ns.store(monotonic_ns(), Ordering::Release);
        let generation = slot.generation.fetch_add(1, Ordering::AcqRel) + 1;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let producer = match open_producer(run_dir, edge_id, remaining) {
            Ok(producer) => producer,
            Err(error) => {
                control.transition(edge_id, owner(CLAIMING, pid), owner(FREE, 0));
                return Err(error);
            }
        };
        // Release: the engine that sees ATTACHED sees the heartbeat and generation.
        slot.owner.store(owner(ATTACHED, pid), Ordering::Release);
        control.attach_epoch().fetch_add(1, Ordering::AcqRel);
        tracing::info!(edge_id, pid, generation, "edge attached to input ring");
        Ok(InputProducer {
            control,
            edge_id,
            pid,
            generation,
            producer,
        })
    }

    /// This edge's id (its slot in the control file); the engine reports records with it.
    pub fn edge_id(&self) -> u16 {
        self.edge_id
    }

    /// Bytes per record.
    pub fn record_size(&self) -> usize {
        self.producer.memory().record_size()
    }

    /// Whether this producer still owns its slot (the engine reclaims the slot of
    /// an edge whose heartbeat went stale).
    #[inline]
    pub fn is_attached(&self) -> bool {
        let slot = self.control.slot(self.edge_id);
        slot.owner.load(Ordering::Relaxed) == owner(ATTACHED, self.pid)
            && slot.generation.load(Ordering::Relaxed) == self.generation
    }

    /// Appends one record (exactly `record_size` bytes) and wakes the engine if it is parked.
    /// `Err(RingFull)` when the engine has not freed a slot yet, or when this producer was
    /// reclaimed (`is_attached()` tells which).
    #[inline]
    pub fn try_push(&mut self, record: &[u8]) -> Result<(), RingFull> {
        if !self.is_attached() {
            return Err(RingFull);
        }
        self.producer.try_push(record)?;
        self.control.doorbell().ring();
        Ok(())
    }

    /// Appends as many of `records` as fit, in order, and wakes the engine if it is parked;
    /// returns how many.
    #[inline]
    pub fn try_push_batch(&mut self, records: &[&[u8]]) -> usize {
        if !self.is_attached() {
            return 0;
        }
        let pushed = self.producer.try_push_batch(records);
        if pushed > 0 {
            self.control.doorbell().ring();
        }
        pushed
    }

    /// Stamps this edge's liveness (call well within the engine's heartbeat timeout).
    pub fn heartbeat(&self) {
        self.control
            .slot(self.edge_id)
            .heartbeat_ns
            .store(monotonic_ns(), Ordering::Release);
    }

    /// Whether the engine's heartbeat is younger than `max_age` and its process exists.
    pub fn engine_alive(&self, max_age: Duration) -> bool {
        self.control.header().writer_alive(max_age)
    }
}

impl Drop for InputProducer {
    fn drop(&mut self) {
        let slot = self.control.slot(self.edge_id);
        if slot.generation.load(Ordering::Acquire) == self.generation {
            self.control.transition(
                self.edge_id,
                owner(ATTACHED, self.pid),
                owner(DETACHED, self.pid),
            );
        }
        tracing::info!(edge_id = self.edge_id, "edge detached from input ring");
    }
}

fn claim_slot(control: &Control, pid: u32, deadline: Instant) -> Result<u16, RingError> {
    loop {
        if let Some(edge) = control.claim_free_slot(pid) {
            return Ok(edge);
        }
        if Instant::now() >= deadline {
            return Err(RingError::NoFreeSlot {
                path: control.path().to_path_buf(),
                max_edges: control.max_edges(),
            });
        }
        std::thread::sleep(CLAIM_POLL);
    }
}

fn open_producer(
    run_dir: &Path,
    edge: u16,
    wait: Duration,
) -> Result<Producer<RingView>, RingError> {
    let path = input_path(run_dir, edge);
    let (mapping, geometry) = open_existing(&path, FileKind::Input, true, wait)?;
    Producer::attach(RingView::new(mapping, geometry)).map_err(|broken| RingError::Corrupt {
        path,
        what: broken.0,
    })
}
