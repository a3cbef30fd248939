//! The one record of what happened in a run: the type the trainer writes as a line of
//! `events.jsonl` (and `--json` prints), and the type every reader reads back. One definition,
//! serialised both ways, so the writer and the readers cannot drift apart.
//!
//! A line is one JSON object whose `event` field names the kind:
//!
//! ```text
//! {"event":"evaluation","step":300,"test_accuracy":0.97,"test_loss":0.09,"seconds":1.2}
//! {"event":"setting_changed","step":7,"setting":"dropout","old":0.5,"new":0.2}
//! {"event":"error","kind":"diverged","message":"the loss is NaN at step 12 ..."}
//! ```
//!
//! Numbers JSON cannot hold (`NaN`, infinities) are written as `null` and read back as `NaN`.
//! Fields added after a record kind was first written have defaults, so older run folders
//! read as before.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use strum::EnumDiscriminants;

use crate::config::Config;
use crate::settings::{Setting, SettingValue};

/// A line of `events.jsonl` and of `--json` output; its `event` field names the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, EnumDiscriminants)]
#[serde(tag = "event", rename_all = "snake_case")]
#[strum_discriminants(
    name(RecordKind),
    derive(strum::EnumIter),
    doc = "The kinds of [`Record`], without their fields: `RecordKind::iter()` lists them all."
)]
pub enum Record {
    /// Training started (or went on after a resume).
    Started(RunStarted),
    /// One training step (printed by `--json`; a run keeps steps in `metrics.csv`).
    Step(StepStats),
    /// An evaluation of the network on a set of images.
    Evaluation(Evaluation),
    /// A live setting changed.
    SettingChanged(SettingChange),
    /// Training paused.
    Pause {
        /// Steps done.
        step: u64,
    },
    /// Training went on after a pause.
    Resume {
        /// Steps done.
        step: u64,
    },
    /// A stop was asked for.
    Stop {
        /// Steps done.
        step: u64,
    },
    /// The run went on from a checkpoint (a new process).
    Resumed(ResumedFrom),
    /// A resume passed over a checkpoint that does not load or verify.
    CheckpointSkipped(SkippedCheckpoint),
    /// Reopening the run's records repaired what a crash left (a torn last line, half-written
    /// checkpoint folders, the lock of a killed writer).
    Repaired {
        /// What was found and done.
        note: String,
    },
    /// A checkpoint was written.
    Checkpoint(CheckpointWritten),
    /// The run went back to a checkpoint.
    Rollback {
        /// The checkpoint's step.
        to_step: u64,
    },
    /// Training diverged, failed, or was stopped before it began.
    Error(RunError),
    /// The run ended.
    Finished(Summary),
}

impl Record {
    /// The record as one line of JSON (without the line end).
    pub fn to_json_line(&self) -> String {
        // Every field is a number, string, path or plain struct: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads one line of JSON; `None` when it is not a record (garbage, or a kind this
    /// version does not know).
    pub fn from_json_line(line: &[u8]) -> Option<Self> {
        serde_json::from_slice(line).ok()
    }

    /// Which kind of record this is.
    pub fn kind(&self) -> RecordKind {
        RecordKind::from(self)
    }
}

/// A checkpoint written, and the step it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointWritten {
    /// The step it holds.
    pub step: u64,
    /// Its folder.
    pub path: PathBuf,
}

/// The checkpoint a resumed run went on from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResumedFrom {
    /// The checkpoint's step.
    pub step: u64,
    /// The checkpoint's folder.
    pub checkpoint: PathBuf,
}

/// A checkpoint a resume passed over, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedCheckpoint {
    /// The checkpoint's folder.
    pub checkpoint: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// The start of training, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// Images the network trains on.
    pub train_images: usize,
    /// Images of the test set.
    pub test_images: usize,
    /// Images held out of the training files as the validation split (their first ones).
    #[serde(default)]
    pub validation_images: usize,
    /// Worker threads used for the arithmetic.
    pub threads: usize,
    /// Steps already done (non-zero when resuming).
    pub first_step: u64,
    /// The effective settings.
    pub config: Config,
}

