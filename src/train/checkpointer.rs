//! A run's records and checkpoints, as the trainer writes them: one row a step, one record an
//! event, periodic checkpoints (the newest few kept) and the best one.

use std::path::PathBuf;

use super::messages::{LayerStats, StepStats};
use super::state::TrainingState;
use crate::config::Config;
use crate::run::{
    CheckpointError, CheckpointKind, MetricsRow, Record, RecordError, RunDir, RunRecords,
};

/// The open records of a run and what is known of its checkpoints.
pub struct Checkpointer {
    records: RunRecords,
    /// The step of the newest periodic checkpoint written or loaded.
    last_step: Option<u64>,
    /// Why the last checkpoint could not be written, until one is.
    last_error: Option<String>,
}

impl Checkpointer {
    /// Starts the records of a new run in `run`.
    pub fn create(run: &RunDir, config: &Config) -> Result<Self, RecordError> {
        Ok(Self {
            records: RunRecords::create(run, config)?,
            last_step: None,
            last_error: None,
        })
    }

    /// Reopens the records of `run` to go on after `step`, the step of the checkpoint loaded.
    pub fn resume(run: &RunDir, step: u64, config: &Config) -> Result<Self, RecordError> {
        Ok(Self {
            records: RunRecords::resume(run, step, config)?,
            last_step: Some(step),
            last_error: None,
        })
    }

    /// The run's folder.
    pub fn run(&self) -> &RunDir {
        self.records.dir()
    }

    /// Appends a step's row to `metrics.csv`; `wall_seconds` counts from the run's start.
    pub fn step(&mut self, stats: &StepStats, wall_seconds: f64) -> Result<(), RecordError> {
        self.records.step(&MetricsRow {
            step: stats.step,
            loss: stats.loss,
            accuracy: stats.accuracy,
            learning_rate: stats.learning_rate,
            samples_per_sec: stats.samples_per_sec,
            wall_seconds,
            epoch: stats.epoch,
        })
    }

    /// Appends a step's layer statistics to `layers.jsonl`.
    pub fn layers(&mut self, stats: &LayerStats) -> Result<(), RecordError> {
        self.records.layers(stats)
    }

    /// What reopening the records repaired after a crash, once (see
    /// [`RunRecords::resume`]).
    pub fn take_notes(&mut self) -> Vec<String> {
        self.records.take_notes()
    }

    /// Appends a record to `events.jsonl`.
    pub fn record(&mut self, record: &Record) -> Result<(), RecordError> {
        self.records.event(record)
    }

    /// Whether a periodic checkpoint of `step` exists.
    pub fn has(&self, step: u64) -> bool {
        self.last_step == Some(step)
    }

    /// Why the state at `step` is not saved, when the last attempt to save it failed.
    pub fn unsaved(&self, step: u64) -> Option<String> {
        self.last_error.clone().filter(|_| !self.has(step))
    }

    /// Writes a periodic checkpoint and drops the oldest beyond `config.run.keep_checkpoints`.
    pub fn save_periodic(
        &mut self,
        state: &mut TrainingState,
        config: &Config,
    ) -> Result<PathBuf, CheckpointError> {
        match self.write(state, config, CheckpointKind::Periodic) {
            Ok(path) => {
                self.last_step = Some(state.step());
                self.last_error = None;
                let kept = self.run().checkpoints(CheckpointKind::Periodic);
                let excess = kept.len().saturating_sub(config.run.keep_checkpoints);
                for folder in &kept[..excess] {
                    let _ = std::fs::remove_dir_all(folder);
                }
                Ok(path)
            }
            Err(e) => {
                self.last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Writes the best checkpoint so far, then removes the previous best.
    pub fn save_best(
        &mut self,
        state: &mut TrainingState,
        config: &Config,
    ) -> Result<PathBuf, CheckpointError> {
        let path = self.write(state, config, CheckpointKind::Best)?;
        for folder in self.run().checkpoints(CheckpointKind::Best) {
            if folder != path {
                let _ = std::fs::remove_dir_all(folder);
            }
        }
        Ok(path)
    }

    /// The best checkpoint's folder, when the one of `step` is there.
    pub fn best_folder(&self, step: u64) -> Option<PathBuf> {
        self.run()
            .checkpoints(CheckpointKind::Best)
            .into_iter()
            .find(|f| f.ends_with(RunDir::checkpoint_name(CheckpointKind::Best, step)))
    }

    /// The checkpoints a rollback tries, in order: the periodic ones, newest first.
    pub fn rollback_candidates(&self) -> Vec<PathBuf> {
        let mut folders = self.run().checkpoints(CheckpointKind::Periodic);
        folders.reverse();
        folders
    }

    /// Drops the rows of steps after `step` (after a rollback to it).
    pub fn rewind(&mut self, step: u64) -> Result<(), RecordError> {
        self.last_step = Some(step);
        self.records.rewind(step)
    }

    /// Writes a checkpoint of `kind`. The rows of every step up to it reach `metrics.csv`
    /// first, so a resume from it (after a crash at any moment) finds them all.
    fn write(
        &mut self,
        state: &mut TrainingState,
        config: &Config,
        kind: CheckpointKind,
    ) -> Result<PathBuf, CheckpointError> {
        let dir = self.run().checkpoints_dir();
        if let Some(why) = state.diverged() {
            return Err(CheckpointError::Diverged {
                path: dir.join(RunDir::checkpoint_name(kind, state.step())),
                why: why.to_string(),
            });
        }
        self.records.flush().map_err(|e| CheckpointError::Write {
            path: dir.join(RunDir::checkpoint_name(kind, state.step())),
            cause: format!("the rows before it could not be written first ({e})"),
        })?;
        std::fs::create_dir_all(&dir).map_err(|e| CheckpointError::Write {
            path: dir.clone(),
            cause: e.to_string(),
        })?;
        state.save(&dir, &RunDir::checkpoint_name(kind, state.step()), config)
    }
}
