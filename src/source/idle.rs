//! A source with no run behind it: no event comes and it never ends. The dashboard of a sweep
//! none of whose trials has started yet shows the Sweep page over it.

use flume::{Receiver, Sender};

use super::Source;
use crate::train::{Command, Event};

/// No events, ever; commands are dropped.
pub struct Idle {
    events: Receiver<Event>,
    /// Held so that the channel stays open: an idle source never ends.
    _open: Sender<Event>,
}

impl Idle {
    /// A source that sends nothing.
    pub fn new() -> Self {
        let (open, events) = flume::unbounded();
        Self {
            events,
            _open: open,
        }
    }
}

impl Default for Idle {
    fn default() -> Self {
        Self::new()
    }
}

impl Source for Idle {
    fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    fn send(&self, _command: Command) {}

    fn join(self) {}
}
