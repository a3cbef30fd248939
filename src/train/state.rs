//! Everything training changes as it goes (weights, optimizer, data order, counters), and how
//! that is written to and read back from a checkpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use dfdx::prelude::*;

use super::adam::Adam;
use super::evaluate::{batch_accuracy, evaluate};
use super::messages::{Evaluation, StepStats, TrainingBatch, Weights};
use super::schedule::learning_rate;
use super::step::{new_optimizer, train_step, StepError};
use crate::augment::Augmenter;
use crate::config::{Config, TrainConfig};
use crate::data::{EpochOrder, Mnist};
use crate::model::{self, Network, CLASSES, IMAGE_PIXELS};
use crate::run::checkpoint::{self, CheckpointMeta, FORMAT_VERSION, MODEL_NAME};
use crate::run::CheckpointError;

/// The state of a run between two steps.
pub struct TrainingState {
    device: Cpu,
    model: Network,
    grads: Gradients<f32, Cpu>,
    optimizer: Adam,
    order: EpochOrder,
    step: u64,
    samples: u64,
    train_seconds: f64,
    /// When this process started the run.
    started: Instant,
    /// Seconds the run had already taken before this process (resumes), minus the time this
    /// process spent before the checkpoint was loaded.
    wall_offset: f64,
    best_accuracy: Option<f64>,
    last_eval: Option<Evaluation>,
    augmenter: Augmenter,
    /// Whether each step keeps its batch (from the first time someone asks for one on).
    keeps_batches: bool,
    /// The images and labels of the latest step, as the network saw them.
    last_batch: Option<TrainingBatch>,
}

impl TrainingState {
    /// A fresh network initialised from `train.seed`, at step 0 of an order over `train_len`
    /// images; `started` is when the run began (data loading included).
    pub fn new(train: &TrainConfig, train_len: usize, started: Instant) -> Self {
        let device = Cpu::seed_from_u64(train.seed);
        let mut model = model::build(&device, train.init);
        model::set_dropout(&mut model, train.dropout);
        let grads = model.alloc_grads();
        let optimizer = new_optimizer(&model, train.learning_rate);
        Self {
            device,
            model,
            grads,
            optimizer,
            order: EpochOrder::new(train_len, train.seed),
            step: 0,
            samples: 0,
            train_seconds: 0.0,
            started,
            wall_offset: 0.0,
            best_accuracy: None,
            last_eval: None,
            augmenter: Augmenter::new(train.augment),
            keeps_batches: false,
            last_batch: None,
        }
    }

    /// From the next step on, keeps each step's batch for [`Self::last_batch`]. Until this
    /// is called no step spends time copying its images.
    pub fn keep_batches(&mut self) {
        self.keeps_batches = true;
    }

    /// The images of the latest step as the network saw them (augmented, when augmentation
    /// is on), with their labels; none before the first step after [`Self::keep_batches`].
    pub fn last_batch(&self) -> Option<TrainingBatch> {
        self.last_batch.clone()
    }

    /// Steps done.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The latest evaluation since the start or the last restore.
    pub fn last_eval(&self) -> Option<&Evaluation> {
        self.last_eval.as_ref()
    }

    /// Images trained on so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Seconds spent in training steps so far, resumes included.
    pub fn train_seconds(&self) -> f64 {
        self.train_seconds
    }

    /// Seconds since the run first started, resumes included.
    pub fn run_seconds(&self) -> f64 {
        self.wall_offset + self.started.elapsed().as_secs_f64()
    }

    /// Seconds since this process started the run.
    pub fn process_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The seed the data order really uses.
    pub fn seed(&self) -> u64 {
        self.order.seed()
    }

    /// The data order the next step takes its batch from (`next_batch` on a clone shows that
    /// batch without taking it).
    pub fn order(&self) -> &EpochOrder {
        &self.order
    }

    /// The weights as they are now, shared.
    pub fn weights(&self) -> Weights {
        Weights {
            step: self.step,
            model: Arc::new(self.model.clone()),
        }
    }

    /// Sets the probability of dropping units of the hidden layer from the next step on.
    pub fn set_dropout(&mut self, p: f32) {
        model::set_dropout(&mut self.model, p);
    }

