//! `digitdash watch`: the dashboard over a run another process writes (or wrote). A thread
//! re-reads the run's records a few times a second (only what was appended; everything after
//! a rewrite, as after a rollback or resume) and turns them into the events a trainer would
//! send, so every panel works as it does live. The newest checkpoint feeds the digit viewer
//! and the Inspect page: its weights go to the inspector, and it is scored on the test set
//! (when the MNIST files are at hand) for the predictions and the confusion matrix.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dfdx::prelude::Cpu;
use flume::{Receiver, Sender};

use super::source::Source;
use crate::config::Config;
use crate::data::{self, Split};
use crate::run::events::{Ending, EventRecord, Finished};
use crate::run::history::RunHistory;
use crate::run::metrics::Column;
use crate::run::status::writer_alive;
use crate::run::{checkpoint, CheckpointKind};
use crate::settings::{Setting, SettingValue};
use crate::train::evaluate::evaluate;
use crate::train::messages::Weights;
use crate::train::{Command, Evaluation, Event, SettingChange, Started, StepStats, Summary};

/// How often the records are read again.
pub const POLL: Duration = Duration::from_millis(250);
/// Polls without new records before a run with no live writer counts as interrupted: 10 s,
/// well over the 2 s in which the trainer flushes its rows.
const QUIET_POLLS: u32 = 40;

/// A watched run as a source of events.
pub struct Watcher {
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Watcher {
    /// Starts the thread named `watch` over `history`; the test images come from `data_dir`
    /// when it holds MNIST (without them the digit viewer stays empty).
    pub fn spawn(history: RunHistory, data_dir: Option<PathBuf>) -> io::Result<Self> {
        let (sender, events) = flume::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || Follower::new(history, sender, data_dir.as_deref()).run(&flag))?;
        Ok(Self {
            events,
            stop,
            thread,
        })
    }
}

impl Source for Watcher {
    fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// A watched run takes no commands: its trainer is another process.
    fn send(&self, _command: Command) {}

    fn join(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}

/// The reading side: what was sent so far.
struct Follower {
    history: RunHistory,
    events: Sender<Event>,
    config: Config,
    test: Arc<Split>,
    /// The last step sent as an [`Event::Step`].
    sent_step: u64,
    /// The newest checkpoint loaded.
    checkpoint: Option<PathBuf>,
    /// Whether the run's end (or its interruption) was sent.
    ended: bool,
    quiet: u32,
}

impl Follower {
    fn new(history: RunHistory, events: Sender<Event>, data_dir: Option<&Path>) -> Self {
        let config = history.config().cloned().unwrap_or_default();
        let dir = data_dir.map_or_else(|| config.data.dir.clone(), Path::to_path_buf);
        let test = data::load(&dir).map(|m| m.test).unwrap_or_else(|_| {
            Split::new(Vec::new(), Vec::new()).unwrap_or_else(|| unreachable!())
        });
        Self {
            history,
            events,
            config,
            test: Arc::new(test),
            sent_step: 0,
            checkpoint: None,
            ended: false,
            quiet: 0,
        }
    }

    fn send(&self, event: Event) -> bool {
        self.events.send(event).is_ok()
    }

    fn run(mut self, stop: &AtomicBool) {
        let first = self
            .history
            .metrics()
            .first_step()
            .map_or(0, |s| s.saturating_sub(1));
        let started = Event::Started(Started {
            config: self.config.clone(),
            train_len: 60_000,
            test: Arc::clone(&self.test),
            threads: 0,
            first_step: first,
            run_dir: Some(self.history.run().path().to_path_buf()),
        });
        if !self.send(started) {
            return;
        }
        self.sent_step = first;
        let records: Vec<EventRecord> = self.history.events().records().iter().cloned().collect();
        self.send_steps();
        self.send_records(&records);
        while !stop.load(Ordering::Relaxed) && !self.events.is_disconnected() {
            self.load_newest_checkpoint();
            self.check_end();
            std::thread::sleep(POLL);
            let Ok(changes) = self.history.refresh() else {
                continue;
            };
            let metrics = self.history.metrics();
            if changes.metrics_reset {
                // A rollback or resume keeps the rows up to its checkpoint and drops the rest:
                // the steps still in the file are the ones already shown.
                self.sent_step = metrics.last().map_or(0, |row| row.step);
                self.send(Event::RolledBack(self.sent_step));
            } else if changes.metrics_rewound {
                // Rows went back to an earlier step without a rewrite: show them all again.
                self.sent_step = metrics.first_step().unwrap_or(1).saturating_sub(1);
                self.send(Event::RolledBack(self.sent_step));
            }
            self.quiet = if changes.any() { 0 } else { self.quiet + 1 };
            self.send_steps();
            self.send_records(&changes.new_events);
        }
    }

    /// Sends the rows after the last step sent.
    fn send_steps(&mut self) {
        let metrics = self.history.metrics();
        let after = self.sent_step;
        let column = |c| metrics.points(c).skip_while(move |&(s, _)| s <= after);
        let total = self.config.train.steps;
        let batch = self.config.train.batch_size;
        let mut accuracy = column(Column::Accuracy).peekable();
        let mut rate = column(Column::LearningRate).peekable();
        let mut speed = column(Column::SamplesPerSec).peekable();
        let mut wall = column(Column::WallSeconds).peekable();
        let mut last = after;
        for (step, loss) in column(Column::Loss) {
            let at = |it: &mut std::iter::Peekable<_>| value_at(it, step);
            let stats = StepStats {
                step,
                total_steps: total.max(step),
                epoch: step as f64 * batch as f64 / 60_000.0,
                loss: loss as f32,
                accuracy: at(&mut accuracy).unwrap_or(f64::NAN) as f32,
                learning_rate: at(&mut rate).unwrap_or(f64::NAN),
                batch_size: batch,
                samples_per_sec: at(&mut speed).unwrap_or(0.0),
                train_seconds: at(&mut wall).unwrap_or(0.0),
            };
            if self.events.send(Event::Step(stats)).is_err() {
                return;
            }
            last = step;
        }
        self.sent_step = last;
    }

