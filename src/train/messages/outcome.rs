//! How a run ended, as both front-ends judge it: the outcome, its exit status and the lines
//! printed after it.

use crate::run::RunDir;
use crate::signals::Signal;

use super::Summary;

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// All steps done (and the accuracy bar, if any, met).
    Completed(Summary),
    /// Stopped by a signal (a closed stdout counts as [`Signal::PIPE`], a lost terminal as
    /// [`Signal::HANGUP`]); the summary of what was done.
    Interrupted {
        /// The signal; the exit status is 128 + its number.
        signal: Signal,
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
    /// The user stopped following a run that had not ended (a `watch` left early): nothing
    /// of the run itself is judged.
    Detached {
        /// The signal that asked for the stop, if one did.
        signal: Option<Signal>,
    },
    /// A stop came while the data downloaded, before any step: nothing was trained.
    StoppedBeforeTraining {
        /// The signal that asked for the stop; `None` when the user quit the dashboard.
        signal: Option<Signal>,
        /// What the trainer said.
        message: String,
    },
}

impl Outcome {
    /// How a finished run counts: `signal` is the termination signal that stopped it, if any,
    /// `fail_under` the accuracy bar, if any.
    pub fn judge(summary: Summary, signal: Option<Signal>, fail_under: Option<f64>) -> Self {
        if let Some(reason) = summary.unsaved.clone() {
            return Outcome::Unsaved { summary, reason };
        }
        if let Some(signal) = signal {
            return Outcome::Interrupted { signal, summary };
        }
        match fail_under {
            Some(threshold) if summary.test_accuracy < threshold => {
                Outcome::BelowThreshold { summary, threshold }
            }
            _ => Outcome::Completed(summary),
        }
    }

    /// The process's exit status: 0 done; 1 failed or unsaved; 3 below the bar; 128 + signal
    /// when stopped by one.
    pub fn exit_status(&self) -> u8 {
        match self {
            Outcome::Completed(_) => 0,
            Outcome::Interrupted { signal, .. } => signal.exit_status(),
            Outcome::BelowThreshold { .. } => 3,
            Outcome::Unsaved { .. } | Outcome::Failed(_) => 1,
            Outcome::StoppedBeforeTraining { signal, .. } | Outcome::Detached { signal } => {
                signal.map_or(0, |s| s.exit_status())
            }
        }
    }

    /// The line for stderr that says why the status is not 0, if there is one.
    pub fn closing_note(&self) -> Option<String> {
        match self {
            Outcome::Completed(_) | Outcome::Interrupted { .. } | Outcome::Detached { .. } => None,
            Outcome::BelowThreshold { summary, threshold } => Some(format!(
                "error: final test accuracy {:.4} is below --fail-under {threshold}",
                summary.test_accuracy
            )),
            Outcome::Unsaved { reason, summary } => {
                let newest = summary
                    .run_dir
                    .as_ref()
                    .and_then(|dir| RunDir::new(dir).latest_checkpoint())
                    .map_or_else(
                        || "no checkpoint of the run is on disk".to_string(),
                        |path| format!("the newest checkpoint on disk is {}", path.display()),
                    );
                Some(format!(
                    "error: training ended, but its final state was not saved: {reason} \
                     ({newest})"
                ))
            }
            Outcome::Failed(message) => Some(format!("error: {message}")),
            Outcome::StoppedBeforeTraining { message, .. } => Some(format!("stopped: {message}")),
        }
    }

    /// What was trained, when training began.
    pub fn summary(&self) -> Option<&Summary> {
        match self {
            Outcome::Completed(s)
            | Outcome::Interrupted { summary: s, .. }
            | Outcome::BelowThreshold { summary: s, .. }
            | Outcome::Unsaved { summary: s, .. } => Some(s),
            Outcome::Failed(_)
            | Outcome::StoppedBeforeTraining { .. }
            | Outcome::Detached { .. } => None,
        }
    }
}

impl Summary {
    /// The line after the accuracy: steps, time, throughput, whether and why it stopped
    /// early, the checkpoint it chose and how often it looked at the test set.
    pub fn details(&self) -> String {
        let early = match (self.early_stop, self.stopped_early) {
            (Some(n), _) => format!(
                ", stopped early: no better validation accuracy in {}",
                crate::output::counted(n, "evaluation")
            ),
            (None, true) => ", stopped early".into(),
            (None, false) => String::new(),
        };
        let mut line = format!(
            "{} steps in {:.1} s of training ({:.0} images/s), {:.1} s in all{early}",
            self.steps, self.train_seconds, self.samples_per_sec, self.wall_seconds
        );
        if let Some(best) = &self.best {
            line.push_str(&format!(
                "; best validation accuracy {:.4} at step {} (its test accuracy {:.4})",
                best.validation_accuracy, best.step, best.test_accuracy
            ));
        }
        if self.test_looks > 0 {
            line.push_str(&format!(
                "; the test set was looked at {}",
                crate::output::counted(self.test_looks, "time")
            ));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(accuracy: f64) -> Summary {
        Summary {
            steps: 10,
            test_accuracy: accuracy,
            ..Default::default()
        }
    }

    #[test]
    fn an_unsaved_state_outranks_a_signal_which_outranks_the_bar() {
        let unsaved = Summary {
            unsaved: Some("disk full".into()),
            ..summary(0.5)
        };
        let outcome = Outcome::judge(unsaved, Some(Signal::INTERRUPT), Some(0.9));
        assert_eq!(outcome.exit_status(), 1);
        let outcome = Outcome::judge(summary(0.5), Some(Signal::TERMINATE), Some(0.9));
        assert_eq!(outcome.exit_status(), 143);
        assert_eq!(outcome.closing_note(), None);
        let outcome = Outcome::judge(summary(0.5), None, Some(0.9));
        assert_eq!(outcome.exit_status(), 3);
        let note = outcome.closing_note().unwrap();
        assert!(note.contains("0.5000 is below --fail-under 0.9"), "{note}");
        assert_eq!(
            Outcome::judge(summary(0.95), None, Some(0.9)).exit_status(),
            0
        );
    }

    #[test]
    fn a_stop_before_training_exits_by_its_signal_or_with_zero() {
        let stopped = |signal| Outcome::StoppedBeforeTraining {
            signal,
            message: "download stopped".into(),
        };
        assert_eq!(stopped(None).exit_status(), 0);
        assert_eq!(stopped(Some(Signal::INTERRUPT)).exit_status(), 130);
        assert_eq!(stopped(None).summary(), None);
    }

    #[test]
    fn details_say_when_a_run_stopped_early() {
        let s = Summary {
            steps: 5,
            stopped_early: true,
            train_seconds: 1.25,
            samples_per_sec: 200.0,
            wall_seconds: 3.0,
            ..Default::default()
        };
        assert_eq!(
            s.details(),
            "5 steps in 1.2 s of training (200 images/s), 3.0 s in all, stopped early"
        );
    }
}
