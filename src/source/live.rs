//! A trainer running in this process as a [`Source`]: its handle's channels.

use flume::Receiver;

use super::Source;
use crate::train::{Command, Event, TrainerHandle};

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
