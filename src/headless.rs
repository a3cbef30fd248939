//! The plain-text (or JSON-lines) reporter: a consumer of the trainer's events, nothing more.
//!
//! Progress goes to stdout in the tutorial's words (`step 100, training accuracy 0.60, loss
//! 1.2847` ... `test accuracy 0.9919`); notes about setup go to stderr. The training accuracy
//! and loss are those of the step's own forward pass, dropout included.
//!
//! Nothing here panics on a closed stream. A closed stdout (`digitdash --headless | head -1`)
//! means nobody reads the progress any more: the trainer is told to stop as on Ctrl-C
//! (checkpoint and records written) and the run ends as if by SIGPIPE, status 141. Notes on a
//! closed stderr are dropped.

use std::fmt::Display;
use std::io::{ErrorKind, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::data::Progress;
use crate::signals::Signals;
use crate::train::{Command, Event, StepStats, Summary, TrainerHandle};

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

/// How a headless run ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// All steps done (and the accuracy bar, if any, met).
    Completed(Summary),
    /// Stopped by a signal (or by a closed stdout, counted as [`SIGPIPE`]); the summary of
    /// what was done.
    Interrupted {
        /// The signal number; the exit status is 128 + it.
        signal: usize,
        /// What was done before stopping.
        summary: Summary,
    },
    /// Finished below `--fail-under`.
    BelowThreshold {
        /// What was reached.
        summary: Summary,
        /// The bar.
        threshold: f64,
    },
    /// Training ended but its final checkpoint could not be written.
    Unsaved {
        /// What was done.
        summary: Summary,
        /// Why it could not be saved.
        reason: String,
    },
    /// The trainer failed with this message.
    Failed(String),
    /// A stop came while the data downloaded, before any step: nothing was trained.
    StoppedBeforeTraining {
        /// The signal that asked for the stop (0: the user quit the dashboard); the exit
        /// status is 128 + it, or 0 without a signal.
        signal: usize,
        /// What the trainer said.
        message: String,
    },
}

/// The signal number a closed stdout counts as: the run ends with status 128 + 13 = 141, as
/// a program killed by SIGPIPE would.
pub const SIGPIPE: usize = 13;

/// Writes `text` and a newline to stderr, ignoring errors: a closed or broken stderr (e.g.
/// `2>&1 | head -1`) must neither panic nor end the run.
pub fn note(text: impl Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Prints the trainer's events until it finishes. On the first termination signal in
/// `signals`, or when stdout turns out to be closed, the trainer is told to stop.
pub fn report(handle: TrainerHandle, options: HeadlessOptions, signals: Arc<Signals>) -> Outcome {
    let mut printer = Printer::new(options);
    let mut stop_sent = false;
    let outcome = loop {
        if !stop_sent {
            if let Some(signal) = signals.first() {
                stop_sent = true;
                note(format!(
                    "signal {signal} received: stopping after the current step, or now if the \
                     data is still downloading (press Ctrl-C again to quit at once)"
                ));
                handle.send(Command::Stop);
            } else if printer.stdout_closed {
                stop_sent = true;
                note("stdout was closed: stopping after the current step");
                handle.send(Command::Stop);
            }
        }
        match handle.events.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Finished(summary)) => {
                printer.summary(&summary);
                let cause = stop_cause(&signals, printer.stdout_closed);
                break judge(summary, cause, options.fail_under);
            }
            Ok(Event::Failed(message)) => break Outcome::Failed(message),
            Ok(Event::StoppedBeforeTraining(message)) => {
                break Outcome::StoppedBeforeTraining {
                    signal: stop_cause(&signals, printer.stdout_closed),
                    message,
                };
            }
            Ok(event) => printer.event(&event),
            Err(flume::RecvTimeoutError::Timeout) => {}
            Err(flume::RecvTimeoutError::Disconnected) => {
                break Outcome::Failed("the trainer ended without a summary".into())
            }
        }
    };
    handle.join();
    outcome
}

/// Why the run was told to stop, as a signal number (0: it was not). A signal wins over a
/// closed stdout, which counts as SIGPIPE.
fn stop_cause(signals: &Signals, stdout_closed: bool) -> usize {
    signals
        .first()
        .or(stdout_closed.then_some(SIGPIPE))
        .unwrap_or(0)
}

/// How a finished run counts: `signal` is the termination signal received (0 for none),
/// `fail_under` the accuracy bar, if any. The dashboard judges its runs with this too.
pub fn judge(summary: Summary, signal: usize, fail_under: Option<f64>) -> Outcome {
    if let Some(reason) = summary.unsaved.clone() {
        return Outcome::Unsaved { summary, reason };
    }
    if signal != 0 {
        return Outcome::Interrupted { signal, summary };
    }
    match fail_under {
        Some(threshold) if summary.test_accuracy < threshold => {
            Outcome::BelowThreshold { summary, threshold }
        }
        _ => Outcome::Completed(summary),
    }
}

