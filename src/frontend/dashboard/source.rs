//! Where the dashboard's events come from and where its commands go: a trainer running in
//! this process, or a run another process writes (`digitdash watch`).

use flume::Receiver;

use crate::train::{Command, Event, TrainerHandle};

/// A stream of run events and a way to ask things of whoever produces them.
pub trait Source {
    /// The events, in order.
    fn events(&self) -> &Receiver<Event>;
    /// Passes a command on; a source that cannot act on it drops it.
    fn send(&self, command: Command);
    /// Waits for the producer to end (after it has sent its last event).
    fn join(self);
}

impl Source for TrainerHandle {
    fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    fn send(&self, command: Command) {
        TrainerHandle::send(self, command);
    }

    fn join(self) {
        TrainerHandle::join(self);
    }
}
