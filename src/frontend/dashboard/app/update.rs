//! How the trainer's events change the dashboard's state.

use std::sync::Arc;

use crate::data::CLASSES;
use crate::run::record::EvalSplit;
use crate::train::messages::{CheckpointWritten, ResumedFrom, SkippedCheckpoint};
use crate::train::{Evaluation, Event, SettingChange, Started, StepStats, Summary};

use super::{App, Confusion, Insight, LogKind, Overlay, Phase, RATE_SMOOTHING};

impl App {
    /// Takes in one event from the trainer.
    pub fn update(&mut self, event: Event) {
        match event {
            Event::Preparing(note) => self.preparing(note),
            Event::Repaired(text) => self.preparing(format!("note: {text}")),
            Event::CheckpointSkipped(SkippedCheckpoint { checkpoint, reason }) => {
                self.preparing(format!(
                    "note: skipped checkpoint {}: {reason}",
                    checkpoint.display()
                ))
            }
            Event::Resumed(ResumedFrom { step, checkpoint }) => self.preparing(format!(
                "resumed from {} at step {step}",
                checkpoint.display()
            )),
            Event::Stopping { .. } => {}
            Event::Download(progress) => {
                if progress.done {
                    let text = format!("downloaded {} from {}", progress.file, progress.mirror);
                    self.log.push(None, LogKind::Info, text);
                }
                self.download = Some(progress);
            }
            Event::Started(started) => self.started(&started),
            Event::Step(step) => self.step(&step),
            Event::Steps(steps) => steps.iter().for_each(|step| self.step(step)),
            Event::Layers(stats) => self.layers.push(stats),
            Event::Evaluation(evaluation) => self.evaluated(&evaluation),
            Event::SettingChanged(change) => self.setting_changed(&change),
            Event::Paused { paused, .. } => {
                self.paused = paused;
                self.pause_wanted = paused;
                let text = if paused { "paused" } else { "resumed" };
                self.log.push(self.step_mark(), LogKind::Info, text);
            }
            Event::Diverged(message) => {
                self.log.push(self.step_mark(), LogKind::Error, message);
                // Only the process that trains can act on it; a watcher is told what happened.
                self.flash = Some(if self.read_only.is_some() {
                    "the loss diverged".into()
                } else {
                    "the loss diverged: lower the learning rate (-), roll back (r) or resume".into()
                });
            }
            Event::Checkpoint(CheckpointWritten { step, path }) => {
                let text = format!("checkpoint written to {}", path.display());
                if let Phase::Finished(summary) = &mut self.phase {
                    if summary.steps == step && summary.unsaved.take().is_some() {
                        self.flash = Some(format!("the final weights are saved: {text}"));
                    }
                }
                self.log.push(Some(step), LogKind::Info, text);
            }
            Event::RolledBack(step) => self.rolled_back(step),
            Event::RecordError(message) => {
                // Often the answer to a key (`c`, `r`): shown whole, not only in the log.
                self.flash = Some(message.clone());
                self.log.push(self.step_mark(), LogKind::Error, message);
            }
            Event::Finished(summary) => self.finished(summary),
            Event::Failed(message) => self.failed(message),
            Event::StoppedBeforeTraining(message) => self.stopped_before_training(message),
            Event::Weights(weights) => self.look.weights_arrived(weights.step),
            Event::Batch(batch) => self.fed.take(batch),
            Event::CheckpointScored(scores) => self.take_predictions(&scores),
            Event::CheckpointLoaded(folder) => self.look.checkpoint_loaded(&folder),
        }
    }

    /// Takes in an answer of the inspector thread.
    pub fn inspected(&mut self, insight: Insight) {
        self.look.take(insight);
    }

    /// Takes in how writing a drawing went.
    pub fn drawing_saved(&mut self, result: Result<std::path::PathBuf, String>) {
        let (kind, text) = match result {
            Ok(path) => (
                LogKind::Info,
                format!("drawing saved to {}", path.display()),
            ),
            Err(message) => (
                LogKind::Error,
                format!("cannot save the drawing: {message}"),
            ),
        };
        self.flash = Some(text.clone());
        self.log.push(self.step_mark(), kind, text);
    }

    /// Takes in how exporting the charts went.
    pub fn charts_exported(&mut self, result: Result<std::path::PathBuf, String>) {
        let (kind, text) = match result {
            Ok(path) => (
                LogKind::Info,
                format!("charts exported to {}", path.display()),
            ),
            Err(message) => (
                LogKind::Error,
                format!("cannot export the charts: {message}"),
            ),
        };
        self.flash = Some(text.clone());
        self.log.push(self.step_mark(), kind, text);
    }

    /// Notes that the trainer went away without saying how it ended.
    pub fn trainer_vanished(&mut self) {
        if !self.has_ended() {
            self.failed("the trainer ended without a summary".into());
        }
    }

    /// The step to log an entry at: none before training starts.
    pub(super) fn step_mark(&self) -> Option<u64> {
        (self.phase != Phase::Preparing).then(|| self.steps_done())
    }

    /// A note on setting up, for the log and the status line until training starts.
    fn preparing(&mut self, note: String) {
        self.log.push(None, LogKind::Info, note.clone());
        self.note = Some(note);
    }

