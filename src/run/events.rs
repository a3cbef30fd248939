//! `events.jsonl` read back: its [`Record`]s, and what follows from them (the evaluations of
//! the run as it stands, how its latest process ended).
//!
//! A line that is not a record (garbage, a newer kind of record) is skipped and counted, never
//! an error.

use std::collections::{BTreeMap, VecDeque};

use super::record::{ErrorKind, EvalSplit, Evaluation, Record, RunError, Summary};

/// The newest records kept in [`RecordLog::records`]; older ones are dropped.
pub const KEPT_RECORDS: usize = 10_000;

/// How the latest process of the run ended, as far as its records tell.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// No final record since the last start.
    None,
    /// An error record since the last start, and no summary.
    Error(RunError),
    /// The summary record.
    Finished(Summary),
}

/// The records of one run, and what follows from them.
#[derive(Debug, Clone)]
pub struct RecordLog {
    records: VecDeque<Record>,
    skipped: u64,
    evaluations: BTreeMap<(u64, u8), Evaluation>,
    ending: Ending,
    starts: u64,
    first_step: Option<u64>,
    test_looks: u64,
    validation_images: usize,
}

impl Default for RecordLog {
    fn default() -> Self {
        Self {
            records: VecDeque::new(),
            skipped: 0,
            evaluations: BTreeMap::new(),
            ending: Ending::None,
            starts: 0,
            first_step: None,
            test_looks: 0,
            validation_images: 0,
        }
    }
}

impl RecordLog {
    /// Takes one line; returns the record it holds, or `None` (and counts it) if it holds none.
    pub fn push_line(&mut self, line: &[u8]) -> Option<Record> {
        match Record::from_json_line(line) {
            Some(record) => {
                self.push(record.clone());
                Some(record)
            }
            None => {
                self.skipped += 1;
                None
            }
        }
    }

    /// Takes one record.
    pub fn push(&mut self, record: Record) {
        match &record {
            Record::Started(started) => {
                if self.starts == 0 {
                    self.validation_images = started.validation_images;
                }
                self.starts += 1;
                self.first_step.get_or_insert(started.first_step);
                self.ending = Ending::None;
            }
            Record::Resumed(from) => {
                self.ending = Ending::None;
                self.forget_after(from.step);
            }
            Record::Rollback { to_step } => {
                self.ending = Ending::None;
                self.forget_after(*to_step);
            }
            Record::Evaluation(e) => {
                self.test_looks += u64::from(e.split == EvalSplit::Test);
                // A step may have a validation and a test evaluation: keyed by both.
                if e.checkpoint.is_none() {
                    self.evaluations.insert((e.step, e.split.rank()), e.clone());
                }
            }
            Record::Error(error) if !matches!(self.ending, Ending::Finished(_)) => {
                self.ending = Ending::Error(error.clone());
            }
            Record::Finished(summary) => self.ending = Ending::Finished(summary.clone()),
            _ => {}
        }
        if self.records.len() == KEPT_RECORDS {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }

    /// Drops the evaluations after `step`: the run went back to it, so they belong to a
    /// stretch it abandoned.
    fn forget_after(&mut self, step: u64) {
        self.evaluations.split_off(&(step.saturating_add(1), 0));
    }

    /// The newest records, oldest first (at most [`KEPT_RECORDS`]).
    pub fn records(&self) -> &VecDeque<Record> {
        &self.records
    }

    /// Lines that were not records.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The evaluations of the weights in training, as the run stands (those of abandoned
    /// stretches dropped), in step order.
    pub fn evaluations(&self) -> impl DoubleEndedIterator<Item = &Evaluation> {
        self.evaluations.values()
    }

    /// The split the run made its choices on: validation when it held one out, else test.
    pub fn choosing_split(&self) -> EvalSplit {
        if self.validation_images > 0 {
            EvalSplit::Validation
        } else {
            EvalSplit::Test
        }
    }

    /// The evaluations of the weights in training on `split`, as the run stands.
    fn of_split(&self, split: EvalSplit) -> impl DoubleEndedIterator<Item = &Evaluation> {
        self.evaluations
            .values()
            .filter(move |e| e.split == split && e.checkpoint.is_none())
    }

    /// The best accuracy on the split choices were made on ([`RecordLog::choosing_split`]).
    pub fn best_accuracy(&self) -> Option<f64> {
        self.of_split(self.choosing_split())
            .map(|e| e.accuracy)
            .filter(|a| a.is_finite())
            .reduce(f64::max)
    }

    /// The latest test accuracy of the weights in training.
    pub fn final_test_accuracy(&self) -> Option<f64> {
        self.of_split(EvalSplit::Test)
            .next_back()
            .map(|e| e.accuracy)
            .filter(|a| a.is_finite())
    }

    /// Times the run scored its test set, by its records (looks of stretches later abandoned
    /// included: a look is a look).
    pub fn test_looks(&self) -> u64 {
        self.test_looks
    }

    /// Images held out as the validation split, as the first start recorded (0: none).
    pub fn validation_images(&self) -> usize {
        self.validation_images
    }

    /// How the latest process ended, as far as the records tell.
    pub fn ending(&self) -> &Ending {
        &self.ending
    }

    /// Whether the latest process's records end the run for good: a summary, or an error
    /// that stops a run (a divergence ends one only when its writer has gone, since the
    /// dashboard pauses on it instead).
    pub fn has_final_record(&self) -> bool {
        match &self.ending {
            Ending::None => false,
            Ending::Finished(_) => true,
            Ending::Error(error) => error.kind != ErrorKind::Diverged,
        }
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

    fn log(lines: &[&str]) -> RecordLog {
        let mut log = RecordLog::default();
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
        let started = format!(
            r#"{{"event":"started","train_images":10,"test_images":5,"threads":2,"first_step":0,"config":{}}}"#,
            serde_json::to_string(&crate::config::Config::default()).unwrap()
        );
        let log = log(&[
            &started,
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
        let e = log.evaluations().next().unwrap();
        assert_eq!((e.step, e.accuracy), (3, 0.9));
        assert!(e.loss.is_nan());
    }

    #[test]
    fn a_rollback_drops_later_evaluations_and_a_new_start_clears_the_ending() {
        let log = log(&[
            &eval(100, 0.5),
            &eval(200, 0.9),
            r#"{"event":"error","kind":"diverged","message":"loss is NaN"}"#,
            r#"{"event":"rollback","to_step":150}"#,
            &eval(200, 0.7),
        ]);
        assert_eq!(log.best_accuracy(), Some(0.7));
        assert_eq!(log.final_test_accuracy(), Some(0.7));
        assert_eq!(log.test_looks(), 3, "a look is a look, even if abandoned");
        assert_eq!(log.ending(), &Ending::None);
        let failed = self::log(&[r#"{"event":"error","message":"disk full"}"#]);
        assert_eq!(
            failed.ending(),
            &Ending::Error(RunError {
                kind: ErrorKind::Failed,
                message: "disk full".into()
            })
        );
        assert!(failed.has_final_record());
        let diverged = self::log(&[r#"{"event":"error","kind":"diverged","message":"NaN"}"#]);
        assert!(!diverged.has_final_record());
    }
}
