//! The trainer thread: loads the data, builds (or restores) the network, runs the steps, and
//! reports.
//!
//! It sends [`Event`]s on an unbounded channel (so a slow consumer never holds it up) and
//! applies [`Command`]s between steps. Every event that has a [`Record`] is also written to
//! the run's `events.jsonl`. Failures, panics included, become [`Event::Failed`]; a stop while
//! the data downloads becomes [`Event::StoppedBeforeTraining`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Result;
use flume::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use super::checkpointer::Checkpointer;
use super::messages::{
    CheckpointWritten, Command, Event, ResumedFrom, SettingChange, SettingValue, SkippedCheckpoint,
    Started, Summary, PAUSE_POLL,
};
use super::state::TrainingState;
use super::step::StepError;
use crate::config::Config;
use crate::data::{self, DataError, Mnist, Split};
use crate::panic_text::panic_text;
use crate::run::record::{
    BestCheckpoint, ErrorKind, EvalSplit, Evaluation, Record, RunError, RunStarted,
};
use crate::run::{checkpoint, CheckpointError, RecordError, RunDir};

/// How a run begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStart {
    /// No records and no checkpoints (tests, benchmarks).
    NoRecords,
    /// A new run in this folder, which must not hold one already.
    Fresh(RunDir),
    /// The run in this folder goes on from this checkpoint folder.
    Resume {
        /// The run's folder.
        run: RunDir,
        /// The checkpoint to load (`digitdash --resume` passes the newest that verifies;
        /// damaged newer ones are noted as passed over).
        checkpoint: PathBuf,
    },
}

/// How a run begins, and what a diverged loss does.
#[derive(Debug, Clone)]
pub struct RunSetup {
    /// Records and checkpoints.
    pub start: RunStart,
    /// On a diverged loss, pause (the dashboard, where the user can roll back) rather than
    /// stop (headless).
    pub pause_on_divergence: bool,
}

impl Default for RunSetup {
    fn default() -> Self {
        Self {
            start: RunStart::NoRecords,
            pause_on_divergence: false,
        }
    }
}

/// Limits a sweep sets on one trial's trainer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrialLimits {
    /// Worker threads of the trainer's own thread pool (`None`: the process's pool). Trials
    /// side by side each get their share of the cores, not a pool of every core.
    pub threads: Option<usize>,
    /// Stop after this step, short of the run's `train.steps`: a scheduler's rung. The run
    /// ends as a stopped one, with its final evaluation and checkpoint, but without the end's
    /// look at the test set, since it may go on (resumed with the same settings, so the
    /// learning-rate schedule runs over its full budget).
    pub stop_at: Option<u64>,
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

    /// Waits for the trainer thread to end. A trainer that kept its unsaved final state after
    /// the end is let go: the command channel closes first.
    pub fn join(self) {
        drop(self.commands);
        // The thread catches its own panics, so joining cannot fail in practice; a failure
        // would already have been reported as an event.
        let _ = self.thread.join();
    }
}

/// Starts the trainer on its own thread named `trainer`.
pub fn spawn(config: Config, setup: RunSetup) -> std::io::Result<TrainerHandle> {
    spawn_with(config, setup, TrialLimits::default())
}

/// [`spawn`] within `limits`: its own pool of threads, and a step to stop at.
pub fn spawn_with(
    config: Config,
    setup: RunSetup,
    limits: TrialLimits,
) -> std::io::Result<TrainerHandle> {
    let (event_tx, events) = flume::unbounded();
    let (commands, command_rx) = flume::unbounded();
    let stop = Arc::new(AtomicBool::new(false));
    let trainer_stop = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("trainer".into())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let train = || run(config, setup, limits, &event_tx, command_rx, &trainer_stop);
                match limits.threads {
                    None => train(),
                    Some(threads) => rayon::ThreadPoolBuilder::new()
                        .num_threads(threads.max(1))
                        .thread_name(|i| format!("trial-{i}"))
                        .build()
                        .map_err(anyhow::Error::from)
                        .and_then(|pool| pool.install(train)),
                }
            }));
            let message = match outcome {
                Ok(Ok(())) => return,
                Ok(Err(error)) => format!("{error:#}"),
                Err(panic) => format!("the trainer crashed: {}", panic_text(&*panic)),
            };
            let _ = event_tx.send(Event::Failed(message));
        })?;
    Ok(TrainerHandle {
        events,
        commands,
        stop,
        thread,
    })
}

