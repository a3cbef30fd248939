//! One serialisable record of what happened in a run. The trainer writes it to the run's
//! `events.jsonl`, and `--json` prints the same record, so both speak one dialect.

use std::path::Path;

use serde::Serialize;

use super::{Event, Setting, SettingValue, StepStats, Summary};
use crate::config::Config;

/// A line of `events.jsonl` and of `--json` output; its `event` field names the variant.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Record<'a> {
    /// Training started (or went on after a resume).
    Started {
        /// Training images.
        train_images: usize,
        /// Test images.
        test_images: usize,
        /// Worker threads.
        threads: usize,
        /// Steps already done.
        first_step: u64,
        /// The effective settings.
        config: &'a Config,
    },
    /// One training step (printed by `--json`; a run keeps steps in `metrics.csv`).
    Step(&'a StepStats),
    /// An evaluation on the test set.
    Evaluation {
        /// The step after which it ran.
        step: u64,
        /// Fraction of test images classified right.
        test_accuracy: f64,
        /// Mean cross-entropy over the test set.
        test_loss: f64,
        /// How long it took, seconds.
        seconds: f64,
    },
    /// A live setting changed.
    SettingChanged {
        /// The step after which it took effect.
        step: u64,
        /// Which setting.
        setting: Setting,
        /// Value before.
        old: SettingValue,
        /// Value after.
        new: SettingValue,
    },
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
    /// The run went on from a checkpoint.
    Resumed {
        /// The checkpoint's step.
        step: u64,
        /// The checkpoint's folder.
        checkpoint: &'a Path,
    },
    /// A resume passed over a checkpoint that does not load or verify.
    CheckpointSkipped {
        /// The checkpoint's folder.
        checkpoint: &'a Path,
        /// What is wrong with it.
        reason: &'a str,
    },
    /// Reopening the run's records repaired what a crash left (a torn last line, half-written
    /// checkpoint folders, the lock of a killed writer).
    Repaired {
        /// What was found and done.
        note: &'a str,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// The step it holds.
        step: u64,
        /// Its folder.
        path: &'a Path,
    },
    /// The run went back to a checkpoint.
    Rollback {
        /// The checkpoint's step.
        to_step: u64,
    },
    /// Training failed or diverged.
    Error {
        /// What happened and what to do.
        message: &'a str,
    },
    /// The run ended.
    Finished(&'a Summary),
}

impl<'a> Record<'a> {
    /// The record of a trainer event; `None` for events that are only progress for the
    /// screen (setup notes, download progress, record-writing warnings).
    pub fn of(event: &'a Event) -> Option<Self> {
        Some(match event {
            Event::Started(s) => Record::Started {
                train_images: s.train_len,
                test_images: s.test.len(),
                threads: s.threads,
                first_step: s.first_step,
                config: &s.config,
            },
            Event::Step(stats) => Record::Step(stats),
            Event::Evaluation(e) => Record::Evaluation {
                step: e.step,
                test_accuracy: e.accuracy,
                test_loss: e.loss,
                seconds: e.seconds,
            },
            Event::SettingChanged(change) => Record::SettingChanged {
                step: change.step,
                setting: change.setting(),
                old: change.old,
                new: change.new,
            },
            Event::Paused { paused: true, step } => Record::Pause { step: *step },
            Event::Paused {
                paused: false,
                step,
            } => Record::Resume { step: *step },
            Event::Checkpoint { step, path } => Record::Checkpoint { step: *step, path },
            Event::RolledBack(step) => Record::Rollback { to_step: *step },
            Event::Diverged(message) | Event::Failed(message) => Record::Error { message },
            Event::Finished(summary) => Record::Finished(summary),
            Event::Preparing(_)
            | Event::Download(_)
            | Event::RecordError(_)
            | Event::StoppedBeforeTraining(_)
            | Event::Weights(_)
            | Event::Batch(_) => return None,
        })
    }

    /// The record as one line of JSON.
    pub fn to_json_line(&self) -> String {
        // Every field is a number, string, path or plain struct: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::messages::SettingChange;

    #[test]
    fn a_setting_change_is_one_flat_object_with_typed_values() {
        let event = Event::SettingChanged(SettingChange {
            step: 7,
            old: SettingValue::Dropout(0.5),
            new: SettingValue::Dropout(0.2),
        });
        let line = Record::of(&event).unwrap().to_json_line();
        assert_eq!(
            line,
            r#"{"event":"setting_changed","step":7,"setting":"dropout","old":0.5,"new":0.2}"#
        );
    }

    #[test]
    fn steps_and_summaries_carry_their_fields_beside_the_tag() {
        let summary = Summary {
            steps: 3,
            ..Default::default()
        };
        let event = Event::Finished(summary);
        let value: serde_json::Value =
            serde_json::from_str(&Record::of(&event).unwrap().to_json_line()).unwrap();
        assert_eq!(value["event"], "finished");
        assert_eq!(value["steps"], 3);
        assert!(Record::of(&Event::Preparing("x".into())).is_none());
    }
}