/// One training step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    /// Steps done so far (1 for the first).
    pub step: u64,
    /// Steps the run is set to take (it can change while training).
    pub total_steps: u64,
    /// Epochs done, fractional.
    #[serde(deserialize_with = "number_or_nan")]
    pub epoch: f64,
    /// Mean cross-entropy of the batch.
    #[serde(deserialize_with = "number_or_nan_f32")]
    pub loss: f32,
    /// Fraction of the batch classified right (before this step's update).
    #[serde(deserialize_with = "number_or_nan_f32")]
    pub accuracy: f32,
    /// Learning rate this step used.
    #[serde(deserialize_with = "number_or_nan")]
    pub learning_rate: f64,
    /// Images in the batch.
    pub batch_size: usize,
    /// Training throughput of this step, images per second.
    #[serde(deserialize_with = "number_or_nan")]
    pub samples_per_sec: f64,
    /// Time spent training so far (evaluations and pauses excluded), seconds.
    #[serde(deserialize_with = "number_or_nan")]
    pub train_seconds: f64,
}

/// Which images an evaluation scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalSplit {
    /// The validation split held out of the training files: what choices are made on.
    Validation,
    /// The test set: looked at on purpose (at the end, or when asked). Records written
    /// before the validation split existed are all on it.
    #[default]
    Test,
    /// The images trained on.
    Train,
}

impl EvalSplit {
    /// An order of the splits, for keeping evaluations of one step apart.
    pub fn rank(self) -> u8 {
        match self {
            EvalSplit::Validation => 0,
            EvalSplit::Test => 1,
            EvalSplit::Train => 2,
        }
    }

    /// The split's name as records and lines say it.
    pub fn name(self) -> &'static str {
        match self {
            EvalSplit::Validation => "validation",
            EvalSplit::Test => "test",
            EvalSplit::Train => "training",
        }
    }
}

/// An evaluation of the network on a whole set of images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Which images it scored.
    #[serde(default)]
    pub split: EvalSplit,
    /// The step after which it ran.
    pub step: u64,
    /// Fraction of the images classified right.
    #[serde(alias = "test_accuracy", deserialize_with = "number_or_nan")]
    pub accuracy: f64,
    /// Mean cross-entropy over the images.
    #[serde(alias = "test_loss", deserialize_with = "number_or_nan")]
    pub loss: f64,
    /// How long it took, seconds.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub seconds: f64,
    /// The checkpoint scored, when not the weights in training (the best checkpoint's test
    /// score at the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<PathBuf>,
    /// Class probabilities, 10 an image, in the set's order: for the views that show them,
    /// never recorded (a record read back has none).
    #[serde(skip)]
    pub probabilities: Arc<Vec<f32>>,
}

/// A change of a live setting, made by the trainer between two steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "WrittenChange", try_from = "ReadChange")]
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

/// A setting change as its record spells it: the setting's name beside two bare numbers.
#[derive(Serialize)]
struct WrittenChange {
    step: u64,
    setting: Setting,
    old: SettingValue,
    new: SettingValue,
}

/// A setting change read back: the numbers are typed by the setting's name.
#[derive(Deserialize)]
struct ReadChange {
    step: u64,
    setting: Setting,
    old: f64,
    new: f64,
}

impl From<SettingChange> for WrittenChange {
    fn from(change: SettingChange) -> Self {
        Self {
            step: change.step,
            setting: change.setting(),
            old: change.old,
            new: change.new,
        }
    }
}

impl TryFrom<ReadChange> for SettingChange {
    type Error = String;

    fn try_from(r: ReadChange) -> Result<Self, String> {
        let typed = |value| {
            SettingValue::from_number(r.setting, value)
                .ok_or_else(|| format!("{value} is not a value of {}", r.setting.name()))
        };
        Ok(Self {
            step: r.step,
            old: typed(r.old)?,
            new: typed(r.new)?,
        })
    }
}

/// How a run went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The loss became NaN, infinite or too large: lower the learning rate (in the dashboard,
    /// training paused and can be rolled back).
    Diverged,
    /// Training could not go on (records written before the kinds were told apart read as
    /// this).
    #[default]
    Failed,
    /// A stop came while the data downloaded; nothing was trained.
    StoppedBeforeTraining,
}

