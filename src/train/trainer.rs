//! The trainer thread: loads the data, builds (or restores) the network, runs the steps, and
//! reports.
//!
//! It sends [`Event`]s on an unbounded channel (so a slow consumer never holds it up) and
//! applies [`Command`]s between steps. Failures, panics included, become [`Event::Failed`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Result;
use dfdx::optim::Adam;
use dfdx::prelude::*;
use flume::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::evaluate::{batch_accuracy, evaluate};
use super::messages::{
    Command, Evaluation, Event, SettingChange, Started, StepStats, Summary, PAUSE_POLL,
};
use super::schedule::learning_rate;
use super::step::{new_optimizer, train_step, StepError};
use crate::config::Config;
use crate::data::{self, DataError, EpochOrder, Mnist};
use crate::model::{self, Network, CLASSES, IMAGE_PIXELS};
use crate::run::RunRecords;

/// Where a run keeps its records, and whether it continues an earlier one.
#[derive(Debug, Clone, Default)]
pub struct RunSetup {
    /// The run's folder; `None` keeps no records or checkpoints.
    pub dir: Option<PathBuf>,
    /// Continue from the newest checkpoint in `dir`.
    pub resume: bool,
    /// On a diverged loss, pause (the dashboard, where the user can roll back) rather than
    /// stop (headless).
    pub pause_on_divergence: bool,
}

/// The front-end's end of a running trainer.
pub struct TrainerHandle {
    /// Events from the trainer, in order.
    pub events: Receiver<Event>,
    /// Commands to the trainer.
    commands: Sender<Command>,
    /// Set when a [`Command::Stop`] is sent; read where the trainer cannot take commands yet
    /// (while it downloads the data).
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl TrainerHandle {
    /// Sends a command; one to a trainer that has ended is dropped. [`Command::Stop`] acts
    /// after the current step once training runs (with the final evaluation and checkpoint),
    /// and at once while the data is still downloading.
    pub fn send(&self, command: Command) {
        if command == Command::Stop {
            self.stop.store(true, Ordering::Relaxed);
        }
        let _ = self.commands.send(command);
    }

    /// Waits for the trainer thread to end.
    pub fn join(self) {
        // The thread catches its own panics, so joining cannot fail in practice; a failure
        // would already have been reported as an event.
        let _ = self.thread.join();
    }
}

/// Starts the trainer on its own thread named `trainer`.
pub fn spawn(config: Config, setup: RunSetup) -> std::io::Result<TrainerHandle> {
    let (event_tx, events) = flume::unbounded();
    let (commands, command_rx) = flume::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let trainer_stop = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("trainer".into())
        .spawn(move || {
            run_reporting_failures(config, setup, event_tx, command_rx, &trainer_stop)
        })?;
    Ok(TrainerHandle {
        events,
        commands,
        stop,
        thread,
    })
}

fn run_reporting_failures(
    config: Config,
    setup: RunSetup,
    events: Sender<Event>,
    commands: Receiver<Command>,
    stop: &AtomicBool,
) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        run(config, setup, &events, commands, stop)
    }));
    let message = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(error))
            if matches!(
                error.downcast_ref::<DataError>(),
                Some(DataError::DownloadStopped { .. })
            ) =>
        {
            let _ = events.send(Event::StoppedBeforeTraining(format!("{error:#}")));
            return;
        }
        Ok(Err(error)) => format!("{error:#}"),
        Err(panic) => format!("the trainer crashed: {}", panic_message(&panic)),
    };
    let _ = events.send(Event::Failed(message));
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Loads the data (downloading it when allowed and missing) and trains to the end.
fn run(
    config: Config,
    setup: RunSetup,
    events: &Sender<Event>,
    commands: Receiver<Command>,
    stop: &AtomicBool,
) -> Result<()> {
    let wall = Instant::now();
    let data = Arc::new(prepare_data(&config, events, stop)?);
    let mut trainer = Trainer::new(config, data, events.clone(), commands, wall);
    trainer.pause_on_divergence = setup.pause_on_divergence;
    if let Some(dir) = &setup.dir {
        if setup.resume {
            trainer.resume_from(dir)?;
        } else {
            trainer.records = Some(RunRecords::create(dir, &trainer.config)?);
        }
    }
    trainer.train()
}