    fn started(&mut self, started: &Started) {
        let run = &started.run;
        self.phase = Phase::Training;
        self.note = None;
        self.download = None;
        self.total_steps = run.config.train.steps;
        self.first_step = run.first_step;
        self.loss.start_at(run.first_step);
        self.accuracy.start_at(run.first_step);
        self.settings.set_train_len(run.train_images);
        self.digits
            .set_images(started.validation.clone(), started.test.clone());
        self.choosing = if run.validation_images > 0 {
            EvalSplit::Validation
        } else {
            EvalSplit::Test
        };
        self.run_dir.clone_from(&started.run_dir);
        let t = &run.config.train;
        let text = format!(
            "started: {} steps, {} images, {}",
            t.steps,
            run.train_images,
            crate::output::counted(run.threads as u64, "thread")
        );
        self.log.push(Some(0), LogKind::Info, text);
    }

    fn step(&mut self, step: &StepStats) {
        self.total_steps = step.total_steps;
        self.loss.push(step.loss);
        self.accuracy.push(step.accuracy);
        if step.samples_per_sec.is_finite() && step.samples_per_sec > 0.0 {
            let seconds = step.batch_size as f64 / step.samples_per_sec;
            self.step_seconds = Some(average(self.step_seconds, seconds));
            self.throughput = Some(average(self.throughput, step.samples_per_sec));
        }
        let every = self.settings.confirmed_eval_every();
        let due = every > 0 && step.step.is_multiple_of(every);
        self.eval_pending |= due || step.step >= step.total_steps;
        self.last_step = Some(*step);
    }

    fn rolled_back(&mut self, step: u64) {
        self.loss.truncate_to_step(step);
        self.accuracy.truncate_to_step(step);
        self.evaluations.retain(|e| e.step <= step);
        self.layers.rewind(step);
        if let Some(last) = &mut self.last_step {
            last.step = step;
        }
        let text = format!("rolled back to the checkpoint of step {step}");
        self.log.push(Some(step), LogKind::Info, text);
    }

    fn evaluated(&mut self, e: &Evaluation) {
        self.eval_pending = false;
        // The charts keep the numbers; the probabilities stay with the viewers below.
        let numbers = Evaluation {
            probabilities: Arc::default(),
            ..e.clone()
        };
        if e.checkpoint.is_none() && e.split == self.choosing {
            self.evaluations.push(numbers.clone());
        }
        if e.split == EvalSplit::Test {
            self.test_looks.push(numbers);
        }
        self.take_predictions(e);
        let what = match (&e.checkpoint, e.split) {
            (Some(_), split) => format!("best checkpoint (step {}): {}", e.step, split.name()),
            (None, split) => split.name().to_string(),
        };
        let text = format!(
            "{what} accuracy {:.2}%, loss {:.4}",
            e.accuracy * 100.0,
            e.loss
        );
        self.log.push(Some(e.step), LogKind::Evaluation, text);
    }

    /// Gives an evaluation's probabilities, when they cover its set, to the digit viewer and,
    /// for the set shown, to the confusion matrix.
    pub(super) fn take_predictions(&mut self, e: &Evaluation) {
        if !self.digits.has(e.split) {
            return;
        }
        self.digits
            .set_predictions(e.split, e.step, e.probabilities.clone());
        if e.split == self.digits.set() {
            self.refresh_confusion();
        }
    }

    /// Builds the confusion matrix and the worst-loss ranking of the set shown from its latest
    /// predictions.
    pub(super) fn refresh_confusion(&mut self) {
        let (Some(images), Some((step, probabilities))) =
            (self.digits.images(), self.digits.predictions())
        else {
            self.look.clear_confusion();
            return;
        };
        if probabilities.len() == images.len() * CLASSES {
            let confusion = Confusion::new(step, probabilities, images);
            self.look.set_confusion(confusion);
            self.look
                .gallery_mut()
                .rank(step, probabilities, images.labels());
        }
    }

    fn setting_changed(&mut self, change: &SettingChange) {
        self.settings.confirm(change);
        let name = change.setting().label();
        let text = format!("{name} {} → {}", change.old, change.new);
        self.log.push(Some(change.step), LogKind::Setting, text);
    }

    fn finished(&mut self, summary: Summary) {
        self.end_training();
        let how = if summary.stopped_early {
            "stopped early"
        } else {
            "finished"
        };
        let text = format!(
            "{how} after {} steps: test accuracy {:.2}%",
            summary.steps,
            summary.test_accuracy * 100.0
        );
        self.log
            .push(Some(summary.steps), LogKind::Evaluation, text);
        self.phase = Phase::Finished(summary);
    }

    fn failed(&mut self, message: String) {
        self.end_training();
        self.log.push(
            self.step_mark(),
            LogKind::Error,
            format!("failed: {message}"),
        );
        self.phase = Phase::Failed(message);
    }

    fn stopped_before_training(&mut self, message: String) {
        self.end_training();
        self.log
            .push(None, LogKind::Info, format!("stopped: {message}"));
        self.phase = Phase::StoppedBeforeTraining(message);
    }

    fn end_training(&mut self) {
        self.ended_at.get_or_insert(self.elapsed);
        self.eval_pending = false;
        self.paused = false;
        self.pause_wanted = false;
        self.note = None;
        self.download = None;
        self.settings.clear_pending();
        if !matches!(self.overlay, Overlay::Help) {
            self.overlay = Overlay::None;
        }
    }
}

/// An exponential moving average's next value.
fn average(previous: Option<f64>, value: f64) -> f64 {
    previous.map_or(value, |p| p + RATE_SMOOTHING * (value - p))
}
