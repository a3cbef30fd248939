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

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The signals that stop a run.
pub const TERMINATION: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// A termination signal by its number; a run it stops exits with 128 + that number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal(pub i32);

impl Signal {
    /// SIGINT (Ctrl-C).
    pub const INTERRUPT: Signal = Signal(SIGINT);
    /// SIGTERM.
    pub const TERMINATE: Signal = Signal(SIGTERM);
    /// SIGHUP; a terminal that went away counts as this.
    pub const HANGUP: Signal = Signal(SIGHUP);
    /// SIGPIPE; a closed stdout counts as this (exit status 141).
    pub const PIPE: Signal = Signal(signal_hook::consts::SIGPIPE);

    /// The exit status of a run this signal stopped: 128 + its number.
    pub fn exit_status(self) -> u8 {
        u8::try_from(128 + self.0).unwrap_or(1)
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

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
    first: AtomicI32,
    /// The number of the second (0 until then).
    second: AtomicI32,
    /// Whether a second signal is left to the thread that holds the terminal.
    deferred: AtomicBool,
}

impl Signals {
    /// The first termination signal received, if any: a request to stop gracefully.
    pub fn first(&self) -> Option<Signal> {
        received(&self.first)
    }

    /// A second termination signal that was left to the front-end (see
    /// [`Signals::defer_second`]): a request to quit at once.
    pub fn second(&self) -> Option<Signal> {
        received(&self.second)
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
        let before = self.count.fetch_add(1, Ordering::SeqCst);
        match before {
            0 => {
                self.first.store(signal, Ordering::SeqCst);
                Reaction::Record
            }
            1 => {
                self.second.store(signal, Ordering::SeqCst);
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

/// The signal recorded in `slot`, if any (0: none yet).
fn received(slot: &AtomicI32) -> Option<Signal> {
    let number = slot.load(Ordering::SeqCst);
    (number != 0).then_some(Signal(number))
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
        assert_eq!(signals.first(), Some(Signal::INTERRUPT));
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
        assert_eq!(signals.first(), Some(Signal::TERMINATE));
        assert_eq!(signals.second(), Some(Signal::HANGUP));
        assert_eq!(signals.on_signal(SIGINT), Reaction::Exit(128 + SIGINT));
    }
}