/// Reads MNIST from the configured folder, downloading missing files first when allowed; a
/// download gives up when `stop` is set.
pub fn prepare_data(config: &Config, events: &Sender<Event>, stop: &AtomicBool) -> Result<Mnist> {
    let dir = &config.data.dir;
    let missing = data::missing_files(dir);
    if !missing.is_empty() && config.data.download {
        let _ = events.send(Event::Preparing(format!(
            "downloading {} MNIST file(s) into {}",
            missing.len(),
            dir.display()
        )));
        let mut report = |p| {
            let _ = events.send(Event::Download(p));
        };
        data::download_missing_until(
            dir,
            &config.data.mirrors,
            &data::default_files(),
            &mut report,
            stop,
        )?;
    }
    let _ = events.send(Event::Preparing(format!(
        "reading MNIST from {}",
        dir.display()
    )));
    Ok(data::load(dir)?)
}

/// Everything the training loop owns.
pub(super) struct Trainer {
    pub(super) config: Config,
    pub(super) data: Arc<Mnist>,
    pub(super) device: Cpu,
    pub(super) model: Network,
    pub(super) grads: Gradients<f32, Cpu>,
    pub(super) optimizer: Adam<Network, f32, Cpu>,
    pub(super) order: EpochOrder,
    pub(super) events: Sender<Event>,
    commands: Receiver<Command>,
    pub(super) step: u64,
    paused: bool,
    single_steps: u32,
    stop_requested: bool,
    eval_requested: bool,
    save_requested: bool,
    rollback_requested: bool,
    pause_on_divergence: bool,
    pub(super) last_eval: Option<Evaluation>,
    pub(super) best_accuracy: Option<f64>,
    pub(super) train_seconds: f64,
    pub(super) samples: u64,
    pub(super) wall: Instant,
    pub(super) wall_offset: f64,
    pub(super) records: Option<RunRecords>,
    pub(super) last_checkpoint_step: Option<u64>,
    pub(super) checkpoint_error: Option<String>,
}

impl Trainer {
    fn new(
        config: Config,
        data: Arc<Mnist>,
        events: Sender<Event>,
        commands: Receiver<Command>,
        wall: Instant,
    ) -> Self {
        let device = Cpu::seed_from_u64(config.train.seed);
        let mut model = model::build(&device, config.train.init);
        model::set_dropout(&mut model, config.train.dropout);
        let grads = model.alloc_grads();
        let optimizer = new_optimizer(&model, config.train.learning_rate);
        let order = EpochOrder::new(data.train.len(), config.train.seed);
        Self {
            config,
            data,
            device,
            model,
            grads,
            optimizer,
            order,
            events,
            commands,
            step: 0,
            paused: false,
            single_steps: 0,
            stop_requested: false,
            eval_requested: false,
            save_requested: false,
            rollback_requested: false,
            pause_on_divergence: false,
            last_eval: None,
            best_accuracy: None,
            train_seconds: 0.0,
            samples: 0,
            wall,
            wall_offset: 0.0,
            records: None,
            last_checkpoint_step: None,
            checkpoint_error: None,
        }
    }

    pub(super) fn send(&self, event: Event) {
        // A vanished consumer is noticed through the command channel; nothing to do here.
        let _ = self.events.send(event);
    }

    fn train(&mut self) -> Result<()> {
        self.send(Event::Started(Started {
            config: self.config.clone(),
            train_len: self.data.train.len(),
            test: Arc::new(self.data.test.clone()),
            threads: rayon::current_num_threads(),
            first_step: self.step,
        }));
        while self.step < self.config.train.steps {
            self.apply_commands();
            if self.stop_requested {
                break;
            }
            self.handle_requests();
            if self.paused && self.single_steps == 0 {
                continue;
            }
            self.single_steps = self.single_steps.saturating_sub(1);
            match self.train_step() {
                Ok(()) => {}
                Err(error @ StepError::NonFiniteLoss { .. }) if self.pause_on_divergence => {
                    self.diverged(error.to_string());
                    continue;
                }
                Err(error) => {
                    self.record_event("error", serde_json::json!({"message": error.to_string()}));
                    return Err(error.into());
                }
            }
            if self.evaluation_due() {
                self.evaluate();
            }
            if self.checkpoint_due() {
                self.checkpoint();
            }
        }
        self.finish();
        Ok(())
    }