/// An error record: its kind and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunError {
    /// What kind of error.
    #[serde(default)]
    pub kind: ErrorKind,
    /// What happened and what to do.
    pub message: String,
}

/// The end of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Steps done.
    pub steps: u64,
    /// True when stopped before the planned steps.
    pub stopped_early: bool,
    /// Final test accuracy.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub test_accuracy: f64,
    /// Final test loss.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub test_loss: f64,
    /// Time spent in training steps by this process, seconds.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub train_seconds: f64,
    /// Wall time of this process from the trainer's start, data loading included, seconds.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub wall_seconds: f64,
    /// Mean training throughput, images per second.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub samples_per_sec: f64,
    /// The run's folder, when it keeps records.
    #[serde(default)]
    pub run_dir: Option<PathBuf>,
    /// Why the final state could not be saved, when it could not.
    #[serde(default)]
    pub unsaved: Option<String>,
    /// The checkpoint the run chose (the best validation accuracy), when it had a validation
    /// split.
    #[serde(default)]
    pub best: Option<BestCheckpoint>,
    /// Times the test set was scored in the run, the end included.
    #[serde(default)]
    pub test_looks: u64,
    /// When training stopped early because validation accuracy stopped improving: after how
    /// many evaluations without a better one.
    #[serde(default)]
    pub early_stop: Option<u64>,
}

/// The checkpoint a run chose: its step, its validation accuracy, and its test accuracy,
/// scored once at the end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestCheckpoint {
    /// Its step.
    pub step: u64,
    /// Its validation accuracy.
    #[serde(deserialize_with = "number_or_nan")]
    pub validation_accuracy: f64,
    /// Its test accuracy.
    #[serde(deserialize_with = "number_or_nan")]
    pub test_accuracy: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// A number, or `NaN` for `null` (how JSON writers spell a non-finite number).
pub fn number_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// [`number_or_nan`] for `f32` fields.
fn number_or_nan_f32<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::NAN))
}

