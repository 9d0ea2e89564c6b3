//! The link's engine side as interfaces: the input ring it writes, the output ring it reads,
//! and the journal's durable cursor it waits on. `ring_io.rs` implements them over the real
//! shared memory; tests implement them in memory.

/// The input side: this edge's ring into the engine.
pub trait InputSink: Send + 'static {
    /// Copies one record in; `false` when the ring is full.
    fn try_push(&mut self, record: &[u8]) -> bool;
    /// Whether the engine's heartbeat is recent.
    fn engine_alive(&self) -> bool;
    /// Tells the engine this edge is alive.
    fn heartbeat(&mut self);
    /// This edge's id (its input ring); changes only when the sink re-attaches.
    fn edge_id(&self) -> u16;
    /// Whether the engine still counts this edge as attached; if not, attaches anew
    /// (the engine reclaims the ring of an edge whose heartbeat went stale).
    fn ensure_attached(&mut self) -> bool;
}

/// The output reader fell a whole ring behind the engine: events were lost to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderLapped;

/// The output side: the engine's broadcast ring.
pub trait OutputSource: Send + 'static {
    /// The next record into `buffer`: `Ok(None)` if none yet, `Err(ReaderLapped)` if this
    /// reader fell a whole ring behind.
    fn try_next(&mut self, buffer: &mut [u8]) -> Result<Option<u64>, ReaderLapped>;
    /// After a lap: continue from the newest record.
    fn skip_to_latest(&mut self);
    /// Sleeps, spins, yields or parks once while there is nothing to read (the wait strategy).
    fn idle(&mut self);
    /// Back to the cheapest idle step after finding work.
    fn reset_idle(&mut self);
    /// Records published but not yet read by this reader.
    fn lag(&self) -> u64;
}

/// Highest durable engine sequence (sync durability).
pub trait DurableSource: Send + 'static {
    /// The highest sequence known durable.
    fn durable(&self) -> u64;
    /// One bounded idle step while the reader holds events back for `sequence` to become
    /// durable (the journal's cursor parks on its doorbell, which the flusher rings).
    fn idle_until(&mut self, sequence: u64);
    /// Back to the cheapest idle step after the cursor moved.
    fn reset_idle(&mut self);
}
