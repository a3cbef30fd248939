//! Where a run's events come from, and the one pump every front-end reads them through.
//!
//! A [`Source`] is a stream of [`Event`]s and a way to ask things of whoever produces them:
//! a trainer in this process ([`live`], the trainer's handle), a run folder read back
//! ([`replay`], for `digitdash watch`), or nothing at all ([`idle`], for a sweep with no
//! trial started). Front-ends and commands never read a channel themselves: they call
//! [`drive`] (blocking, for headless and `presets`) or pull with a [`Pump`] once a frame (the
//! dashboard). Both turn a stop request into one
//! [`Command::Stop`], notice the end of the run (its summary, its failure, a producer that
//! went away) and judge it as an [`Outcome`].

pub mod idle;
pub mod live;
pub mod replay;

use std::time::Duration;

use flume::RecvTimeoutError;

use crate::signals::Signal;
use crate::train::{Command, Event, Outcome, Summary};

pub use idle::Idle;
pub use replay::{Replay, ReplayOptions};

/// A stream of run events and a way to ask things of whoever produces them.
pub trait Source {
    /// The events, in order; the channel disconnects once the producer has ended.
    fn events(&self) -> &flume::Receiver<Event>;
    /// Passes a command on; a source that cannot act on it drops it.
    fn send(&self, command: Command);
    /// Waits for the producer to end (after it has sent its last event).
    fn join(self);
}

/// How a stream of events ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// The run's summary.
    Finished(Summary),
    /// Training could not go on, with this message.
    Failed(String),
    /// A stop came before training began, with this message.
    StoppedBeforeTraining(String),
    /// The producer went away without an end: after a stop was asked for (a replay stops
    /// when told), or unexpectedly.
    Vanished {
        /// Whether a stop had been asked for.
        after_stop: bool,
    },
}

impl End {
    /// The end of a stream, if `event` is one.
    pub fn of(event: &Event) -> Option<End> {
        match event {
            Event::Finished(summary) => Some(End::Finished(summary.clone())),
            Event::Failed(message) => Some(End::Failed(message.clone())),
            Event::StoppedBeforeTraining(message) => {
                Some(End::StoppedBeforeTraining(message.clone()))
            }
            _ => None,
        }
    }

    /// How the run counts: `stop_cause` is the termination signal that asked it to stop, if
    /// any, `fail_under` the accuracy bar, if any.
    pub fn outcome(self, stop_cause: Option<Signal>, fail_under: Option<f64>) -> Outcome {
        match self {
            End::Finished(summary) => Outcome::judge(summary, stop_cause, fail_under),
            End::Failed(message) => Outcome::Failed(message),
            End::StoppedBeforeTraining(message) => Outcome::StoppedBeforeTraining {
                signal: stop_cause,
                message,
            },
            End::Vanished { after_stop: true } => Outcome::Detached { signal: stop_cause },
            End::Vanished { after_stop: false } => {
                Outcome::Failed("the trainer ended without a summary".into())
            }
        }
    }
}

/// Reads a source's events and keeps track of the stop asked for and of the end: the last
/// end event seen (a watched run resumed after it finished ends twice), or, when the source
/// goes away without one, [`End::Vanished`].
#[derive(Debug, Default)]
pub struct Pump {
    stop_sent: bool,
    end: Option<End>,
    closed: bool,
}

impl Pump {
    /// Tells the source to stop, the first time only. Returns whether it was sent now.
    pub fn stop(&mut self, source: &impl Source) -> bool {
        if self.stop_sent {
            return false;
        }
        self.stop_sent = true;
        source.send(Command::Stop);
        true
    }

    /// Whether a stop was sent.
    pub fn stop_sent(&self) -> bool {
        self.stop_sent
    }

    /// Waits up to `wait` for an event, then hands it and every other event waiting to
    /// `on_event`, in order, noting each end event; notices when the source has gone.
    /// Returns how many events there were.
    pub fn pull(
        &mut self,
        source: &impl Source,
        wait: Duration,
        on_event: &mut impl FnMut(Event),
    ) -> usize {
        let events = source.events();
        let first = match events.recv_timeout(wait) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => return 0,
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                self.end.get_or_insert(End::Vanished {
                    after_stop: self.stop_sent,
                });
                return 0;
            }
        };
        let mut count = 0;
        for event in std::iter::once(first).chain(events.try_iter()) {
            count += 1;
            if let Some(end) = End::of(&event) {
                self.end = Some(end);
            }
            on_event(event);
        }
        count
    }

    /// How the stream ended, as far as it has: the last end event seen, or
    /// [`End::Vanished`] once the source has gone without one.
    pub fn end(&self) -> Option<&End> {
        self.end.as_ref()
    }

    /// Whether the source has gone (its producer ended after its last event).
    pub fn closed(&self) -> bool {
        self.closed
    }
}

