//! Where the engine writes its events, and the per-command event writer.

use bytemuck::Pod;

use crate::message::{Event, EventKind, Head};

/// Receives every event the engine emits, in order.
pub trait EventSink {
    /// Takes one event (copy it out; the reference is only valid during the call).
    fn emit(&mut self, event: &Event);

    /// True if this sink drops every event unseen (replay into a state only): the engine
    /// then does not build them. Asked once per command.
    fn discards(&self) -> bool {
        false
    }
}

impl EventSink for Vec<Event> {
    fn emit(&mut self, event: &Event) {
        self.push(*event);
    }
}

/// Both sinks get every event, the first one first (a test pipeline keeps the events it also
/// publishes).
impl<A: EventSink, B: EventSink> EventSink for (A, B) {
    #[inline]
    fn emit(&mut self, event: &Event) {
        self.0.emit(event);
        self.1.emit(event);
    }

    fn discards(&self) -> bool {
        self.0.discards() && self.1.discards()
    }
}

impl<S: EventSink + ?Sized> EventSink for &mut S {
    #[inline]
    fn emit(&mut self, event: &Event) {
        (**self).emit(event);
    }

    fn discards(&self) -> bool {
        (**self).discards()
    }
}

/// Writes the events of one command: every event carries the command's routing, sequence
/// and time, plus the user it concerns; it counts them for the closing `Done`.
pub(crate) struct Out<'a> {
    sink: &'a mut dyn EventSink,
    discard: bool,
    head: Head,
    pub(crate) count: u32,
}

impl<'a> Out<'a> {
    pub(crate) fn new(sink: &'a mut dyn EventSink, command_head: &Head) -> Self {
        let head = Head {
            kind: 0,
            flags: 0,
            edge_id: command_head.edge_id,
            reserved: 0,
            request_id: command_head.request_id,
            user_id: 0,
            sequence: command_head.sequence,
            timestamp_ns: command_head.timestamp_ns,
        };
        Self {
            discard: sink.discards(),
            sink,
            head,
            count: 0,
        }
    }

    /// Emits one event of `kind` for `user_id` with `flags` in its head.
    pub(crate) fn emit<B: Pod>(&mut self, kind: EventKind, user_id: u64, flags: u8, body: &B) {
        self.count += 1;
        if self.discard {
            return;
        }
        let mut event = Event::new(kind as u8, body);
        event.head = Head {
            kind: kind as u8,
            flags,
            user_id,
            ..self.head
        };
        self.sink.emit(&event);
    }
}