/// Loads the data (downloading it when allowed and missing) and trains to the end.
fn run(
    config: Config,
    setup: RunSetup,
    limits: TrialLimits,
    events: &Sender<Event>,
    commands: Receiver<Command>,
    stop: &AtomicBool,
) -> Result<()> {
    let started = Instant::now();
    let mut data = match prepare_data(&config, events, stop) {
        Err(error @ DataError::DownloadStopped { .. }) => {
            let _ = events.send(Event::StoppedBeforeTraining(error.to_string()));
            return Ok(());
        }
        other => other?,
    };
    let validation = data.hold_out_validation(config.data.validation(), &config.data.dir)?;
    let mut state = TrainingState::new(&config.train, data.train.len(), started);
    state.set_layer_stats_every(config.log.layer_stats_every);
    let mut trainer = Trainer {
        config,
        data: Arc::new(data),
        validation: Arc::new(validation),
        since_best: 0,
        early_stopped: None,
        state,
        checkpointer: None,
        events: events.clone(),
        commands,
        control: Control::default(),
        pause_on_divergence: setup.pause_on_divergence,
        lost: None,
        stop_at: limits.stop_at,
    };
    match setup.start {
        RunStart::NoRecords => {}
        RunStart::Fresh(run) => {
            trainer.checkpointer = Some(Checkpointer::create(&run, &trainer.config)?);
        }
        RunStart::Resume { run, checkpoint } => trainer.resume(&run, checkpoint)?,
    }
    trainer.train()
}

/// Reads the dataset from the configured folder, downloading missing files first when
/// allowed; a download gives up when `stop` is set.
pub fn prepare_data(
    config: &Config,
    events: &Sender<Event>,
    stop: &AtomicBool,
) -> Result<Mnist, DataError> {
    let dataset = config.data.dataset;
    let dir = &config.data.folder()?;
    let missing = data::missing_files(dir);
    if !missing.is_empty() && config.data.download {
        let _ = events.send(Event::Preparing(format!(
            "downloading {} {} file(s) into {}",
            missing.len(),
            dataset.title(),
            dir.display()
        )));
        let mut report = |p| {
            let _ = events.send(Event::Download(p));
        };
        data::download_missing_until(
            dir,
            &config.data.mirror_list(),
            &dataset.remote_files(),
            &mut report,
            stop,
        )?;
    }
    let _ = events.send(Event::Preparing(format!(
        "reading {} from {}",
        dataset.title(),
        dir.display()
    )));
    data::load_dataset(dir, dataset)
}

/// What commands asked for, applied at the next step boundary.
#[derive(Debug, Default)]
struct Control {
    paused: bool,
    single_steps: u32,
    stop: bool,
    evaluate: bool,
    look_at_test: bool,
    save: bool,
    rollback: bool,
}

impl Control {
    /// Whether the trainer has nothing to do but wait for a command.
    fn idle(&self) -> bool {
        self.paused
            && self.single_steps == 0
            && !self.evaluate
            && !self.look_at_test
            && !self.save
            && !self.rollback
    }
}

/// The training loop and what it owns.
struct Trainer {
    /// The live settings.
    config: Config,
    /// The training images (the validation split held out) and the test set.
    data: Arc<Mnist>,
    /// The validation split: what evaluations choose on (empty: the test set instead).
    validation: Arc<Split>,
    /// Evaluations on the choosing split since the best one.
    since_best: u64,
    /// When early stopping ended training: after how many evaluations without a better one.
    early_stopped: Option<u64>,
    state: TrainingState,
    /// Records and checkpoints; `None` for a run that keeps none.
    checkpointer: Option<Checkpointer>,
    events: Sender<Event>,
    commands: Receiver<Command>,
    control: Control,
    pause_on_divergence: bool,
    /// The run folder vanished under the run: nothing can be recorded any more, and the run
    /// fails at the end of the step.
    lost: Option<RecordError>,
    /// A rung to stop at, short of the planned steps ([`TrialLimits::stop_at`]).
    stop_at: Option<u64>,
}