/// What a blocking [`drive`] asks of its caller.
pub trait Driver {
    /// Whether the run should be told to stop now (asked before every wait until it says
    /// yes; the stop is sent once). A driver notes why, for people, when it first says yes.
    fn should_stop(&mut self) -> bool;
    /// The termination signal the run counts as stopped by, if any.
    fn stop_cause(&self) -> Option<Signal>;
    /// Takes one event, the last one included.
    fn on_event(&mut self, event: Event);
}

/// How often [`drive`] checks for a stop while no event comes.
pub const DRIVE_POLL: Duration = Duration::from_millis(100);

/// Reads `source` until its producer has ended, handing every event to `driver`, and judges
/// the run by its last end against `fail_under` (an accuracy bar, if any).
pub fn drive(source: impl Source, driver: &mut impl Driver, fail_under: Option<f64>) -> Outcome {
    let mut pump = Pump::default();
    while !pump.closed() {
        if !pump.stop_sent() && driver.should_stop() {
            pump.stop(&source);
        }
        pump.pull(&source, DRIVE_POLL, &mut |event| driver.on_event(event));
    }
    source.join();
    let end = pump
        .end()
        .cloned()
        .unwrap_or(End::Vanished { after_stop: false });
    end.outcome(driver.stop_cause(), fail_under)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Events queued up front; records the commands it is sent.
    struct Script {
        events: flume::Receiver<Event>,
        sent: RefCell<Vec<Command>>,
    }

    impl Script {
        /// A source of `events` whose producer has ended after sending them.
        fn new(events: Vec<Event>) -> Self {
            let (tx, rx) = flume::unbounded();
            for event in events {
                tx.send(event).unwrap();
            }
            Self {
                events: rx,
                sent: RefCell::default(),
            }
        }
    }

    impl Source for &Script {
        fn events(&self) -> &flume::Receiver<Event> {
            &self.events
        }
        fn send(&self, command: Command) {
            self.sent.borrow_mut().push(command);
        }
        fn join(self) {}
    }

    #[derive(Default)]
    struct Recorder {
        stop_after: Option<usize>,
        seen: Vec<String>,
    }

    impl Driver for Recorder {
        fn should_stop(&mut self) -> bool {
            self.stop_after.is_some_and(|n| self.seen.len() >= n)
        }
        fn stop_cause(&self) -> Option<Signal> {
            self.stop_after.map(|_| Signal::INTERRUPT)
        }
        fn on_event(&mut self, event: Event) {
            self.seen
                .push(format!("{event:?}").chars().take(12).collect());
        }
    }

    fn summary(steps: u64, accuracy: f64) -> Summary {
        Summary {
            steps,
            test_accuracy: accuracy,
            ..Default::default()
        }
    }

    #[test]
    fn the_summary_ends_the_stream_and_is_judged_against_the_bar() {
        let events = vec![
            Event::Preparing("x".into()),
            Event::Failed("an earlier process".into()),
            Event::Finished(summary(3, 0.5)),
        ];
        let script = Script::new(events);
        let mut recorder = Recorder::default();
        let outcome = drive(&script, &mut recorder, Some(0.9));
        assert_eq!(outcome.exit_status(), 3, "the last end counts");
        assert_eq!(recorder.seen.len(), 3);
        assert!(script.sent.borrow().is_empty());
    }

    #[test]
    fn a_stop_is_sent_once_and_a_vanished_producer_is_a_failure_unless_stopped() {
        let script = Script::new(vec![
            Event::Preparing("x".into()),
            Event::Finished(summary(1, 1.0)),
        ]);
        let mut recorder = Recorder {
            stop_after: Some(0),
            ..Default::default()
        };
        let outcome = drive(&script, &mut recorder, None);
        assert_eq!(*script.sent.borrow(), [Command::Stop]);
        assert_eq!(outcome.exit_status(), 130, "{outcome:?}");

        let script = Script::new(vec![Event::Preparing("x".into())]);
        let outcome = drive(&script, &mut Recorder::default(), None);
        assert_eq!(
            outcome,
            Outcome::Failed("the trainer ended without a summary".into())
        );

        let script = Script::new(Vec::new());
        let mut stopping = Recorder {
            stop_after: Some(0),
            ..Default::default()
        };
        let outcome = drive(&script, &mut stopping, None);
        assert_eq!(
            outcome,
            Outcome::Detached {
                signal: Some(Signal::INTERRUPT)
            }
        );
        assert_eq!(outcome.exit_status(), 130);
    }

    #[test]
    fn failures_end_the_stream_with_their_message() {
        let script = Script::new(vec![Event::Failed("disk full".into())]);
        let outcome = drive(&script, &mut Recorder::default(), None);
        assert_eq!(outcome, Outcome::Failed("disk full".into()));
        let script = Script::new(vec![Event::StoppedBeforeTraining("stopped".into())]);
        let outcome = drive(&script, &mut Recorder::default(), None);
        assert_eq!(outcome.exit_status(), 0);
    }
}
