//! What the trainer says ([`Event`]) and what it can be told ([`Command`]), and how a run
//! ended ([`outcome`]). The events that belong in a run's records carry the record types of
//! [`crate::run::record`]; [`Event::record`] is the one place that turns an event into its
//! record.

pub mod outcome;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::data::{Progress, Split};
use crate::model::Network;
use crate::run::record::{ErrorKind, Record, RunError, RunStarted};

pub use crate::run::layers::LayerStats;
pub use crate::run::record::{CheckpointWritten, ResumedFrom, SkippedCheckpoint};

pub use crate::run::record::{Evaluation, SettingChange, StepStats, Summary};
pub use crate::settings::{Setting, SettingValue};
pub use outcome::Outcome;

/// A message from the trainer thread. Front-ends only consume these.
#[derive(Debug, Clone)]
pub enum Event {
    /// Setting up (reading or downloading data, building the model): a line for the user.
    Preparing(String),
    /// A data file is downloading.
    Download(Progress),
    /// Training is about to start.
    Started(Started),
    /// One training step finished.
    Step(StepStats),
    /// Steps read back from a run's records, in step order, as one event: a replay sends
    /// its rows in batches, since a channel send per row is a fifth of opening a long run.
    Steps(Vec<StepStats>),
    /// Statistics of every layer after a step, every `log.layer_stats_every` steps.
    Layers(LayerStats),
    /// An evaluation on the test set finished.
    Evaluation(Evaluation),
    /// A setting changed between steps, by a command.
    SettingChanged(SettingChange),
    /// The trainer paused or resumed.
    Paused {
        /// True when it paused, false when it went on.
        paused: bool,
        /// Steps done.
        step: u64,
    },
    /// Training ended (all steps done, or stopped), after a final evaluation.
    Finished(Summary),
    /// The loss became NaN, infinite or too large: the trainer paused (dashboard), or stops
    /// (headless: an [`Event::Failed`] follows).
    Diverged(String),
    /// A checkpoint was written.
    Checkpoint(CheckpointWritten),
    /// The weights, step and data order went back to the checkpoint of this step.
    RolledBack(u64),
    /// A stop was asked for; training ends after the current step.
    Stopping {
        /// Steps done.
        step: u64,
    },
    /// The run goes on from a checkpoint, in a new process.
    Resumed(ResumedFrom),
    /// A resume passed over a checkpoint that does not load or verify.
    CheckpointSkipped(SkippedCheckpoint),
    /// Reopening the run's records repaired what a crash left.
    Repaired(String),
    /// A record or checkpoint could not be written; training goes on.
    RecordError(String),
    /// Training could not go on.
    Failed(String),
    /// A stop came before training began (while the data downloaded); nothing was trained.
    StoppedBeforeTraining(String),
    /// A copy of the weights, for views that look inside the network: sent when asked
    /// ([`Command::ShareWeights`]), when training starts, after a rollback and at the end.
    Weights(Weights),
    /// The images of the latest step as the network saw them, when asked
    /// ([`Command::ShareBatch`]).
    Batch(TrainingBatch),
    /// A checkpoint scored by a viewer of the run (a watched run's newest), not by the run:
    /// its predictions, for the views that show them. Not a record, and no look at the test
    /// set by the run.
    CheckpointScored(Evaluation),
    /// A viewer of the run (a watched run) loaded the weights it sends next from this
    /// checkpoint folder, so that its pages can say which one they show. Not a record.
    CheckpointLoaded(PathBuf),
}

/// The images of one training step as the network saw them (after augmentation), for a
/// viewer: quantised to bytes like the MNIST files, with their labels.
#[derive(Debug, Clone)]
pub struct TrainingBatch {
    /// The step that trained on them.
    pub step: u64,
    /// The images and labels.
    pub images: Arc<Split>,
}

impl TrainingBatch {
    /// The batch of `step`: `pixels` (0..1, 784 an image) with the labels of the training
    /// images `indices` of `train`.
    pub fn keep(step: u64, pixels: &[f32], indices: &[usize], train: &Split) -> Self {
        let bytes = pixels
            .iter()
            // 0..1 scaled to 0..255; the cast saturates anything outside.
            .map(|p| (p * 255.0).round() as u8)
            .collect();
        let labels = indices.iter().map(|&i| train.label(i)).collect();
        let images = Split::new(bytes, labels).unwrap_or_default();
        Self {
            step,
            images: Arc::new(images),
        }
    }
}

/// The network's weights after a step, shared without copying (the trainer's next update
/// copies the tensors it changes).
#[derive(Clone)]
pub struct Weights {
    /// Steps done when they were taken.
    pub step: u64,
    /// The network.
    pub model: Arc<Network>,
}

impl std::fmt::Debug for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Weights {{ step: {} }}", self.step)
    }
}

