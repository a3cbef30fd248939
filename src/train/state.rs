//! Everything training changes as it goes (weights, optimizer, data order, counters), and how
//! that is written to and read back from a checkpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use dfdx::prelude::*;

use super::adam::Adam;
use super::layer_stats::{Before, GradientRms};
use super::messages::{Evaluation, LayerStats, StepStats, TrainingBatch, Weights};
use super::schedule::learning_rate;
use super::step::{new_optimizer, smooth_labels, train_step_seen, StepError, DIVERGED_LOSS};
use crate::augment::Augmenter;
use crate::config::{Config, TrainConfig};
use crate::data::{EpochOrder, Mnist, Split};
use crate::model::score::{batch_accuracy, evaluate, mean_loss};
use crate::model::{self, Network, CLASSES, IMAGE_PIXELS};
use crate::run::checkpoint::{self, CheckpointMeta, FORMAT_VERSION, MODEL_NAME};
use crate::run::record::EvalSplit;
use crate::run::CheckpointError;

/// Adam for `model` at `lr`, its write-back deferred: the steps read its own copy of the
/// weights, and the model is brought up to date where it is read.
fn deferring_optimizer(model: &Network, lr: f64) -> Adam {
    let mut optimizer = new_optimizer(model, lr);
    optimizer.defer_write_back(true);
    optimizer
}

/// Training images whose loss [`TrainingState::probe_before_saving`] checks.
pub const PROBE_IMAGES: usize = 256;

/// The state of a run between two steps.
pub struct TrainingState {
    device: Cpu,
    /// The weights in training. The optimizer defers writing its updates back (see
    /// [`Adam::defer_write_back`]): outside a step, read them through what
    /// `self.optimizer.write_back(&mut self.model)` returns.
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
    /// Why the weights in memory must not be saved: a loss they produced was not finite or
    /// above [`DIVERGED_LOSS`] (see [`TrainingState::diverged`]).
    diverged: Option<String>,
    /// The best evaluation on the split choices are made on: its step, accuracy and weights.
    best: Option<(u64, f64, Network)>,
    /// Times the test set was scored.
    test_looks: u64,
    /// The latest evaluation of the weights in training on the test set.
    last_test: Option<Evaluation>,
    /// Steps between layer statistics (0: none).
    layer_stats_every: u64,
    /// The layer statistics of the latest step, until taken.
    layer_stats: Option<LayerStats>,
}

