//! What stops a sweep's trials before their budgets: a termination signal, or the person who
//! quit the sweep's dashboard. Either way each running trial stops after its current step
//! with a checkpoint, and `sweep --resume` goes on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::signals::{Signal, Signals};

/// A sweep's stop request, shared by its trials' threads.
#[derive(Debug)]
pub struct SweepStop {
    signals: Arc<Signals>,
    quit: AtomicBool,
}

impl SweepStop {
    /// A stop that `signals` raise, or [`SweepStop::quit`].
    pub fn new(signals: Arc<Signals>) -> Arc<Self> {
        Arc::new(Self {
            signals,
            quit: AtomicBool::new(false),
        })
    }

    /// Asks the trials to stop, as quitting the dashboard does.
    pub fn quit(&self) {
        self.quit.store(true, Ordering::SeqCst);
    }

    /// Whether the trials are to stop.
    pub fn asked(&self) -> bool {
        self.signal().is_some() || self.quit.load(Ordering::SeqCst)
    }

    /// The termination signal that asked, if one did.
    pub fn signal(&self) -> Option<Signal> {
        self.signals.first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quit_or_a_signal_asks_and_only_a_signal_is_named() {
        let stop = SweepStop::new(Arc::new(Signals::default()));
        assert!(!stop.asked());
        stop.quit();
        assert!(stop.asked());
        assert_eq!(stop.signal(), None);

        let signals = Arc::new(Signals::default());
        let stop = SweepStop::new(Arc::clone(&signals));
        signals.on_signal(Signal::INTERRUPT.0);
        assert!(stop.asked());
        assert_eq!(stop.signal(), Some(Signal::INTERRUPT));
    }
}