/// The start of a run.
#[derive(Debug, Clone)]
pub struct Started {
    /// What the run's records keep of it: settings, images, threads, first step.
    pub run: RunStarted,
    /// Test images, shared so a front-end can show them (empty when a watched run's data is
    /// not at hand).
    pub test: Arc<Split>,
    /// The validation split's images (empty without one, or when not at hand).
    pub validation: Arc<Split>,
    /// The run's folder, when it keeps records.
    pub run_dir: Option<PathBuf>,
}

/// An instruction to the trainer, applied at the next step boundary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// Stop after the current step, evaluate, and finish.
    Stop,
    /// Hold between steps until resumed.
    Pause,
    /// Go on after a pause.
    Resume,
    /// While paused, take exactly one step.
    StepOnce,
    /// Evaluate at the next boundary, on the split choices are made on (validation, or the
    /// test set without one).
    EvaluateNow,
    /// Score the test set at the next boundary: a look at it on purpose, recorded.
    EvaluateTest,
    /// Change a live setting from the next step on (a learning-rate change keeps Adam's
    /// moments). A value outside [`SettingValue::is_valid`] is ignored.
    Set(SettingValue),
    /// Write a checkpoint at the next boundary.
    SaveCheckpoint,
    /// Go back to the newest checkpoint (weights, step, data order), keeping live settings.
    Rollback,
    /// Send the current weights ([`Event::Weights`]) at the next step boundary.
    ShareWeights,
    /// Send the latest step's images ([`Event::Batch`]) at the next step boundary. Steps keep
    /// their images only once this has been asked, so the first request of a run is answered
    /// by nothing, and the next one after a step by that step's images.
    ShareBatch,
    /// For a viewer of a run folder (a watched run): show this checkpoint's weights in the
    /// views that look inside the network, or with `None` go back to the automatic choice
    /// (the best once the run ended, the newest while it is written). A trainer ignores it:
    /// its views show the weights in training.
    InspectCheckpoint(Option<CheckpointChoice>),
}

/// One checkpoint of a run folder, by kind and step (its folder name,
/// [`crate::run::RunDir::checkpoint_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointChoice {
    /// Periodic or best.
    pub kind: crate::run::CheckpointKind,
    /// The step it was written at.
    pub step: u64,
}

/// How long a paused trainer waits for a command before checking again.
pub const PAUSE_POLL: Duration = Duration::from_millis(200);

impl Event {
    /// The record of this event; `None` for events that are only for the screen (setup
    /// notes, download progress, record-writing warnings, weights and images).
    pub fn record(&self) -> Option<Record> {
        let error = |kind, message: &String| {
            Record::Error(RunError {
                kind,
                message: message.clone(),
            })
        };
        Some(match self {
            Event::Started(started) => Record::Started(started.run.clone()),
            Event::Step(stats) => Record::Step(*stats),
            Event::Layers(stats) => Record::Layers(stats.clone()),
            Event::Evaluation(e) => Record::Evaluation(e.clone()),
            Event::SettingChanged(change) => Record::SettingChanged(*change),
            Event::Paused { paused: true, step } => Record::Pause { step: *step },
            Event::Paused {
                paused: false,
                step,
            } => Record::Resume { step: *step },
            Event::Checkpoint(written) => Record::Checkpoint(written.clone()),
            Event::RolledBack(step) => Record::Rollback { to_step: *step },
            Event::Stopping { step } => Record::Stop { step: *step },
            Event::Resumed(from) => Record::Resumed(from.clone()),
            Event::CheckpointSkipped(skipped) => Record::CheckpointSkipped(skipped.clone()),
            Event::Repaired(note) => Record::Repaired { note: note.clone() },
            Event::Diverged(message) => error(ErrorKind::Diverged, message),
            Event::Failed(message) => error(ErrorKind::Failed, message),
            Event::StoppedBeforeTraining(message) => {
                error(ErrorKind::StoppedBeforeTraining, message)
            }
            Event::Finished(summary) => Record::Finished(summary.clone()),
            // Read from the records, so never written to them again.
            Event::Steps(_)
            | Event::Preparing(_)
            | Event::Download(_)
            | Event::RecordError(_)
            | Event::Weights(_)
            | Event::Batch(_)
            | Event::CheckpointScored(_)
            | Event::CheckpointLoaded(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_kind_and_screen_only_events_have_no_record() {
        let kind = |event: Event| match event.record() {
            Some(Record::Error(e)) => e.kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(kind(Event::Diverged("x".into())), ErrorKind::Diverged);
        assert_eq!(kind(Event::Failed("x".into())), ErrorKind::Failed);
        assert_eq!(
            kind(Event::StoppedBeforeTraining("x".into())),
            ErrorKind::StoppedBeforeTraining
        );
        assert!(Event::Preparing("x".into()).record().is_none());
        assert!(Event::RecordError("x".into()).record().is_none());
    }
}