impl TrainingState {
    /// A fresh network initialised from `train.seed`, at step 0 of an order over `train_len`
    /// images; `started` is when the run began (data loading included).
    pub fn new(train: &TrainConfig, train_len: usize, started: Instant) -> Self {
        let device = Cpu::seed_from_u64(train.seed);
        let mut model = model::build(&device, train.init);
        model::set_dropout(&mut model, train.dropout);
        let grads = model.alloc_grads();
        let optimizer = deferring_optimizer(&model, train.learning_rate);
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
            diverged: None,
            best: None,
            test_looks: 0,
            last_test: None,
            layer_stats_every: 0,
            layer_stats: None,
        }
    }

    /// Computes layer statistics every `every` steps from now on (0: never).
    pub fn set_layer_stats_every(&mut self, every: u64) {
        self.layer_stats_every = every;
    }

    /// The layer statistics of the latest step, when it computed them; once.
    pub fn take_layer_stats(&mut self) -> Option<LayerStats> {
        self.layer_stats.take()
    }

    /// The latest evaluation of the weights in training on the test set.
    pub fn last_test(&self) -> Option<&Evaluation> {
        self.last_test.as_ref()
    }

    /// The best evaluation on the split choices are made on, this process's: its step,
    /// accuracy and weights.
    pub fn best(&self) -> Option<&(u64, f64, Network)> {
        self.best.as_ref()
    }

    /// Times the test set was scored (by this process, and before it, as its checkpoint
    /// recorded).
    pub fn test_looks(&self) -> u64 {
        self.test_looks
    }

    /// Scores `model` (other weights than those in training, such as the best ones) on the
    /// test set, counted as a look at it.
    pub fn score_on_test(&mut self, model: &Network, test: &Split, batch: usize) -> (f64, f64) {
        self.test_looks += 1;
        let scores = evaluate(model, &self.device, test, batch);
        (scores.accuracy, scores.loss)
    }

    /// Why the weights in memory must not be checkpointed, if they must not: the last loss
    /// they produced, on a training batch or an evaluation, was NaN, infinite or above
    /// [`DIVERGED_LOSS`]. A training step whose loss is within bounds, or a restore from a
    /// checkpoint, clears it.
    pub fn diverged(&self) -> Option<&str> {
        self.diverged.as_deref()
    }

    /// Makes the weights in memory show a loss before they are saved: the weights of a step
    /// have produced none yet (a step's loss is that of the weights before its update). The
    /// loss of the step's evaluation counts when there was one; otherwise the loss on the
    /// first [`PROBE_IMAGES`] training images. One out of bounds marks them diverged.
    pub fn probe_before_saving(&mut self, data: &Mnist) {
        if self.diverged.is_some() || self.last_eval.as_ref().is_some_and(|e| e.step == self.step) {
            return;
        }
        let indices: Vec<usize> = (0..data.train.len().min(PROBE_IMAGES)).collect();
        let model = self.optimizer.write_back(&mut self.model);
        let loss = mean_loss(model, &self.device, &data.train, &indices);
        if loss.is_nan() || loss > f64::from(DIVERGED_LOSS) {
            self.diverged = Some(format!(
                "the weights diverged: at step {} their loss on {} training images is {loss:.4e}",
                self.step,
                indices.len()
            ));
        }
    }

    /// Marks the weights in memory as diverged, for `why`.
    pub fn mark_diverged(&mut self, why: String) {
        self.diverged = Some(why);
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
    pub fn weights(&mut self) -> Weights {
        Weights {
            step: self.step,
            model: Arc::new(self.optimizer.write_back(&mut self.model).clone()),
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
        smooth_labels(&mut one_hot, train.label_smoothing);
        self.augmenter
            .augment_batch(&mut pixels, self.order.seed(), self.step + 1);
        let seen = self
            .keeps_batches
            .then(|| TrainingBatch::keep(self.step + 1, &pixels, &indices, &data.train));
        // Layer statistics are timed apart: like evaluations, they are not training time.
        let stats_started = Instant::now();
        let before = self.layer_stats_due().then(|| {
            let model = self.optimizer.write_back(&mut self.model);
            Before::take(model, &self.device, &pixels)
        });
        let mut gradients = None;
        let mut stats_seconds = stats_started.elapsed().as_secs_f64();
        let output = train_step_seen(
            &mut self.model,
            &mut self.optimizer,
            &mut self.grads,
            &self.device,
            pixels,
            &one_hot,
            |model, grads| {
                if before.is_some() {
                    let read = Instant::now();
                    gradients = Some(GradientRms::read(model, grads));
                    stats_seconds += read.elapsed().as_secs_f64();
                }
            },
        )
        .map_err(|e| {
            self.order = EpochOrder::restore(self.order.len(), self.order.seed(), epoch, position);
            e.at_step(self.step + 1, lr)
        })?;
        if let (Some(before), Some(gradients)) = (before, gradients) {
            let finish = Instant::now();
            let model = self.optimizer.write_back(&mut self.model);
            self.layer_stats = Some(before.finish(model, gradients, self.step + 1));
            stats_seconds += finish.elapsed().as_secs_f64();
        }
        let seconds = (started.elapsed().as_secs_f64() - stats_seconds).max(0.0);
        // The weights produced a loss within bounds: they are not diverged.
        self.diverged = None;
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

    /// Whether the next step computes layer statistics.
    fn layer_stats_due(&self) -> bool {
        let every = self.layer_stats_every;
        every > 0 && (self.step + 1).is_multiple_of(every)
    }

    /// Scores the network on `images`, the `split` named, in batches of `batch`. When the
    /// split is the one choices are made on (`chooses`), returns whether it is the best of
    /// the run so far (never for diverged weights), and keeps a copy of the weights that were.
    pub fn evaluate(
        &mut self,
        images: &Split,
        split: EvalSplit,
        chooses: bool,
        batch: usize,
    ) -> (Evaluation, bool) {
        let started = Instant::now();
        let model = self.optimizer.write_back(&mut self.model);
        let scores = evaluate(model, &self.device, images, batch);
        let evaluation = Evaluation {
            split,
            step: self.step,
            accuracy: scores.accuracy,
            loss: scores.loss,
            seconds: started.elapsed().as_secs_f64(),
            probabilities: Arc::new(scores.probabilities),
            checkpoint: None,
        };
        if split == EvalSplit::Test {
            self.test_looks += 1;
            self.last_test = Some(evaluation.clone());
        }
        if evaluation.loss.is_nan() || evaluation.loss > f64::from(DIVERGED_LOSS) {
            self.diverged = Some(format!(
                "the weights diverged: their {} loss is {:.4e} at step {}",
                split.name(),
                evaluation.loss,
                self.step
            ));
        }
        if !chooses {
            return (evaluation, false);
        }
        let best =
            self.diverged.is_none() && self.best_accuracy.is_none_or(|b| evaluation.accuracy > b);
        if best {
            self.best_accuracy = Some(evaluation.accuracy);
            self.best = Some((self.step, evaluation.accuracy, model.clone()));
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
        &mut self,
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
            accuracy: self.last_eval.as_ref().map(|e| e.accuracy),
            best_accuracy: self.best_accuracy,
            test_looks: self.test_looks,
            config: self.recorded_config(config),
            // Filled in by `checkpoint::save` from the file it writes.
            weights_sha256: None,
        };
        checkpoint::save(dir, name, self.optimizer.write_back(&mut self.model), &meta)
    }

    /// Loads the checkpoint `folder`: weights, step, data order and counters. The network
    /// takes `dropout`, and Adam starts afresh at the checkpoint's learning rate: its moment
    /// estimates are not in the file (they would triple its size), so a resumed run's first
    /// step sees the unbroken run's weights and batch, and its updates differ from there.
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
        self.optimizer = deferring_optimizer(&self.model, meta.config.train.learning_rate);
        self.step = meta.step;
        self.samples = meta.samples;
        self.train_seconds = meta.train_seconds;
        self.wall_offset = meta.wall_seconds - self.process_seconds();
        // A rollback keeps the best result seen: its checkpoint folder is still there.
        self.test_looks = self.test_looks.max(meta.test_looks);
        self.best_accuracy = match (self.best_accuracy, meta.best_accuracy) {
            (Some(now), Some(then)) => Some(now.max(then)),
            (now, then) => now.or(then),
        };
        self.last_eval = None;
        self.diverged = None;
        self.order = EpochOrder::restore(
            self.order.len(),
            meta.config.train.seed,
            meta.epoch,
            meta.position,
        );
        Ok(meta)
    }
}
