//! The operator's door to the engine: one command through an input ring of its own, claimed
//! in the run directory as an edge claims one, and its events read back from the output ring.
//!
//! `pinwheel admin` uses it. The command goes through the same path as every edge's (the
//! engine stamps, journals and applies it), so an operator control is journaled and replayed
//! like any other command. It carries user 0, the operator (see `pinwheel_engine::admin`):
//! only a process that may open the run directory (mode 0700) can send it.

use std::time::{Duration, Instant};

use anyhow::Context;
use pinwheel_engine::admin::OPERATOR;
use pinwheel_engine::message::{Command, Event, EventKind, RECORD_SIZE};
use pinwheel_ring::WaitStrategy;

use crate::link::{DurableSource, InputSink, OutputSource};
use crate::ring_io::{JournalDurable, RingInput, RingOutput};

/// How the operator reaches the engine.
#[derive(Clone, Debug)]
pub struct OperatorLink {
    /// The engine's run directory.
    pub run_dir: std::path::PathBuf,
    /// How to idle while waiting for the answer.
    pub wait: WaitStrategy,
    /// Wait until the command is durable before answering (sync durability).
    pub sync: bool,
    /// Bound of the whole exchange (attach, answer, durability).
    pub timeout: Duration,
}

/// The request id of the operator's one command on its ring.
const REQUEST_ID: u64 = 1;

impl OperatorLink {
    /// Sends `command` as the operator and returns its events, up to and including `Done`.
    pub fn request(&self, mut command: Command) -> anyhow::Result<Vec<Event>> {
        let deadline = Instant::now() + self.timeout;
        // The output first: nothing the engine answers can fall before this reader's start.
        let mut output = RingOutput::attach(&self.run_dir, self.wait)?;
        let mut input = RingInput::attach(&self.run_dir, self.timeout, Duration::from_secs(2))?;
        anyhow::ensure!(
            input.engine_alive(),
            "the engine of {} is not running",
            self.run_dir.display()
        );
        command.head.user_id = OPERATOR;
        command.head.edge_id = input.edge_id();
        command.head.request_id = REQUEST_ID;
        anyhow::ensure!(
            input.try_push(command.as_bytes()),
            "the engine's input ring is full; retry shortly"
        );
        let events = self.answer(&mut output, input.edge_id(), deadline)?;
        if self.sync {
            let sequence = events.last().map_or(0, |done| done.head.sequence);
            self.wait_durable(sequence, deadline)?;
        }
        Ok(events)
    }

    fn answer(
        &self,
        output: &mut RingOutput,
        edge_id: u16,
        deadline: Instant,
    ) -> anyhow::Result<Vec<Event>> {
        let mut events = Vec::new();
        let mut buffer = [0u8; RECORD_SIZE];
        while Instant::now() < deadline {
            let read = output
                .try_next(&mut buffer)
                .map_err(|_| anyhow::anyhow!("fell a whole output ring behind the engine"))?;
            if read.is_none() {
                output.idle();
                continue;
            }
            output.reset_idle();
            let event = Event::from_bytes(&buffer);
            if event.head.edge_id != edge_id || event.head.request_id != REQUEST_ID {
                continue;
            }
            events.push(event);
            if event.head.kind == EventKind::Done as u8 {
                return Ok(events);
            }
        }
        anyhow::bail!("the engine did not answer within {:?}", self.timeout)
    }

    fn wait_durable(&self, sequence: u64, deadline: Instant) -> anyhow::Result<()> {
        let cursor = pinwheel_journal::DurableCursor::open(&self.run_dir)
            .context("opening the journal's durable cursor")?;
        let mut durable = JournalDurable::new(cursor, self.wait);
        while durable.durable() < sequence {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the command was applied but is not durable after {:?}",
                self.timeout
            );
            durable.idle_until(sequence);
        }
        Ok(())
    }
}