impl Trainer {
    /// Sends `event` to the front-end and writes its record, steps and layer statistics
    /// excepted (they go to `metrics.csv` and `layers.jsonl`).
    fn emit(&mut self, event: Event) {
        if !matches!(event, Event::Step(_) | Event::Layers(_)) {
            if let Some(record) = event.record() {
                self.record(&record);
            }
        }
        self.send(event);
    }

    /// Sends `event` to the front-end only. A vanished consumer is noticed through the
    /// command channel; nothing to do here.
    fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Sends the weights as they are now.
    fn share_weights(&mut self) {
        let weights = self.state.weights();
        self.send(Event::Weights(weights));
    }

    /// Writes a record to `events.jsonl`; a failure is reported and training goes on.
    fn record(&mut self, record: &Record) {
        if let Some(checkpointer) = self.checkpointer.as_mut() {
            if let Err(e) = checkpointer.record(record) {
                self.record_failed(e);
            }
        }
    }

    /// A record that could not be written: a warning, and training goes on; but a run folder
    /// that vanished under the run ends it ([`Trainer::lost`]).
    fn record_failed(&mut self, error: RecordError) {
        if matches!(error, RecordError::Vanished { .. }) {
            self.lost.get_or_insert(error);
        } else {
            self.send(Event::RecordError(error.to_string()));
        }
    }

    /// Continues the run in `run` from `checkpoint`: weights, step count, data order and
    /// records. Newer checkpoints of the run that do not load or verify are passed over; each is
    /// noted (on the front-end and in `events.jsonl`), as is what reopening the records
    /// repaired.
    fn resume(&mut self, run: &RunDir, checkpoint: PathBuf) -> Result<()> {
        let meta = self.state.restore(&checkpoint, self.config.train.dropout)?;
        let config = self.state.recorded_config(&self.config);
        let mut checkpointer = Checkpointer::resume(run, meta.step, &config)?;
        let notes = checkpointer.take_notes();
        self.checkpointer = Some(checkpointer);
        for note in notes {
            self.emit(Event::Repaired(note));
        }
        for skipped in checkpoint::damaged_newer_than(run, &checkpoint) {
            self.emit(Event::CheckpointSkipped(SkippedCheckpoint {
                checkpoint: skipped.path,
                reason: skipped.reason,
            }));
        }
        self.emit(Event::Resumed(ResumedFrom {
            step: meta.step,
            checkpoint,
        }));
        Ok(())
    }

