//! `events.jsonl` read back: the records of a run's evaluations, setting changes, pauses,
//! checkpoints, rollbacks, errors and end.
//!
//! The records mirror what the trainer writes (`train::messages::Record`); a line that is not
//! one of them (garbage, a newer kind of record) is skipped and counted, never an error.
//! Numbers that the writer could not represent (`NaN` is written as `null`) read as `NaN`.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

/// The newest records kept in [`EventLog::records`]; older ones are dropped (and counted).
pub const KEPT_RECORDS: usize = 10_000;

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventRecord {
    /// Training started, or went on after a resume.
    Started {
        /// Steps already done.
        first_step: u64,
        /// The effective settings, as written (JSON).
        #[serde(default)]
        config: serde_json::Value,
    },
    /// An evaluation on the test set.
    Evaluation(Evaluation),
    /// A live setting changed.
    SettingChanged {
        /// The step after which it took effect.
        step: u64,
        /// The setting's key under `[train]`, e.g. `learning_rate`.
        setting: String,
        /// Value before.
        old: serde_json::Value,
        /// Value after.
        new: serde_json::Value,
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
    /// The run went on from a checkpoint (a new process).
    Resumed {
        /// The checkpoint's step.
        step: u64,
        /// The checkpoint's folder.
        checkpoint: PathBuf,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// The step it holds.
        step: u64,
        /// Its folder.
        path: PathBuf,
    },
    /// The run went back to a checkpoint.
    Rollback {
        /// The checkpoint's step.
        to_step: u64,
    },
    /// Training failed or diverged.
    Error {
        /// What happened.
        message: String,
    },
    /// The run ended.
    Finished(Finished),
}

/// An evaluation on the test set.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Evaluation {
    /// The step after which it ran.
    pub step: u64,
    /// Fraction of test images classified right.
    #[serde(deserialize_with = "number_or_nan")]
    pub test_accuracy: f64,
    /// Mean cross-entropy over the test set.
    #[serde(deserialize_with = "number_or_nan")]
    pub test_loss: f64,
    /// How long it took, seconds.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub seconds: f64,
}

/// The summary written when a run ends.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Finished {
    /// Steps done.
    pub steps: u64,
    /// Whether it stopped before its planned steps.
    pub stopped_early: bool,
    /// Final test accuracy.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub test_accuracy: f64,
    /// Final test loss.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub test_loss: f64,
    /// Time spent in training steps by the last process, seconds.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub train_seconds: f64,
    /// Wall time of the last process, seconds.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub wall_seconds: f64,
    /// Mean training throughput, images per second.
    #[serde(default = "nan", deserialize_with = "number_or_nan")]
    pub samples_per_sec: f64,
    /// The run's folder as the writer named it.
    #[serde(default)]
    pub run_dir: Option<PathBuf>,
    /// Why the final state could not be saved, when it could not.
    #[serde(default)]
    pub unsaved: Option<String>,
}

fn nan() -> f64 {
    f64::NAN
}

/// A number, or `NaN` for `null` (how JSON writers spell a non-finite number).
fn number_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// How the latest process of the run ended, as far as its records tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// No final record since the last start.
    None,
    /// An error record since the last start, and no summary.
    Error(String),
    /// The summary record.
    Finished(Finished),
}

/// The records of one run, and what follows from them.
#[derive(Debug, Clone)]
pub struct EventLog {
    records: VecDeque<EventRecord>,
    dropped: u64,
    skipped: u64,
    evaluations: BTreeMap<u64, Evaluation>,
    ending: Ending,
    starts: u64,
    first_step: Option<u64>,
}

impl Default for EventLog {
    fn default() -> Self {
        Self {
            records: VecDeque::new(),
            dropped: 0,
            skipped: 0,
            evaluations: BTreeMap::new(),
            ending: Ending::None,
            starts: 0,
            first_step: None,
        }
    }
}

impl EventLog {
    /// Takes one line; returns the record it holds, or `None` (and counts it) if it holds none.
    pub fn push_line(&mut self, line: &[u8]) -> Option<EventRecord> {
        match serde_json::from_slice::<EventRecord>(line) {
            Ok(record) => {
                self.push(record.clone());
                Some(record)
            }
            Err(_) => {
                self.skipped += 1;
                None
            }
        }
    }

