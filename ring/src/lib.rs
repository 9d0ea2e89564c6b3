//! pinwheel-ring: shared-memory rings between Pinwheel's edges and its engine.
//!
//! Rings are files in a run directory (see [`default_run_dir`]), mapped by every
//! process that uses them, mode 0600, each with a checked header. They move
//! fixed-size byte records (a multiple of 64 bytes) and know nothing of orders.
//!
//! - Input: every edge owns one single-producer ring ([`InputProducer`]); the
//!   engine drains them all ([`InputHub`]), notices edges that attach, leave or
//!   die, and reclaims a dead edge's ring after delivering its finished records.
//! - Output: one [`BroadcastWriter`] (the engine) that never waits, and any number
//!   of [`BroadcastReader`]s with their own cursors; a lapped reader is told
//!   ([`Lapped`]) and never handed a torn record.
//! - Idle polling follows a [`WaitStrategy`] through a [`Waiter`]; with `park`, an idle
//!   reader sleeps on its ring's [`Doorbell`] (a futex in the shared header) and the writer
//!   wakes it only if it said it is parked.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod atom;
mod broadcast;
mod broadcast_protocol;
mod clock;
mod control;
mod doorbell;
mod error;
mod futex;
mod input;
mod layout;
mod mapping;
mod run_dir;
mod slots;
mod spsc;
mod wait;

#[cfg(all(test, loom))]
mod loom_model;

pub use broadcast::{BroadcastReader, BroadcastWriter};
pub use clock::{monotonic_ns, pid_alive};
pub use doorbell::{Doorbell, Parked, DOORBELL_BYTES};
pub use error::{Lapped, RingError, RingFull};
pub use futex::set_min_timer_slack;
pub use input::{EdgeChange, InputConfig, InputHub, InputProducer};
pub use layout::{LAYOUT_VERSION, MAGIC, RECORD_ALIGN};
pub use mapping::FILE_MODE;
pub use run_dir::{control_path, default_run_dir, ensure_run_dir, input_path, output_path};
pub use wait::{WaitStrategy, Waiter, BACKOFF_MAX_SLEEP, PARK_TIMEOUT};