    /// Evaluation, saving and rolling back asked for by commands.
    fn handle_requests(&mut self) {
        if self.rollback_requested {
            self.rollback_requested = false;
            self.rollback();
        }
        if self.eval_requested {
            self.evaluate();
        }
        if self.save_requested {
            self.save_requested = false;
            self.checkpoint();
        }
    }

    /// A diverged loss in the dashboard: pause so the user can lower the rate or roll back.
    fn diverged(&mut self, message: String) {
        self.record_event("error", serde_json::json!({"message": message}));
        self.send(Event::Diverged(message));
        self.paused = true;
        self.single_steps = 0;
        self.send(Event::Paused(true));
    }

    /// Whether the evaluation interval ends at this step (an evaluation asked for by a command
    /// already ran in `handle_requests`).
    fn evaluation_due(&self) -> bool {
        let every = self.config.train.eval_every;
        every > 0 && self.step.is_multiple_of(every)
    }

    fn checkpoint_due(&self) -> bool {
        let every = self.config.run.checkpoint_every;
        self.records.is_some() && every > 0 && self.step.is_multiple_of(every)
    }

    /// Applies waiting commands; while paused (and not single-stepping), waits for one.
    fn apply_commands(&mut self) {
        loop {
            let idle = self.paused
                && self.single_steps == 0
                && !self.eval_requested
                && !self.save_requested
                && !self.rollback_requested;
            let command = if idle {
                match self.commands.recv_timeout(PAUSE_POLL) {
                    Ok(c) => c,
                    Err(RecvTimeoutError::Timeout) => return,
                    Err(RecvTimeoutError::Disconnected) => Command::Stop,
                }
            } else {
                match self.commands.try_recv() {
                    Ok(c) => c,
                    Err(TryRecvError::Empty) => return,
                    Err(TryRecvError::Disconnected) => Command::Stop,
                }
            };
            self.apply(command);
            if self.stop_requested {
                return;
            }
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Stop => {
                self.stop_requested = true;
                self.record_event("stop", serde_json::json!({"step": self.step}));
            }
            Command::Pause | Command::Resume => {
                let pause = command == Command::Pause;
                if pause != self.paused {
                    self.paused = pause;
                    self.single_steps = 0;
                    let kind = if pause { "pause" } else { "resume" };
                    self.record_event(kind, serde_json::json!({"step": self.step}));
                    self.send(Event::Paused(pause));
                }
            }
            Command::StepOnce => self.single_steps += u32::from(self.paused),
            Command::EvaluateNow => self.eval_requested = true,
            Command::SaveCheckpoint => self.save_requested = true,
            Command::Rollback => self.rollback_requested = true,
            Command::SetLearningRate(lr) if lr.is_finite() && lr > 0.0 => {
                let old = std::mem::replace(&mut self.config.train.learning_rate, lr);
                if old != lr {
                    self.record("learning_rate", format!("{old:.3e}"), format!("{lr:.3e}"));
                }
            }
            Command::SetBatchSize(batch) if (1..=self.data.train.len()).contains(&batch) => {
                let old = std::mem::replace(&mut self.config.train.batch_size, batch);
                if old != batch {
                    self.record("batch_size", old.to_string(), batch.to_string());
                }
            }
            Command::SetEvalEvery(every) => {
                let old = std::mem::replace(&mut self.config.train.eval_every, every);
                if old != every {
                    self.record("eval_every", old.to_string(), every.to_string());
                }
            }
            Command::SetDropout(p) if (0.0..1.0).contains(&p) => {
                let old = std::mem::replace(&mut self.config.train.dropout, p);
                model::set_dropout(&mut self.model, p);
                if old != p {
                    self.record("dropout", format!("{old:.2}"), format!("{p:.2}"));
                }
            }
            Command::SetLearningRate(_) | Command::SetBatchSize(_) | Command::SetDropout(_) => {}
        }
    }