    fn train(&mut self) -> Result<()> {
        self.emit(Event::Started(Started {
            run: RunStarted {
                train_images: self.data.train.len(),
                test_images: self.data.test.len(),
                validation_images: self.validation.len(),
                threads: rayon::current_num_threads(),
                first_step: self.state.step(),
                config: self.config.clone(),
            },
            test: Arc::new(self.data.test.clone()),
            validation: Arc::clone(&self.validation),
            run_dir: self
                .checkpointer
                .as_ref()
                .map(|c| c.run().path().to_path_buf()),
        }));
        self.share_weights();
        while self.state.step() < self.last_step() {
            self.apply_commands();
            if self.control.stop {
                break;
            }
            self.handle_requests();
            if self.control.paused && self.control.single_steps == 0 {
                continue;
            }
            self.control.single_steps = self.control.single_steps.saturating_sub(1);
            match self.state.train_step(&self.config.train, &self.data) {
                Ok(stats) => {
                    self.record_step(&stats);
                    self.emit(Event::Step(stats));
                    if let Some(layers) = self.state.take_layer_stats() {
                        self.record_layers(&layers);
                        self.emit(Event::Layers(layers));
                    }
                    if let Some(lost) = self.lost.take() {
                        return Err(lost.into());
                    }
                }
                Err(error @ StepError::NonFiniteLoss { .. }) if self.pause_on_divergence => {
                    self.diverged(&error);
                    continue;
                }
                Err(error @ StepError::NonFiniteLoss { .. }) => {
                    // Headless stops here: the failure that follows says so.
                    self.state
                        .mark_diverged(error.diverged_reason().unwrap_or_default());
                    self.emit(Event::Diverged(error.to_string()));
                    return Err(error.into());
                }
                Err(error) => {
                    self.record(&Record::Error(RunError {
                        kind: ErrorKind::Failed,
                        message: error.to_string(),
                    }));
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

    /// The step this process trains to: the planned steps, or a rung before them.
    fn last_step(&self) -> u64 {
        let steps = self.config.train.steps;
        self.stop_at.map_or(steps, |rung| rung.min(steps))
    }

    /// Whether training ends at a rung short of its planned steps, to go on later.
    fn at_rung(&self) -> bool {
        let step = self.state.step();
        self.stop_at == Some(step) && step < self.config.train.steps && !self.control.stop
    }

    /// Appends a step's row to `metrics.csv`.
    fn record_step(&mut self, stats: &super::messages::StepStats) {
        let wall = self.state.run_seconds();
        if let Some(checkpointer) = self.checkpointer.as_mut() {
            if let Err(e) = checkpointer.step(stats, wall) {
                self.record_failed(e);
            }
        }
    }

    /// Appends a step's layer statistics to `layers.jsonl`.
    fn record_layers(&mut self, stats: &super::messages::LayerStats) {
        if let Some(checkpointer) = self.checkpointer.as_mut() {
            if let Err(e) = checkpointer.layers(stats) {
                self.record_failed(e);
            }
        }
    }

    /// Evaluation, saving and rolling back asked for by commands.
    fn handle_requests(&mut self) {
        if std::mem::take(&mut self.control.rollback) {
            self.rollback();
        }
        if self.control.evaluate {
            self.evaluate();
        }
        if self.control.look_at_test {
            self.look_at_test();
        }
        if std::mem::take(&mut self.control.save) {
            self.checkpoint();
        }
    }

    /// A diverged loss in the dashboard: pause so the user can lower the rate or roll back.
    fn diverged(&mut self, error: &StepError) {
        self.state
            .mark_diverged(error.diverged_reason().unwrap_or_default());
        self.emit(Event::Diverged(error.to_string()));
        self.control.paused = true;
        self.control.single_steps = 0;
        self.emit(Event::Paused {
            paused: true,
            step: self.state.step(),
        });
    }

    /// Whether the evaluation interval ends at this step (an evaluation asked for by a command
    /// already ran in `handle_requests`).
    fn evaluation_due(&self) -> bool {
        let every = self.config.train.eval_every;
        every > 0 && self.state.step().is_multiple_of(every)
    }

    fn checkpoint_due(&self) -> bool {
        let every = self.config.run.checkpoint_every;
        self.checkpointer.is_some() && every > 0 && self.state.step().is_multiple_of(every)
    }

    /// Applies waiting commands; while idle, waits for one.
    fn apply_commands(&mut self) {
        loop {
            let command = if self.control.idle() {
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
            if self.control.stop {
                return;
            }
        }
    }

    fn apply(&mut self, command: Command) {
        let step = self.state.step();
        match command {
            Command::Stop => {
                self.control.stop = true;
                self.emit(Event::Stopping { step });
            }
            Command::Pause | Command::Resume => {
                let paused = command == Command::Pause;
                if paused != self.control.paused {
                    self.control.paused = paused;
                    self.control.single_steps = 0;
                    self.emit(Event::Paused { paused, step });
                }
            }
            Command::StepOnce => self.control.single_steps += u32::from(self.control.paused),
            Command::EvaluateNow => self.control.evaluate = true,
            Command::EvaluateTest => self.control.look_at_test = true,
            Command::SaveCheckpoint => self.control.save = true,
            Command::Rollback => self.control.rollback = true,
            Command::ShareWeights => self.share_weights(),
            Command::ShareBatch => {
                self.state.keep_batches();
                if let Some(batch) = self.state.last_batch() {
                    self.send(Event::Batch(batch));
                }
            }
            Command::Set(value) => self.set(value),
            // The views of a live run show the weights in training.
            Command::InspectCheckpoint(_) => {}
        }
    }

    /// Applies a live setting from the next step on; an invalid value is ignored.
    fn set(&mut self, new: SettingValue) {
        let train = &mut self.config.train;
        let old = match new {
            SettingValue::BatchSize(b) if b > self.data.train.len() => return,
            _ if !new.is_valid() => return,
            SettingValue::LearningRate(lr) => {
                SettingValue::LearningRate(std::mem::replace(&mut train.learning_rate, lr))
            }
            SettingValue::BatchSize(b) => {
                SettingValue::BatchSize(std::mem::replace(&mut train.batch_size, b))
            }
            SettingValue::EvalEvery(every) => {
                SettingValue::EvalEvery(std::mem::replace(&mut train.eval_every, every))
            }
            SettingValue::Dropout(p) => {
                self.state.set_dropout(p);
                SettingValue::Dropout(std::mem::replace(&mut train.dropout, p))
            }
        };
        if old != new {
            let step = self.state.step();
            self.emit(Event::SettingChanged(SettingChange { step, old, new }));
        }
    }

    /// Evaluates on the split choices are made on (validation, or test without one): the
    /// best so far becomes the best checkpoint, and early stopping counts the others.
    fn evaluate(&mut self) {
        self.control.evaluate = false;
        let (images, split) = if self.validation.is_empty() {
            (&self.data.test, EvalSplit::Test)
        } else {
            (&*self.validation, EvalSplit::Validation)
        };
        let batch = self.config.train.eval_batch_size;
        let (evaluation, best) = self.state.evaluate(images, split, true, batch);
        self.emit(Event::Evaluation(evaluation));
        if best {
            self.since_best = 0;
            self.save_best();
            return;
        }
        self.since_best += 1;
        let patience = self.config.train.early_stop;
        if patience > 0 && self.since_best >= patience && self.early_stopped.is_none() {
            self.early_stopped = Some(self.since_best);
            self.control.stop = true;
        }
    }

    /// Scores the weights in training on the test set, on purpose (the end, or `T`); the
    /// look is recorded like every evaluation.
    fn look_at_test(&mut self) {
        self.control.look_at_test = false;
        let batch = self.config.train.eval_batch_size;
        let test = &self.data.test;
        let (evaluation, _) = self.state.evaluate(test, EvalSplit::Test, false, batch);
        self.emit(Event::Evaluation(evaluation));
    }

    /// Writes a periodic checkpoint (when the run keeps records).
    fn checkpoint(&mut self) {
        let Some(checkpointer) = self.checkpointer.as_mut() else {
            return;
        };
        self.state.probe_before_saving(&self.data);
        let saved = checkpointer.save_periodic(&mut self.state, &self.config);
        self.report_checkpoint(saved);
    }

    /// Writes the best checkpoint so far (when the run keeps records).
    fn save_best(&mut self) {
        let Some(checkpointer) = self.checkpointer.as_mut() else {
            return;
        };
        let saved = checkpointer.save_best(&mut self.state, &self.config);
        self.report_checkpoint(saved);
    }

    fn report_checkpoint(&mut self, saved: Result<PathBuf, CheckpointError>) {
        match saved {
            Ok(path) => self.emit(Event::Checkpoint(CheckpointWritten {
                step: self.state.step(),
                path,
            })),
            Err(e) => self.send(Event::RecordError(e.to_string())),
        }
    }

    /// Rolls the weights, step count and data order back to the newest checkpoint; the live
    /// settings stay as they are now (so a lowered learning rate applies from there).
    /// Goes back to the newest periodic checkpoint that loads and verifies, passing over
    /// damaged newer ones with a note each, as a resume does.
    fn rollback(&mut self) {
        let Some(checkpointer) = self.checkpointer.as_ref() else {
            self.send(Event::RecordError(
                "no run folder, so there is no checkpoint to roll back to".into(),
            ));
            return;
        };
        let candidates = checkpointer.rollback_candidates();
        if candidates.is_empty() {
            self.send(Event::RecordError(
                "no checkpoint written yet to roll back to".into(),
            ));
            return;
        }
        for folder in candidates {
            // A checkpoint that fails to load leaves the state as it was.
            match self.state.restore(&folder, self.config.train.dropout) {
                Ok(meta) => {
                    let rewound = self
                        .checkpointer
                        .as_mut()
                        .map_or(Ok(()), |c| c.rewind(meta.step));
                    if let Err(e) = rewound {
                        self.send(Event::RecordError(e.to_string()));
                    }
                    self.emit(Event::RolledBack(meta.step));
                    self.share_weights();
                    return;
                }
                Err(e) => self.send(Event::RecordError(format!(
                    "rollback passed over {}: {e}",
                    folder.display()
                ))),
            }
        }
        self.send(Event::RecordError(
            "no checkpoint could be loaded to roll back to; training goes on from here".into(),
        ));
    }

    /// Ends the run: a last evaluation where the latest step has none, the final checkpoint,
    /// the look at the test set (the final weights', and with a validation split the best
    /// checkpoint's too), then the summary.
    fn finish(&mut self) {
        let step = self.state.step();
        if self.state.last_eval().map(|e| e.step) != Some(step) {
            self.evaluate();
        }
        if self.checkpointer.as_ref().is_some_and(|c| !c.has(step)) {
            self.checkpoint();
        }
        // A rung is no end: the test set waits for the run's real one.
        let has_validation = !self.validation.is_empty();
        let look = has_validation && !self.at_rung();
        if look {
            self.look_at_test();
        }
        let best = look.then(|| self.best_on_test()).flatten();
        let test = if has_validation {
            self.state.last_test().filter(|_| look)
        } else {
            self.state.last_eval()
        };
        // A rung's summary has no test score: NaN, which its record writes as null.
        let unscored = if look || !has_validation {
            0.0
        } else {
            f64::NAN
        };
        let summary = Summary {
            steps: step,
            stopped_early: step < self.config.train.steps,
            test_accuracy: test.map_or(unscored, |e| e.accuracy),
            test_loss: test.map_or(f64::NAN, |e| e.loss),
            train_seconds: self.state.train_seconds(),
            wall_seconds: self.state.run_seconds(),
            samples_per_sec: self.state.samples() as f64 / self.state.train_seconds().max(1e-9),
            run_dir: self
                .checkpointer
                .as_ref()
                .map(|c| c.run().path().to_path_buf()),
            unsaved: self.checkpointer.as_ref().and_then(|c| c.unsaved(step)),
            best,
            test_looks: self.state.test_looks(),
            early_stop: self.early_stopped,
        };
        let unsaved = summary.unsaved.is_some();
        self.share_weights();
        self.emit(Event::Finished(summary));
        if unsaved && self.pause_on_divergence {
            self.keep_final_state();
        }
    }

    /// The checkpoint the run chose, scored on the test set: the weights of the best
    /// validation accuracy (this process's; kept in memory, so a run without records has it
    /// too). The look is recorded, as the best checkpoint's.
    fn best_on_test(&mut self) -> Option<BestCheckpoint> {
        let (step, validation_accuracy, model) = self.state.best()?.clone();
        if let Some(last) = self.state.last_test().filter(|t| t.step == step) {
            // The best are the final weights, scored a moment ago.
            return Some(BestCheckpoint {
                step,
                validation_accuracy,
                test_accuracy: last.accuracy,
            });
        }
        let batch = self.config.train.eval_batch_size;
        let started = Instant::now();
        let (test_accuracy, loss) = self.state.score_on_test(&model, &self.data.test, batch);
        let folder = self.checkpointer.as_ref().and_then(|c| c.best_folder(step));
        self.emit(Event::Evaluation(Evaluation {
            split: EvalSplit::Test,
            step,
            accuracy: test_accuracy,
            loss,
            seconds: started.elapsed().as_secs_f64(),
            checkpoint: folder,
            probabilities: Arc::default(),
        }));
        Some(BestCheckpoint {
            step,
            validation_accuracy,
            test_accuracy,
        })
    }

    /// After the end, with the final state not saved (a full disk, say): in the dashboard the
    /// trainer waits with it, so that a save asked for once the cause is fixed can still write
    /// it. Ends when it is saved, when told to stop, or when the dashboard goes away.
    fn keep_final_state(&mut self) {
        loop {
            match self.commands.recv() {
                Ok(Command::SaveCheckpoint) => {
                    self.checkpoint();
                    let step = self.state.step();
                    if self.checkpointer.as_ref().is_none_or(|c| c.has(step)) {
                        return;
                    }
                }
                Ok(Command::ShareWeights) => self.share_weights(),
                Ok(Command::Stop) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}
