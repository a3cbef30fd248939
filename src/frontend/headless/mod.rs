//! The headless front-end: prints the trainer's events as lines, text ([`text`]) or JSON
//! records ([`json`]), and judges the run at the end.
//!
//! Progress goes to stdout; notes about setup go to stderr. Nothing here panics on a closed
//! stream. A closed stdout (`digitdash --headless | head -1`) means nobody reads the progress
//! any more: the trainer is told to stop as on Ctrl-C (checkpoint and records written) and
//! the run ends as if by SIGPIPE, status 141. Notes on a closed stderr are dropped.

pub mod json;
pub mod text;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::data::Progress;
use crate::output::{note, StdoutLines};
use crate::signals::{Signal, Signals};
use crate::source::{drive, Driver, Source};
use crate::train::{Event, Outcome};

/// How the reporter prints and judges the run.
#[derive(Debug, Clone, Copy)]
pub struct HeadlessOptions {
    /// One JSON object per line instead of text.
    pub json: bool,
    /// Steps between progress lines.
    pub log_every: u64,
    /// Final test accuracy below which the run counts as failed.
    pub fail_under: Option<f64>,
}

/// Turns the events that reach stdout into lines.
pub trait Printer {
    /// Prints one event (setup notes, download progress and warnings are handled before).
    fn print(&mut self, event: &Event, out: &mut StdoutLines);
}

/// Prints the events of `source` until its run ends. On the first termination signal in
/// `signals`, or when stdout turns out to be closed, the source is told to stop.
pub fn report(source: impl Source, options: HeadlessOptions, signals: Arc<Signals>) -> Outcome {
    let printer: Box<dyn Printer> = if options.json {
        Box::new(json::JsonPrinter)
    } else {
        Box::new(text::TextPrinter)
    };
    let mut reporter = Reporter {
        printer,
        out: StdoutLines::default(),
        downloads: DownloadNotes::default(),
        log_every: options.log_every.max(1),
        signals,
    };
    drive(source, &mut reporter, options.fail_under)
}

/// What [`report`] keeps while it prints.
struct Reporter {
    printer: Box<dyn Printer>,
    out: StdoutLines,
    downloads: DownloadNotes,
    log_every: u64,
    signals: Arc<Signals>,
}

impl Driver for Reporter {
    fn should_stop(&mut self) -> bool {
        if let Some(signal) = self.signals.first() {
            note(format!(
                "signal {signal} received: stopping after the current step, or now if the \
                 data is still downloading (press Ctrl-C again to quit at once)"
            ));
            return true;
        }
        if self.out.is_closed() {
            note("stdout was closed: stopping after the current step");
            return true;
        }
        false
    }

    /// A signal wins over a closed stdout, which counts as SIGPIPE.
    fn stop_cause(&self) -> Option<Signal> {
        self.signals
            .first()
            .or(self.out.is_closed().then_some(Signal::PIPE))
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Preparing(text) => note(text),
            Event::Download(progress) => self.downloads.note(&progress),
            Event::RecordError(message) => note(format!("warning: {message}")),
            Event::Step(step) if !step.step.is_multiple_of(self.log_every) => {}
            // A batch of steps counts as its steps, one by one.
            Event::Steps(steps) => steps
                .into_iter()
                .for_each(|step| self.on_event(Event::Step(step))),
            Event::Failed(_) | Event::StoppedBeforeTraining(_) => {}
            event => self.printer.print(&event, &mut self.out),
        }
    }
}

/// Download progress on stderr, at most one line a second per file and the last one.
#[derive(Debug, Default)]
struct DownloadNotes {
    last: Option<Instant>,
}

impl DownloadNotes {
    fn note(&mut self, p: &Progress) {
        let due = self
            .last
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !(p.done || due) {
            return;
        }
        self.last = Some(Instant::now());
        let mb = |b: u64| b as f64 / 1e6;
        let total = p
            .total
            .map_or(String::new(), |t| format!(" / {:.1}", mb(t)));
        let state = if p.done { "verified" } else { "downloading" };
        note(format!(
            "{state} {}: {:.1}{total} MB from {}",
            p.file,
            mb(p.bytes),
            p.mirror
        ));
    }
}