    /// One forward, backward and Adam update on the next mini-batch of `data` under the
    /// settings in `train`. A failed step leaves the weights alone and does not consume its
    /// batch: a rolled-back or re-tuned run sees it again.
    pub fn train_step(
        &mut self,
        train: &TrainConfig,
        data: &Mnist,
    ) -> Result<StepStats, StepError> {
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::before_step(self.step + 1);
        let started = Instant::now();
        let lr = learning_rate(
            train.schedule,
            train.learning_rate,
            train.warmup_fraction,
            self.step,
            train.steps,
        );
        self.optimizer.cfg.lr = lr;
        let batch = train.batch_size.min(data.train.len());
        let (epoch, position) = (self.order.epoch(), self.order.position());
        let (_, indices) = self.order.next_batch(batch);
        let mut pixels = vec![0.0f32; batch * IMAGE_PIXELS];
        let mut one_hot = vec![0.0f32; batch * CLASSES];
        data.train.fill_images(&indices, &mut pixels);
        data.train.fill_one_hot(&indices, &mut one_hot);
        self.augmenter
            .augment_batch(&mut pixels, self.order.seed(), self.step + 1);
        let seen = self
            .keeps_batches
            .then(|| TrainingBatch::keep(self.step + 1, &pixels, &indices, &data.train));
        let output = train_step(
            &mut self.model,
            &mut self.optimizer,
            &mut self.grads,
            &self.device,
            pixels,
            &one_hot,
        )
        .map_err(|e| {
            self.order = EpochOrder::restore(self.order.len(), self.order.seed(), epoch, position);
            e.at_step(self.step + 1, lr)
        })?;
        let seconds = started.elapsed().as_secs_f64();
        self.train_seconds += seconds;
        self.step += 1;
        self.samples += batch as u64;
        self.last_batch = seen;
        Ok(StepStats {
            step: self.step,
            total_steps: train.steps,
            epoch: self.order.epochs_done(),
            loss: output.loss,
            accuracy: batch_accuracy(&output.logits, &one_hot),
            learning_rate: lr,
            batch_size: batch,
            samples_per_sec: batch as f64 / seconds.max(1e-9),
            train_seconds: self.train_seconds,
        })
    }

    /// Scores the network on the test set in batches of `batch`. Returns the evaluation and
    /// whether it is the best of the run so far.
    pub fn evaluate(&mut self, data: &Mnist, batch: usize) -> (Evaluation, bool) {
        let started = Instant::now();
        let scores = evaluate(&self.model, &self.device, &data.test, batch);
        let evaluation = Evaluation {
            step: self.step,
            accuracy: scores.accuracy,
            loss: scores.loss,
            seconds: started.elapsed().as_secs_f64(),
            probabilities: Arc::new(scores.probabilities),
        };
        let best = self.best_accuracy.is_none_or(|b| evaluation.accuracy > b);
        if best {
            self.best_accuracy = Some(evaluation.accuracy);
        }
        self.last_eval = Some(evaluation.clone());
        (evaluation, best)
    }

    /// The settings to record: `config` with the seed the data order really uses (a `--seed`
    /// given with `--resume` changes nothing already under way).
    pub fn recorded_config(&self, config: &Config) -> Config {
        let mut config = config.clone();
        config.train.seed = self.order.seed();
        config
    }

    /// Writes the weights and where training stands as the checkpoint folder `dir/name`.
    pub fn save(
        &self,
        dir: &Path,
        name: &str,
        config: &Config,
    ) -> Result<PathBuf, CheckpointError> {
        let meta = CheckpointMeta {
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
            config: self.recorded_config(config),
            // Filled in by `checkpoint::save` from the file it writes.
            weights_sha256: None,
        };
        checkpoint::save(dir, name, &self.model, &meta)
    }

    /// Loads the checkpoint `folder`: weights, step, data order and counters. The network
    /// takes `dropout`, and Adam starts afresh at the checkpoint's learning rate (dfdx keeps
    /// its moment estimates private, so they are not in the file).
    pub fn restore(
        &mut self,
        folder: &Path,
        dropout: f32,
    ) -> Result<CheckpointMeta, CheckpointError> {
        let (model, meta) = checkpoint::load(folder, &self.device)?;
        let meta = meta.ok_or_else(|| CheckpointError::Read {
            path: folder.join(checkpoint::META_FILE),
            cause: "the metadata file is missing".into(),
        })?;
        self.model = model;
        model::set_dropout(&mut self.model, dropout);
        self.grads = self.model.alloc_grads();
        self.optimizer = new_optimizer(&self.model, meta.config.train.learning_rate);
        self.step = meta.step;
        self.samples = meta.samples;
        self.train_seconds = meta.train_seconds;
        self.wall_offset = meta.wall_seconds - self.process_seconds();
        // A rollback keeps the best result seen: its checkpoint folder is still there.
        self.best_accuracy = match (self.best_accuracy, meta.best_test_accuracy) {
            (Some(now), Some(then)) => Some(now.max(then)),
            (now, then) => now.or(then),
        };
        self.last_eval = None;
        self.order = EpochOrder::restore(
            self.order.len(),
            meta.config.train.seed,
            meta.epoch,
            meta.position,
        );
        Ok(meta)
    }
}