#[cfg(test)]
pub(crate) mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    /// One record of `kind`, with every field set. The match has no catch-all arm: a new kind
    /// does not compile until it has an example here, and then it is round-tripped below.
    pub(crate) fn example(kind: RecordKind) -> Record {
        let path = PathBuf::from("runs/x/checkpoints/step-00000010");
        match kind {
            RecordKind::Started => Record::Started(RunStarted {
                train_images: 55_000,
                test_images: 10_000,
                validation_images: 5_000,
                threads: 2,
                first_step: 10,
                config: Config::default(),
            }),
            RecordKind::Step => Record::Step(StepStats {
                step: 11,
                total_steps: 100,
                epoch: 0.25,
                loss: 0.5,
                accuracy: 0.75,
                learning_rate: 1e-4,
                batch_size: 50,
                samples_per_sec: 1234.5,
                train_seconds: 3.5,
            }),
            RecordKind::Evaluation => Record::Evaluation(Evaluation {
                split: EvalSplit::Validation,
                step: 10,
                accuracy: 0.9,
                loss: 0.25,
                seconds: 1.5,
                checkpoint: Some("runs/x/checkpoints/best-step-00000010".into()),
                probabilities: Arc::default(),
            }),
            RecordKind::SettingChanged => Record::SettingChanged(SettingChange {
                step: 7,
                old: SettingValue::BatchSize(50),
                new: SettingValue::BatchSize(128),
            }),
            RecordKind::Pause => Record::Pause { step: 3 },
            RecordKind::Resume => Record::Resume { step: 4 },
            RecordKind::Stop => Record::Stop { step: 5 },
            RecordKind::Resumed => Record::Resumed(ResumedFrom {
                step: 10,
                checkpoint: path,
            }),
            RecordKind::CheckpointSkipped => Record::CheckpointSkipped(SkippedCheckpoint {
                checkpoint: path,
                reason: "weights do not match their checksum".into(),
            }),
            RecordKind::Repaired => Record::Repaired {
                note: "a torn line was dropped".into(),
            },
            RecordKind::Checkpoint => Record::Checkpoint(CheckpointWritten { step: 10, path }),
            RecordKind::Rollback => Record::Rollback { to_step: 10 },
            RecordKind::Error => Record::Error(RunError {
                kind: ErrorKind::Diverged,
                message: "the loss is NaN".into(),
            }),
            RecordKind::Finished => Record::Finished(Summary {
                steps: 100,
                stopped_early: true,
                test_accuracy: 0.95,
                test_loss: 0.125,
                train_seconds: 10.0,
                wall_seconds: 12.0,
                samples_per_sec: 500.0,
                run_dir: Some("runs/x".into()),
                unsaved: Some("disk full".into()),
                best: Some(BestCheckpoint {
                    step: 80,
                    validation_accuracy: 0.96,
                    test_accuracy: 0.955,
                }),
                test_looks: 2,
                early_stop: Some(3),
            }),
        }
    }

    #[test]
    fn every_kind_reads_back_as_written() {
        let mut kinds = 0;
        for kind in RecordKind::iter() {
            let record = example(kind);
            assert_eq!(record.kind(), kind);
            let line = record.to_json_line();
            let back = Record::from_json_line(line.as_bytes())
                .unwrap_or_else(|| panic!("{kind:?} does not read back: {line}"));
            assert_eq!(back, record, "{line}");
            kinds += 1;
        }
        assert_eq!(kinds, 14);
    }

    #[test]
    fn setting_values_are_typed_by_their_setting() {
        for (old, new) in [
            (
                SettingValue::LearningRate(1e-4),
                SettingValue::LearningRate(2e-4),
            ),
            (SettingValue::BatchSize(50), SettingValue::BatchSize(64)),
            (SettingValue::EvalEvery(100), SettingValue::EvalEvery(0)),
            (SettingValue::Dropout(0.5), SettingValue::Dropout(0.25)),
        ] {
            let record = Record::SettingChanged(SettingChange { step: 7, old, new });
            let line = record.to_json_line();
            assert_eq!(Record::from_json_line(line.as_bytes()), Some(record));
        }
        let line = Record::SettingChanged(SettingChange {
            step: 7,
            old: SettingValue::Dropout(0.5),
            new: SettingValue::Dropout(0.2),
        })
        .to_json_line();
        assert_eq!(
            line,
            r#"{"event":"setting_changed","step":7,"setting":"dropout","old":0.5,"new":0.2}"#
        );
        let bad =
            r#"{"event":"setting_changed","step":7,"setting":"batch_size","old":0.5,"new":2}"#;
        assert_eq!(Record::from_json_line(bad.as_bytes()), None);
    }

    #[test]
    fn non_finite_numbers_are_written_as_null_and_read_as_nan() {
        let record = Record::Evaluation(Evaluation {
            split: EvalSplit::Test,
            step: 3,
            accuracy: 0.1,
            loss: f64::NAN,
            seconds: 0.5,
            checkpoint: None,
            probabilities: Arc::default(),
        });
        let line = record.to_json_line();
        assert!(line.contains(r#""loss":null"#), "{line}");
        let Some(Record::Evaluation(back)) = Record::from_json_line(line.as_bytes()) else {
            panic!("{line}")
        };
        assert!(back.loss.is_nan());
    }

    #[test]
    fn records_of_the_earlier_format_still_read() {
        // An error without its kind, and a summary and evaluation without later fields.
        let old = [
            r#"{"event":"error","message":"disk full"}"#,
            r#"{"event":"finished","steps":3,"stopped_early":false}"#,
            r#"{"event":"evaluation","step":3,"test_accuracy":0.9,"test_loss":null}"#,
        ];
        let read: Vec<Record> = old
            .iter()
            .map(|l| Record::from_json_line(l.as_bytes()).unwrap())
            .collect();
        assert_eq!(
            read[0],
            Record::Error(RunError {
                kind: ErrorKind::Failed,
                message: "disk full".into()
            })
        );
        let Record::Finished(summary) = &read[1] else {
            panic!()
        };
        assert_eq!(summary.steps, 3);
        assert!(summary.test_accuracy.is_nan());
        let Record::Evaluation(e) = &read[2] else {
            panic!()
        };
        assert_eq!((e.split, e.accuracy), (EvalSplit::Test, 0.9));
        assert_eq!(
            Record::from_json_line(b"{\"event\":\"from_the_future\"}"),
            None
        );
        assert_eq!(Record::from_json_line(b"not json"), None);
    }
}
