//! The trainer's records and checkpoints: writing them as it goes, resuming from them, and
//! rolling back to the last one.

use std::path::Path;

use anyhow::Result;
use dfdx::prelude::*;
use serde_json::Value;

use super::messages::{Event, StepStats};
use super::step::new_optimizer;
use super::trainer::Trainer;
use crate::data::EpochOrder;
use crate::model;
use crate::run::checkpoint::{self, CheckpointMeta, FORMAT_VERSION, MODEL_NAME};
use crate::run::{CheckpointError, RunRecords};

/// Folder name prefix of periodic checkpoints.
const STEP_PREFIX: &str = "step-";
/// Folder name prefix of the best checkpoint.
const BEST_PREFIX: &str = "best-step-";

impl Trainer {
    /// Continues the run in `dir` from its newest checkpoint: weights, step count, data
    /// order and records. Adam's moment estimates start afresh (dfdx keeps them private).
    pub(super) fn resume_from(&mut self, dir: &Path) -> Result<()> {
        let checkpoints = dir.join("checkpoints");
        let latest =
            checkpoint::latest(&checkpoints).ok_or_else(|| CheckpointError::NoneFound {
                run: dir.to_path_buf(),
            })?;
        self.restore(&latest)?;
        self.records = Some(RunRecords::resume(dir, self.step, &self.config)?);
        self.record_event(
            "resumed",
            serde_json::json!({"step": self.step, "checkpoint": latest}),
        );
        self.send(Event::Preparing(format!(
            "resumed from {} at step {}",
            latest.display(),
            self.step
        )));
        Ok(())
    }

    /// Loads a checkpoint folder into the running trainer.
    fn restore(&mut self, folder: &Path) -> Result<CheckpointMeta, CheckpointError> {
        let (model, meta) = checkpoint::load(folder, &self.device)?;
        let meta = meta.ok_or_else(|| CheckpointError::Read {
            path: folder.join(checkpoint::META_FILE),
            cause: "the metadata file is missing".into(),
        })?;
        self.model = model;
        model::set_dropout(&mut self.model, self.config.train.dropout);
        self.grads = self.model.alloc_grads();
        self.optimizer = new_optimizer(&self.model, meta.config.train.learning_rate);
        self.step = meta.step;
        self.samples = meta.samples;
        self.train_seconds = meta.train_seconds;
        self.wall_offset = meta.wall_seconds - self.wall.elapsed().as_secs_f64();
        // A rollback keeps the best result seen: its checkpoint folder is still there.
        self.best_accuracy = match (self.best_accuracy, meta.best_test_accuracy) {
            (Some(now), Some(then)) => Some(now.max(then)),
            (now, then) => now.or(then),
        };
        self.last_eval = None;
        self.order = EpochOrder::restore(
            self.data.train.len(),
            meta.config.train.seed,
            meta.epoch,
            meta.position,
        );
        self.last_checkpoint_step = Some(meta.step);
        Ok(meta)
    }

    /// Rolls the weights, step count and data order back to the newest checkpoint; the live
    /// settings stay as they are now (so a lowered learning rate applies from there).
    pub(super) fn rollback(&mut self) {
        let Some(dir) = self.records.as_ref().map(|r| r.dir().join("checkpoints")) else {
            self.send(Event::RecordError(
                "no run folder, so there is no checkpoint to roll back to".into(),
            ));
            return;
        };
        let Some(latest) = checkpoint::latest(&dir) else {
            self.send(Event::RecordError(
                "no checkpoint written yet to roll back to".into(),
            ));
            return;
        };
        let lr = self.config.train.learning_rate;
        match self.restore(&latest) {
            Ok(meta) => {
                self.optimizer.cfg.lr = lr;
                if let Some(records) = self.records.as_mut() {
                    if let Err(e) = records.rewind(meta.step) {
                        self.send(Event::RecordError(e.to_string()));
                    }
                }
                self.record_event("rollback", serde_json::json!({"to_step": meta.step}));
                self.send(Event::RolledBack(meta.step));
            }
            Err(e) => self.send(Event::RecordError(e.to_string())),
        }
    }

