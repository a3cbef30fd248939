//! A sweep read back from its folder: each trial's settings, status, rung, best validation
//! accuracy and images trained, ranked. What `sweep report`, `plot`, `watch` and the
//! dashboard's Sweep page show; it only reads files, so it works while the sweep runs, from
//! another process or machine.

use std::path::Path;

use super::error::SweepError;
use super::folder::SweepDir;
use super::record::SweepRecord;
use super::spec::{SweepFile, SweepSpec};
use super::value::{ParamValue, Settings};
use crate::config::Config;
use crate::run::metrics::Detail;
use crate::run::{writer_alive, RunHistory, RunStatus};

/// Where a trial stands, as the sweep's records (and, while it trains, its run folder) tell.
#[derive(Debug, Clone, PartialEq)]
pub enum TrialStatus {
    /// Its settings are fixed; it has not started.
    Planned,
    /// A process trains it now.
    Running,
    /// Its records say it trains, but no process does (the sweep was stopped or killed):
    /// `sweep --resume` goes on from its newest checkpoint.
    Interrupted,
    /// At a rung below the top, waiting for a promotion.
    Waiting,
    /// Left at its rung by the scheduler.
    StoppedEarly,
    /// Trained its full budget.
    Finished,
    /// Could not train.
    Failed {
        /// Why.
        message: String,
    },
}

impl TrialStatus {
    /// One word or two for tables: `planned`, `running`, `interrupted`, `waiting`,
    /// `stopped early`, `finished`, `failed`.
    pub fn label(&self) -> &'static str {
        match self {
            TrialStatus::Planned => "planned",
            TrialStatus::Running => "running",
            TrialStatus::Interrupted => "interrupted",
            TrialStatus::Waiting => "waiting",
            TrialStatus::StoppedEarly => "stopped early",
            TrialStatus::Finished => "finished",
            TrialStatus::Failed { .. } => "failed",
        }
    }
}

/// One trial of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRow {
    /// Its number.
    pub trial: usize,
    /// Its folder's name, `trial-007`.
    pub name: String,
    /// Its searched settings.
    pub settings: Settings,
    /// Where it stands.
    pub status: TrialStatus,
    /// The rung it reached or trains toward (0 without a scheduler).
    pub rung: usize,
    /// Its best validation accuracy so far.
    pub validation_accuracy: Option<f64>,
    /// The test accuracy of its best checkpoint, once it finished.
    pub test_accuracy: Option<f64>,
    /// Steps trained.
    pub steps: u64,
    /// Images trained (steps times its batch size).
    pub images: u64,
    /// Images of its full budget.
    pub full_images: Option<u64>,
    /// Seconds it trained for, evaluations included (as last recorded).
    pub seconds: Option<f64>,
}

/// A sweep as its folder holds it.
#[derive(Debug, Clone)]
pub struct SweepBoard {
    /// The folder.
    pub dir: SweepDir,
    /// The sweep, checked.
    pub spec: SweepSpec,
    /// The settings its trials start from.
    pub base: Config,
    /// Its trials with a record, by number.
    pub trials: Vec<TrialRow>,
}

impl SweepBoard {
    /// Reads the sweep in `dir`; the trials a process trains now are read from their run
    /// folders too (steps and best validation accuracy so far).
    pub fn read(dir: &Path) -> Result<Self, SweepError> {
        let sweep = SweepDir::new(dir);
        let (file, base) = sweep.load()?;
        let spec = SweepSpec::new(file, &sweep.sweep_file(), &base)?;
        let records = sweep.records()?;
        let mut trials: Vec<TrialRow> = Vec::new();
        for record in &records {
            let trial = record.trial();
            let index = match trials.iter().position(|t| t.trial == trial) {
                Some(i) => i,
                None => {
                    trials.push(TrialRow::new(trial));
                    trials.len() - 1
                }
            };
            trials[index].apply(record, base.train.batch_size);
        }
        trials.sort_by_key(|t| t.trial);
        let coordinated = writer_alive(&sweep.as_run());
        for row in trials
            .iter_mut()
            .filter(|t| t.status == TrialStatus::Running)
        {
            row.read_live(&sweep, base.train.batch_size, coordinated);
        }
        Ok(Self {
            dir: sweep,
            spec,
            base,
            trials,
        })
    }

    /// Whether `dir` holds a sweep.
    pub fn is_sweep(dir: &Path) -> bool {
        SweepDir::new(dir).is_sweep()
    }