    /// Sends what the records say, as the trainer's events.
    fn send_records(&mut self, records: &[EventRecord]) {
        for record in records {
            let event = match record {
                EventRecord::Evaluation(e) => Event::Evaluation(Evaluation {
                    step: e.step,
                    accuracy: e.test_accuracy,
                    loss: e.test_loss,
                    seconds: e.seconds,
                    probabilities: Arc::new(Vec::new()),
                }),
                EventRecord::SettingChanged {
                    step,
                    setting,
                    old,
                    new,
                } => match (typed(setting, old), typed(setting, new)) {
                    (Some(old), Some(new)) => Event::SettingChanged(SettingChange {
                        step: *step,
                        old,
                        new,
                    }),
                    _ => continue,
                },
                EventRecord::Pause { step } => Event::Paused {
                    paused: true,
                    step: *step,
                },
                EventRecord::Resume { step } => Event::Paused {
                    paused: false,
                    step: *step,
                },
                EventRecord::Checkpoint { step, path } => Event::Checkpoint {
                    step: *step,
                    path: path.clone(),
                },
                EventRecord::Rollback { to_step } => Event::RolledBack(*to_step),
                EventRecord::Error { message } => Event::Diverged(message.clone()),
                EventRecord::Resumed { step, .. } => {
                    Event::Preparing(format!("the run was resumed at step {step}"))
                }
                EventRecord::Started { .. }
                | EventRecord::Stop { .. }
                | EventRecord::Finished(_) => continue,
            };
            if !self.send(event) {
                return;
            }
        }
    }

    /// Loads the newest checkpoint when there is a new one: its weights go to the inspector,
    /// and with the test set at hand it is evaluated for the digit viewer and the matrix.
    fn load_newest_checkpoint(&mut self) {
        let run = self.history.run();
        // The best checkpoint is written at every better evaluation, the periodic ones less
        // often: the newest of either shows the run as it is now.
        let newest = [CheckpointKind::Periodic, CheckpointKind::Best]
            .into_iter()
            .filter_map(|kind| run.checkpoints(kind).pop())
            .max_by_key(|folder| checkpoint_step(folder));
        if newest.is_none() || newest == self.checkpoint {
            return;
        }
        self.checkpoint = newest.clone();
        let Some(folder) = newest else { return };
        let device = Cpu::default();
        let Ok((model, meta)) = checkpoint::load(&folder, &device) else {
            return;
        };
        let step = meta.map_or(self.sent_step, |m| m.step);
        let model = Arc::new(model);
        if !self.send(Event::Weights(Weights {
            step,
            model: Arc::clone(&model),
        })) {
            return;
        }
        if self.test.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let scores = evaluate(
            &model,
            &device,
            &self.test,
            self.config.train.eval_batch_size,
        );
        self.send(Event::Evaluation(Evaluation {
            step,
            accuracy: scores.accuracy,
            loss: scores.loss,
            seconds: started.elapsed().as_secs_f64(),
            probabilities: Arc::new(scores.probabilities),
        }));
    }

    /// Sends the run's end once it is recorded, or its interruption once nothing has come
    /// for a while and no process writes the run.
    fn check_end(&mut self) {
        if self.ended {
            return;
        }
        let event = match self.history.events().ending() {
            Ending::Finished(f) => Event::Finished(summary(f)),
            Ending::Error(message) => Event::Failed(message.clone()),
            Ending::None if self.quiet >= QUIET_POLLS && !writer_alive(self.history.run()) => {
                Event::Failed(format!(
                    "interrupted: no process writes this run any more (last step {}); \
                     `digitdash --resume {}` continues it",
                    self.sent_step,
                    self.history.run().path().display()
                ))
            }
            Ending::None => return,
        };
        self.ended = true;
        self.send(event);
    }
}

/// The step in a checkpoint folder's name (`step-00000300`, `best-step-00000300`).
fn checkpoint_step(folder: &Path) -> u64 {
    folder
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.rsplit('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The value of the next point of `points` if it is at `step`.
fn value_at(
    points: &mut std::iter::Peekable<impl Iterator<Item = (u64, f64)>>,
    step: u64,
) -> Option<f64> {
    while points.peek().is_some_and(|&(s, _)| s < step) {
        points.next();
    }
    points.peek().filter(|&&(s, _)| s == step).map(|&(_, v)| v)
}

/// A recorded setting value as a typed one.
fn typed(setting: &str, value: &serde_json::Value) -> Option<SettingValue> {
    let number = value.as_f64()?;
    let setting = Setting::ALL.into_iter().find(|s| s.name() == setting)?;
    Some(match setting {
        Setting::LearningRate => SettingValue::LearningRate(number),
        Setting::BatchSize => SettingValue::BatchSize(number as usize),
        Setting::EvalEvery => SettingValue::EvalEvery(number as u64),
        Setting::Dropout => SettingValue::Dropout(number as f32),
    })
}

/// A recorded end as the trainer's summary.
fn summary(f: &Finished) -> Summary {
    Summary {
        steps: f.steps,
        stopped_early: f.stopped_early,
        test_accuracy: f.test_accuracy,
        test_loss: f.test_loss,
        train_seconds: f.train_seconds,
        wall_seconds: f.wall_seconds,
        samples_per_sec: f.samples_per_sec,
        run_dir: f.run_dir.clone(),
        unsaved: f.unsaved.clone(),
    }
}