/// Formats events as lines.
struct Printer {
    options: HeadlessOptions,
    last_download_note: Option<Instant>,
    /// Whether a write to stdout failed because its reader went away; nothing more is
    /// written there.
    stdout_closed: bool,
}

impl Printer {
    fn new(options: HeadlessOptions) -> Self {
        Self {
            options,
            last_download_note: None,
            stdout_closed: false,
        }
    }

    /// Writes a line to stdout. A closed stdout (e.g. `| head -1`) is noted, for the reporter
    /// to stop the run; other write errors (a full disk under a redirect) are ignored and
    /// training goes on.
    fn line(&mut self, text: String) {
        if self.stdout_closed {
            return;
        }
        let mut out = std::io::stdout().lock();
        let written = writeln!(out, "{text}").and_then(|()| out.flush());
        if written.is_err_and(|e| e.kind() == ErrorKind::BrokenPipe) {
            self.stdout_closed = true;
        }
    }

    fn event(&mut self, event: &Event) {
        match event {
            Event::Preparing(text) => note(text),
            Event::Download(progress) => self.download(progress),
            Event::Started(started) => {
                if self.options.json {
                    self.line(
                        json!({"event": "started", "train_images": started.train_len,
                            "test_images": started.test.len(), "threads": started.threads,
                            "config": started.config})
                        .to_string(),
                    );
                } else {
                    let t = &started.config.train;
                    note(format!(
                        "training on {} images, testing on {}: {} steps of {}, lr {:e}, seed {}, {} threads",
                        started.train_len,
                        started.test.len(),
                        t.steps,
                        t.batch_size,
                        t.learning_rate,
                        t.seed,
                        started.threads
                    ));
                }
            }
            Event::Step(step) => self.step(step),
            Event::Evaluation(e) => {
                let text = if self.options.json {
                    json!({"event": "evaluation", "step": e.step, "test_accuracy": e.accuracy,
                        "test_loss": e.loss, "seconds": e.seconds})
                    .to_string()
                } else {
                    format!(
                        "step {}, test accuracy {:.4}, test loss {:.4}",
                        e.step, e.accuracy, e.loss
                    )
                };
                self.line(text);
            }
            Event::SettingChanged(change) => {
                let text = if self.options.json {
                    json!({"event": "setting_changed", "change": change}).to_string()
                } else {
                    format!(
                        "step {}, {} changed from {} to {}",
                        change.step, change.setting, change.old, change.new
                    )
                };
                self.line(text);
            }
            Event::Checkpoint { step, path } => {
                if self.options.json {
                    self.line(
                        json!({"event": "checkpoint", "step": step, "path": path}).to_string(),
                    );
                } else {
                    note(format!(
                        "step {step}, checkpoint written to {}",
                        path.display()
                    ));
                }
            }
            Event::RecordError(message) => note(format!("warning: {message}")),
            Event::RolledBack(step) => {
                note(format!("rolled back to the checkpoint of step {step}"))
            }
            Event::Diverged(message) => note(message),
            Event::Paused(_)
            | Event::Finished(_)
            | Event::Failed(_)
            | Event::StoppedBeforeTraining(_) => {}
        }
    }

    fn step(&mut self, step: &StepStats) {
        if !step.step.is_multiple_of(self.options.log_every) {
            return;
        }
        let text = if self.options.json {
            let mut value = serde_json::to_value(step).unwrap_or_default();
            value["event"] = json!("step");
            value.to_string()
        } else {
            format!(
                "step {}, training accuracy {:.2}, loss {:.4}",
                step.step, step.accuracy, step.loss
            )
        };
        self.line(text);
    }

    fn download(&mut self, p: &Progress) {
        let due = self
            .last_download_note
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if !(p.done || due) {
            return;
        }
        self.last_download_note = Some(Instant::now());
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

    fn summary(&mut self, s: &Summary) {
        if self.options.json {
            let mut value = serde_json::to_value(s).unwrap_or_default();
            value["event"] = json!("finished");
            self.line(value.to_string());
        } else {
            self.line(format!("test accuracy {:.4}", s.test_accuracy));
            note(summary_details(s));
        }
    }
}

/// The summary line after the accuracy: steps, time, throughput, and whether it stopped early.
/// The dashboard prints it too once the terminal is back.
pub fn summary_details(s: &Summary) -> String {
    let early = if s.stopped_early {
        ", stopped early"
    } else {
        ""
    };
    format!(
        "{} steps in {:.1} s of training ({:.0} images/s), {:.1} s in all{early}",
        s.steps, s.train_seconds, s.samples_per_sec, s.wall_seconds
    )
}
