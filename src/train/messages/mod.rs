//! What the trainer says ([`Event`]) and what it can be told ([`Command`]), the live settings
//! those speak of ([`settings`]), the record both front-ends print ([`record`]) and how a run
//! ended ([`outcome`]).

pub mod outcome;
pub mod record;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::data::{Progress, Split};
use crate::model::Network;

pub use crate::settings::{Setting, SettingValue};
pub use outcome::Outcome;
pub use record::Record;

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
    /// The loss became NaN or infinite; the trainer paused (dashboard only).
    Diverged(String),
    /// A checkpoint was written.
    Checkpoint {
        /// The step it holds.
        step: u64,
        /// Its folder.
        path: PathBuf,
    },
    /// The weights, step and data order went back to the checkpoint of this step.
    RolledBack(u64),
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
    /// The effective configuration.
    pub config: Config,
    /// Training images.
    pub train_len: usize,
    /// Test images, shared so a front-end can show them.
    pub test: Arc<Split>,
    /// Worker threads used for the arithmetic.
    pub threads: usize,
    /// Steps already done (non-zero when resuming).
    pub first_step: u64,
    /// The run's folder, when it keeps records.
    pub run_dir: Option<PathBuf>,
}

/// One training step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct StepStats {
    /// Steps done so far (1 for the first).
    pub step: u64,
    /// Steps the run is set to take (it can change while training).
    pub total_steps: u64,
    /// Epochs done, fractional.
    pub epoch: f64,
    /// Mean cross-entropy of the batch.
    pub loss: f32,
    /// Fraction of the batch classified right (before this step's update).
    pub accuracy: f32,
    /// Learning rate this step used.
    pub learning_rate: f64,
    /// Images in the batch.
    pub batch_size: usize,
    /// Training throughput of this step, images per second.
    pub samples_per_sec: f64,
    /// Time spent training so far (evaluations and pauses excluded), seconds.
    pub train_seconds: f64,
}

/// An evaluation on the whole test set.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The step after which it ran.
    pub step: u64,
    /// Fraction of test images classified right.
    pub accuracy: f64,
    /// Mean cross-entropy over the test set.
    pub loss: f64,
    /// How long it took, seconds.
    pub seconds: f64,
    /// Class probabilities, 10 per test image, in test-set order.
    #[serde(skip)]
    pub probabilities: Arc<Vec<f32>>,
}

/// A change of a live setting, made by the trainer between two steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SettingChange {
    /// The step after which it took effect.
    pub step: u64,
    /// Value before.
    pub old: SettingValue,
    /// Value after (of the same setting).
    pub new: SettingValue,
}

impl SettingChange {
    /// Which setting changed.
    pub fn setting(&self) -> Setting {
        self.new.setting()
    }
}

/// The end of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Steps done.
    pub steps: u64,
    /// True when stopped before the planned steps.
    pub stopped_early: bool,
    /// Final test accuracy.
    pub test_accuracy: f64,
    /// Final test loss.
    pub test_loss: f64,
    /// Time spent in training steps, seconds.
    pub train_seconds: f64,
    /// Wall time from the trainer's start, data loading included, seconds.
    pub wall_seconds: f64,
    /// Mean training throughput, images per second.
    pub samples_per_sec: f64,
    /// The run's folder, when it keeps records.
    pub run_dir: Option<PathBuf>,
    /// Why the final state could not be saved, when it could not.
    pub unsaved: Option<String>,
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
    /// Evaluate on the test set at the next boundary.
    EvaluateNow,
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
}

/// How long a paused trainer waits for a command before checking again.
pub const PAUSE_POLL: Duration = Duration::from_millis(200);
