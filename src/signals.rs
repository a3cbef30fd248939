//! Termination signals (SIGINT, SIGTERM, SIGHUP): the first asks for a graceful stop, a second
//! quits at once.
//!
//! The handlers only touch atomics, and at most call `_exit`, so they are async-signal-safe;
//! everything else happens on the threads that poll [`Signals`]:
//!
//! - The first signal is recorded ([`Signals::first`]); the front-end tells the trainer to
//!   stop after the current step.
//! - A second signal exits at once with `128 + signal`, from inside the handler, unless a
//!   front-end holds the terminal ([`Signals::defer_second`]): then it is recorded
//!   ([`Signals::second`]) and the dashboard's thread, which checks every frame, gives the
//!   terminal back (cooked mode, main screen, cursor) before it exits.
//! - A third signal exits at once even then, in case that thread cannot run.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The signals that stop a run.
pub const TERMINATION: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// What a signal handler does after recording a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Nothing more: a polling thread acts on it.
    Record,
    /// Exit the process now with this status.
    Exit(i32),
}

/// The termination signals received so far, shared by the handlers and the front-ends.
#[derive(Debug, Default)]
pub struct Signals {
    /// How many termination signals arrived.
    count: AtomicUsize,
    /// The number of the first (0 until then).
    first: AtomicUsize,
    /// The number of the second (0 until then).
    second: AtomicUsize,
    /// Whether a second signal is left to the thread that holds the terminal.
    deferred: AtomicBool,
}

impl Signals {
    /// The number of the first termination signal received, if any: a request to stop
    /// gracefully.
    pub fn first(&self) -> Option<usize> {
        nonzero(self.first.load(Ordering::SeqCst))
    }

    /// The number of a second termination signal that was left to the front-end (see
    /// [`Signals::defer_second`]): a request to quit at once.
    pub fn second(&self) -> Option<usize> {
        nonzero(self.second.load(Ordering::SeqCst))
    }

    /// While `deferred` is true a second signal does not exit the process from its handler;
    /// it is recorded for the thread that holds the terminal, which restores the terminal
    /// and then quits. Set it before taking the terminal over; after giving it back, clear it
    /// and then check [`Signals::second`] (a signal that came meanwhile is recorded there).
    pub fn defer_second(&self, deferred: bool) {
        self.deferred.store(deferred, Ordering::SeqCst);
    }

    /// Records signal `signal` and says what the handler must do. Only atomics: safe to call
    /// from a signal handler.
    pub fn on_signal(&self, signal: i32) -> Reaction {
        let number = usize::try_from(signal).unwrap_or(0);
        let before = self.count.fetch_add(1, Ordering::SeqCst);
        match before {
            0 => {
                self.first.store(number, Ordering::SeqCst);
                Reaction::Record
            }
            1 => {
                self.second.store(number, Ordering::SeqCst);
                if self.deferred.load(Ordering::SeqCst) {
                    Reaction::Record
                } else {
                    Reaction::Exit(128 + signal)
                }
            }
            _ => Reaction::Exit(128 + signal),
        }
    }
}

fn nonzero(value: usize) -> Option<usize> {
    (value != 0).then_some(value)
}

/// Installs the handlers for SIGINT, SIGTERM and SIGHUP and returns the state they share.
pub fn install() -> std::io::Result<Arc<Signals>> {
    let signals = Arc::new(Signals::default());
    for signal in TERMINATION {
        let shared = Arc::clone(&signals);
        let action = move || {
            if let Reaction::Exit(status) = shared.on_signal(signal) {
                signal_hook::low_level::exit(status);
            }
        };
        // SAFETY: the action is async-signal-safe: it only reads and writes atomics through
        // an `Arc` that it owns (no allocation, no lock), and may call `_exit`, which POSIX
        // lists as async-signal-safe.
        unsafe { signal_hook::low_level::register(signal, action) }?;
    }
    Ok(signals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_only_asks_to_stop() {
        let signals = Signals::default();
        assert_eq!(signals.first(), None);
        assert_eq!(signals.on_signal(SIGINT), Reaction::Record);
        assert_eq!(signals.first(), Some(SIGINT as usize));
        assert_eq!(signals.second(), None);
    }

    #[test]
    fn a_second_signal_exits_at_once_unless_deferred() {
        let signals = Signals::default();
        signals.on_signal(SIGINT);
        assert_eq!(signals.on_signal(SIGTERM), Reaction::Exit(128 + SIGTERM));
    }

    #[test]
    fn a_deferred_second_signal_is_left_to_the_front_end_and_a_third_exits() {
        let signals = Signals::default();
        signals.defer_second(true);
        assert_eq!(signals.on_signal(SIGTERM), Reaction::Record);
        assert_eq!(signals.on_signal(SIGHUP), Reaction::Record);
        assert_eq!(signals.first(), Some(SIGTERM as usize));
        assert_eq!(signals.second(), Some(SIGHUP as usize));
        assert_eq!(signals.on_signal(SIGINT), Reaction::Exit(128 + SIGINT));
    }
}