    fn record(&mut self, setting: &'static str, old: String, new: String) {
        let change = SettingChange {
            step: self.step,
            setting,
            old,
            new,
        };
        self.record_event("setting_changed", serde_json::json!(change));
        self.send(Event::SettingChanged(change));
    }

    /// One forward, backward and Adam update on the next mini-batch.
    fn train_step(&mut self) -> Result<(), StepError> {
        let started = Instant::now();
        let train = &self.config.train;
        let lr = learning_rate(
            train.schedule,
            train.learning_rate,
            train.warmup_fraction,
            self.step,
            train.steps,
        );
        self.optimizer.cfg.lr = lr;
        let batch = train.batch_size.min(self.data.train.len());
        let (epoch, position) = (self.order.epoch(), self.order.position());
        let (_, indices) = self.order.next_batch(batch);
        let mut pixels = vec![0.0f32; batch * IMAGE_PIXELS];
        let mut one_hot = vec![0.0f32; batch * CLASSES];
        self.data.train.fill_images(&indices, &mut pixels);
        self.data.train.fill_one_hot(&indices, &mut one_hot);
        let output = train_step(
            &mut self.model,
            &mut self.optimizer,
            &mut self.grads,
            &self.device,
            pixels,
            &one_hot,
        )
        .map_err(|e| {
            // The failed batch is not consumed: a rolled-back or re-tuned run sees it again.
            self.order = EpochOrder::restore(self.order.len(), self.order.seed(), epoch, position);
            e.at_step(self.step + 1, lr)
        })?;

        let seconds = started.elapsed().as_secs_f64();
        self.train_seconds += seconds;
        self.step += 1;
        self.samples += batch as u64;
        let stats = StepStats {
            step: self.step,
            total_steps: self.config.train.steps,
            epoch: self.order.epochs_done(),
            loss: output.loss,
            accuracy: batch_accuracy(&output.logits, &one_hot),
            learning_rate: lr,
            batch_size: batch,
            samples_per_sec: batch as f64 / seconds.max(1e-9),
            train_seconds: self.train_seconds,
        };
        self.record_step(&stats);
        self.send(Event::Step(stats));
        Ok(())
    }

    pub(super) fn evaluate(&mut self) {
        self.eval_requested = false;
        let started = Instant::now();
        let scores = evaluate(
            &self.model,
            &self.device,
            &self.data.test,
            self.config.train.eval_batch_size,
        );
        let evaluation = Evaluation {
            step: self.step,
            accuracy: scores.accuracy,
            loss: scores.loss,
            seconds: started.elapsed().as_secs_f64(),
            probabilities: Arc::new(scores.probabilities),
        };
        self.last_eval = Some(evaluation.clone());
        self.record_event("evaluation", serde_json::json!(evaluation));
        let improved = self
            .best_accuracy
            .is_none_or(|best| evaluation.accuracy > best);
        self.send(Event::Evaluation(evaluation));
        if improved {
            self.best_accuracy = self.last_eval.as_ref().map(|e| e.accuracy);
            self.save_best();
        }
    }

    fn finish(&mut self) {
        if self.last_eval.as_ref().map(|e| e.step) != Some(self.step) {
            self.evaluate();
        }
        if self.last_checkpoint_step != Some(self.step) {
            self.checkpoint();
        }
        let eval = self.last_eval.as_ref();
        let summary = Summary {
            steps: self.step,
            stopped_early: self.step < self.config.train.steps,
            test_accuracy: eval.map_or(0.0, |e| e.accuracy),
            test_loss: eval.map_or(f64::NAN, |e| e.loss),
            train_seconds: self.train_seconds,
            wall_seconds: self.wall.elapsed().as_secs_f64(),
            samples_per_sec: self.samples as f64 / self.train_seconds.max(1e-9),
            run_dir: self.records.as_ref().map(|r| r.dir().to_path_buf()),
            unsaved: self
                .checkpoint_error
                .clone()
                .filter(|_| self.records.is_some() && self.last_checkpoint_step != Some(self.step)),
        };
        self.record_event("finished", serde_json::json!(summary));
        self.send(Event::Finished(summary));
    }
}