    /// The trials best first: by best validation accuracy, those without one last.
    pub fn ranked(&self) -> Vec<&TrialRow> {
        let mut rows: Vec<&TrialRow> = self.trials.iter().collect();
        let key = |r: &TrialRow| {
            r.validation_accuracy
                .filter(|a| a.is_finite())
                .unwrap_or(-1.0)
        };
        rows.sort_by(|a, b| key(b).total_cmp(&key(a)).then(a.trial.cmp(&b.trial)));
        rows
    }

    /// The sweep's choice: the finished trial with the best validation accuracy (while none
    /// has finished, the best so far).
    pub fn best(&self) -> Option<&TrialRow> {
        let ranked = self.ranked();
        ranked
            .iter()
            .find(|r| r.status == TrialStatus::Finished)
            .or_else(|| ranked.iter().find(|r| r.validation_accuracy.is_some()))
            .copied()
    }

    /// Images trained by every trial together.
    pub fn images_trained(&self) -> u64 {
        self.trials.iter().map(|t| t.images).sum()
    }

    /// Images the started trials would have trained, each to its full budget.
    pub fn full_budget_images(&self) -> u64 {
        self.trials.iter().filter_map(|t| t.full_images).sum()
    }

    /// The sweep file as it runs.
    pub fn file(&self) -> &SweepFile {
        &self.spec.file
    }
}

impl TrialRow {
    /// A trial known by its number only.
    fn new(trial: usize) -> Self {
        Self {
            trial,
            name: SweepDir::trial_name(trial),
            settings: Settings::new(),
            status: TrialStatus::Planned,
            rung: 0,
            validation_accuracy: None,
            test_accuracy: None,
            steps: 0,
            images: 0,
            full_images: None,
            seconds: None,
        }
    }

    /// The batch size of this trial (the base's when not searched).
    fn batch(&self, base_batch: usize) -> u64 {
        match self.settings.get("batch_size") {
            Some(ParamValue::Int(b)) if *b > 0 => *b as u64,
            _ => base_batch as u64,
        }
    }

    /// Takes in one of its records.
    fn apply(&mut self, record: &SweepRecord, base_batch: usize) {
        let best = |old: Option<f64>, new: f64| {
            Some(old.map_or(new, |o| if new.is_finite() { o.max(new) } else { o }))
        };
        match record {
            SweepRecord::Planned(p) => self.settings = p.settings.clone(),
            SweepRecord::Started(s) => {
                self.settings = s.settings.clone();
                self.status = TrialStatus::Running;
                self.rung = s.rung;
                self.full_images = Some(s.full_steps * self.batch(base_batch));
            }
            SweepRecord::Reached(r) => {
                self.status = TrialStatus::Waiting;
                self.rung = r.rung;
                self.steps = r.steps;
                self.images = r.images;
                self.seconds = Some(r.seconds);
                self.validation_accuracy = best(self.validation_accuracy, r.validation_accuracy);
            }
            SweepRecord::Promoted(p) => {
                self.status = TrialStatus::Running;
                self.rung = p.to_rung;
            }
            SweepRecord::StoppedEarly(s) => {
                self.status = TrialStatus::StoppedEarly;
                self.rung = s.rung;
                self.steps = s.steps;
                self.images = s.images;
            }
            SweepRecord::Finished(f) => {
                self.status = TrialStatus::Finished;
                self.steps = f.steps;
                self.images = f.images;
                self.seconds = Some(f.seconds);
                self.validation_accuracy =
                    best(self.validation_accuracy, f.best_validation_accuracy);
                self.test_accuracy = f.test_accuracy;
            }
            SweepRecord::Failed(f) => {
                self.status = TrialStatus::Failed {
                    message: f.message.clone(),
                };
            }
        }
    }

    /// Reads how far a trial its records call running has come, from its run folder; one
    /// that no process trains is interrupted, unless the sweep's own process (`coordinated`)
    /// is alive and about to go on with it.
    fn read_live(&mut self, sweep: &SweepDir, base_batch: usize, coordinated: bool) {
        let history = RunHistory::open(sweep.trial(self.trial), Detail::Summary);
        let Ok(history) = history else {
            if !coordinated && !sweep.trial(self.trial).path().exists() {
                self.status = TrialStatus::Interrupted;
            }
            return;
        };
        let steps = history.steps_done();
        if steps > self.steps {
            self.steps = steps;
            self.images = steps * self.batch(base_batch);
        }
        if let Some(best) = history.best_accuracy() {
            self.validation_accuracy = Some(self.validation_accuracy.map_or(best, |a| a.max(best)));
        }
        if !coordinated && !matches!(history.status(), RunStatus::Running) {
            self.status = TrialStatus::Interrupted;
        }
    }
}