    /// Takes one record.
    pub fn push(&mut self, record: EventRecord) {
        match &record {
            EventRecord::Started { first_step, .. } => {
                self.starts += 1;
                self.first_step.get_or_insert(*first_step);
                self.ending = Ending::None;
            }
            EventRecord::Resumed { step, .. } => {
                self.ending = Ending::None;
                self.forget_after(*step);
            }
            EventRecord::Rollback { to_step } => {
                self.ending = Ending::None;
                self.forget_after(*to_step);
            }
            EventRecord::Evaluation(e) => {
                self.evaluations.insert(e.step, *e);
            }
            EventRecord::Error { message } if !matches!(self.ending, Ending::Finished(_)) => {
                self.ending = Ending::Error(message.clone());
            }
            EventRecord::Finished(summary) => self.ending = Ending::Finished(summary.clone()),
            _ => {}
        }
        if self.records.len() == KEPT_RECORDS {
            self.records.pop_front();
            self.dropped += 1;
        }
        self.records.push_back(record);
    }

    /// Drops the evaluations after `step`: the run went back to it, so they belong to a
    /// stretch it abandoned.
    fn forget_after(&mut self, step: u64) {
        self.evaluations.split_off(&(step.saturating_add(1)));
    }

    /// The newest records, oldest first (at most [`KEPT_RECORDS`]).
    pub fn records(&self) -> &VecDeque<EventRecord> {
        &self.records
    }

    /// Records read but no longer kept in [`EventLog::records`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Lines that were not records.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The evaluations of the run as it stands (those of abandoned stretches dropped), by step.
    pub fn evaluations(&self) -> &BTreeMap<u64, Evaluation> {
        &self.evaluations
    }

    /// The best test accuracy among [`EventLog::evaluations`].
    pub fn best_accuracy(&self) -> Option<f64> {
        self.evaluations
            .values()
            .map(|e| e.test_accuracy)
            .filter(|a| a.is_finite())
            .reduce(f64::max)
    }

    /// The latest evaluation's test accuracy.
    pub fn final_accuracy(&self) -> Option<f64> {
        self.evaluations
            .values()
            .next_back()
            .map(|e| e.test_accuracy)
            .filter(|a| a.is_finite())
    }

    /// How the latest process ended, as far as the records tell.
    pub fn ending(&self) -> &Ending {
        &self.ending
    }

    /// `started` records read: 1 for a run never resumed.
    pub fn starts(&self) -> u64 {
        self.starts
    }

    /// The first step of the first `started` record (0 unless the records begin mid-run).
    pub fn first_step(&self) -> Option<u64> {
        self.first_step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[&str]) -> EventLog {
        let mut log = EventLog::default();
        for line in lines {
            log.push_line(line.as_bytes());
        }
        log
    }

    fn eval(step: u64, accuracy: f64) -> String {
        format!(
            r#"{{"event":"evaluation","step":{step},"test_accuracy":{accuracy},"test_loss":null,"seconds":0.5}}"#
        )
    }

    #[test]
    fn records_are_read_as_the_trainer_writes_them() {
        let finished = r#"{"event":"finished","steps":3,"stopped_early":true,"test_accuracy":0.9,"test_loss":null,"train_seconds":1.0,"wall_seconds":2.0,"samples_per_sec":3.0,"run_dir":"runs/x","unsaved":null}"#;
        let log = log(&[
            r#"{"event":"started","train_images":10,"test_images":5,"threads":2,"first_step":0,"config":{"train":{}}}"#,
            r#"{"event":"setting_changed","step":7,"setting":"dropout","old":0.5,"new":0.2}"#,
            &eval(3, 0.9),
            r#"{"event":"step","step":1}"#,
            "not json",
            finished,
        ]);
        assert_eq!(log.skipped(), 2);
        assert_eq!(log.records().len(), 4);
        assert_eq!(log.starts(), 1);
        let Ending::Finished(summary) = log.ending() else {
            panic!("{:?}", log.ending())
        };
        assert!(summary.stopped_early);
        assert!(summary.test_loss.is_nan());
        assert_eq!(log.evaluations()[&3].test_accuracy, 0.9);
        assert!(log.evaluations()[&3].test_loss.is_nan());
    }

    #[test]
    fn a_rollback_drops_later_evaluations_and_a_new_start_clears_the_ending() {
        let log = log(&[
            &eval(100, 0.5),
            &eval(200, 0.9),
            r#"{"event":"error","message":"loss is NaN"}"#,
            r#"{"event":"rollback","to_step":150}"#,
            &eval(200, 0.7),
        ]);
        assert_eq!(log.best_accuracy(), Some(0.7));
        assert_eq!(log.final_accuracy(), Some(0.7));
        assert_eq!(log.ending(), &Ending::None);
        let failed = self::log(&[r#"{"event":"error","message":"disk full"}"#]);
        assert_eq!(failed.ending(), &Ending::Error("disk full".into()));
    }
}