    /// Seconds since the run first started, resumes included.
    fn run_seconds(&self) -> f64 {
        self.wall_offset + self.wall.elapsed().as_secs_f64()
    }

    /// The settings to record: the live ones, with the seed the data order really uses (a
    /// `--seed` given with `--resume` changes nothing already under way).
    fn recorded_config(&self) -> crate::config::Config {
        let mut config = self.config.clone();
        config.train.seed = self.order.seed();
        config
    }

    fn meta(&self) -> CheckpointMeta {
        CheckpointMeta {
            format: FORMAT_VERSION,
            model: MODEL_NAME.into(),
            step: self.step,
            epoch: self.order.epoch(),
            position: self.order.position(),
            samples: self.samples,
            train_seconds: self.train_seconds,
            wall_seconds: self.run_seconds(),
            test_accuracy: self.last_eval.as_ref().map(|e| e.accuracy),
            best_test_accuracy: self.best_accuracy,
            config: self.recorded_config(),
        }
    }

    /// Writes a periodic checkpoint and drops the oldest beyond `run.keep_checkpoints`.
    pub(super) fn checkpoint(&mut self) {
        let Some(dir) = self.records.as_ref().map(|r| r.dir().join("checkpoints")) else {
            return;
        };
        let name = checkpoint::folder_name(STEP_PREFIX, self.step);
        match self.write_checkpoint(&dir, &name) {
            Ok(()) => {
                self.last_checkpoint_step = Some(self.step);
                self.checkpoint_error = None;
                let old = checkpoint::step_folders(&dir, STEP_PREFIX);
                let excess = old.len().saturating_sub(self.config.run.keep_checkpoints);
                for folder in &old[..excess] {
                    let _ = std::fs::remove_dir_all(folder);
                }
            }
            Err(e) => {
                self.checkpoint_error = Some(e.to_string());
                self.send(Event::RecordError(e.to_string()));
            }
        }
    }

    /// Writes the best checkpoint so far, then removes the previous best.
    pub(super) fn save_best(&mut self) {
        let Some(dir) = self.records.as_ref().map(|r| r.dir().join("checkpoints")) else {
            return;
        };
        let name = checkpoint::folder_name(BEST_PREFIX, self.step);
        match self.write_checkpoint(&dir, &name) {
            Ok(()) => {
                for folder in checkpoint::step_folders(&dir, BEST_PREFIX) {
                    if !folder.ends_with(&name) {
                        let _ = std::fs::remove_dir_all(folder);
                    }
                }
            }
            Err(e) => self.send(Event::RecordError(e.to_string())),
        }
    }

    fn write_checkpoint(&mut self, dir: &Path, name: &str) -> Result<(), CheckpointError> {
        std::fs::create_dir_all(dir).map_err(|e| CheckpointError::Write {
            path: dir.to_path_buf(),
            cause: e.to_string(),
        })?;
        let path = checkpoint::save(dir, name, &self.model, &self.meta())?;
        self.record_event(
            "checkpoint",
            serde_json::json!({"step": self.step, "path": path}),
        );
        self.send(Event::Checkpoint {
            step: self.step,
            path,
        });
        Ok(())
    }

    /// Appends a step's row to `metrics.csv`.
    pub(super) fn record_step(&mut self, stats: &StepStats) {
        let wall = self.run_seconds();
        if let Some(records) = self.records.as_mut() {
            if let Err(e) = records.step(stats, wall) {
                self.send(Event::RecordError(e.to_string()));
            }
        }
    }

    /// Appends an event to `events.jsonl`.
    pub(super) fn record_event(&mut self, kind: &str, value: Value) {
        if let Some(records) = self.records.as_mut() {
            if let Err(e) = records.event(kind, value) {
                self.send(Event::RecordError(e.to_string()));
            }
        }
    }
}
