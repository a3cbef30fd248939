//! A run folder read back as a [`Source`] (`digitdash watch`): a thread re-reads the run's
//! records a few times a second (only what was appended; everything after a rewrite, as after
//! a rollback or resume) and turns them into the events its trainer sent, in the order it sent
//! them, so every front-end works on it as on a live run.
//!
//! Only what the records say is sent: the start as recorded (images, threads, settings), one
//! step a row of `metrics.csv`, each record of `events.jsonl` and `layers.jsonl` as its
//! event, and the end when
//! it is recorded, or when nobody writes the run any more. With [`ReplayOptions::inspect`],
//! the test images (when the run's data is at hand) and a checkpoint's weights (the newest
//! while the run goes on, the best once it ended) are
//! sent too, for the views that look inside the network; a
//! [`Command::InspectCheckpoint`] pins another checkpoint in its place, or goes back to that
//! automatic choice.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use dfdx::prelude::Cpu;
use flume::{Receiver, Sender};

use super::Source;
use crate::data::{self, Split};
use crate::model::score::evaluate;
use crate::run::events::Ending;
use crate::run::history::RunHistory;
use crate::run::record::{CheckpointWritten, ErrorKind, EvalSplit, Record, RunStarted};
use crate::run::status::writer_alive;
use crate::run::tail::{TailItem, TailReader};
use crate::run::{checkpoint, CheckpointKind, MetricsRow, RunDir};
use crate::train::messages::Weights;
use crate::train::{
    CheckpointChoice, Command, Evaluation, Event, SettingValue, Started, StepStats,
};

/// How often the records are read again.
pub const POLL: Duration = Duration::from_millis(250);
/// Events the replay lets wait for its reader before it sends more (up to [`CHUNK`] rows
/// each): a long run is read about as fast as it is shown, never held twice over in the
/// channel.
const AHEAD: usize = 16;
/// Rows sent as one event, between two looks at the reader's backlog.
const CHUNK: usize = 1024;
/// Rows sent between two drops of the sent rows' values: a drop moves every value still
/// held, so one per evaluation of a million-row run would move the rest of the run each time.
const FORGET_EVERY: u64 = 65_536;
/// Polls without new records before a run with no live writer counts as interrupted: 10 s,
/// well over the 2 s in which the trainer flushes its rows.
const QUIET_POLLS: u32 = 40;

/// What a replay sends besides the records.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Send the test images and the newest checkpoint's weights (and its scores on the test
    /// images), for the dashboard's digit viewer and Inspect page.
    pub inspect: bool,
    /// Where the run's data is, when not where its settings say.
    pub data_dir: Option<PathBuf>,
}

/// A run folder as a source of events.
pub struct Replay {
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    /// The checkpoints asked for ([`Command::InspectCheckpoint`]), newest last.
    choices: Sender<Option<CheckpointChoice>>,
    thread: JoinHandle<()>,
}

impl Replay {
    /// Starts the thread named `replay` over `history`, below training's priority (the run it
    /// follows may be training in another process on the same cores).
    pub fn spawn(history: RunHistory, options: ReplayOptions) -> io::Result<Self> {
        let (sender, events) = flume::unbounded();
        let (choices, chosen) = flume::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("replay".into())
            .spawn(move || {
                crate::priority::yield_to_training();
                Follower::new(history, sender, chosen, options).run(&flag);
            })?;
        Ok(Self {
            events,
            stop,
            choices,
            thread,
        })
    }
}

impl Source for Replay {
    fn events(&self) -> &Receiver<Event> {
        &self.events
    }

    /// A stop ends the replay (its channel then disconnects); a checkpoint asked for is
    /// loaded at the next poll; other commands are for a trainer, which is another process:
    /// they are dropped.
    fn send(&self, command: Command) {
        match command {
            Command::Stop => self.stop.store(true, Ordering::Relaxed),
            Command::InspectCheckpoint(choice) => {
                let _ = self.choices.send(choice);
            }
            _ => {}
        }
    }

    fn join(self) {
        let Self {
            events,
            stop,
            thread,
            ..
        } = self;
        stop.store(true, Ordering::Relaxed);
        // A replay waiting for its reader to catch up sees the channel close.
        drop(events);
        let _ = thread.join();
    }
}

/// The reading side: what was sent so far.
struct Follower {
    history: RunHistory,
    events: Sender<Event>,
    options: ReplayOptions,
    test: Arc<Split>,
    validation: Arc<Split>,
    /// The start as recorded, once read.
    started: Option<RunStarted>,
    /// Whether the start was sent.
    started_sent: bool,
    /// The last step sent (in an [`Event::Steps`]).
    sent_step: u64,
    /// The step through which the sent rows' values were dropped.
    forgotten_step: u64,
    /// The highest step of anything sent (rows, evaluations): what a resume must take back.
    shown_step: u64,
    /// The batch size in force, from the settings and their recorded changes.
    batch_size: usize,
    /// The newest checkpoint loaded.
    checkpoint: Option<PathBuf>,
    /// Checkpoints asked for by the viewer.
    choices: Receiver<Option<CheckpointChoice>>,
    /// The checkpoint the viewer pinned, in place of the automatic choice.
    pinned: Option<CheckpointChoice>,
    /// `layers.jsonl`, read as it grows.
    layers: TailReader,
    /// Whether the run's end (or its interruption) was sent.
    ended: bool,
    quiet: u32,
}

impl Follower {
    fn new(
        history: RunHistory,
        events: Sender<Event>,
        choices: Receiver<Option<CheckpointChoice>>,
        options: ReplayOptions,
    ) -> Self {
        let batch_size = history.config().map_or(0, |c| c.train.batch_size);
        let layers = TailReader::new(history.run().layers_file());
        Self {
            history,
            events,
            options,
            test: Arc::new(Split::default()),
            validation: Arc::new(Split::default()),
            started: None,
            started_sent: false,
            sent_step: 0,
            forgotten_step: 0,
            shown_step: 0,
            batch_size,
            checkpoint: None,
            choices,
            pinned: None,
            layers,
            ended: false,
            quiet: 0,
        }
    }

    fn send(&self, event: Event) -> bool {
        self.events.send(event).is_ok()
    }

    fn run(mut self, stop: &AtomicBool) {
        if self.options.inspect {
            let (test, validation) = self.images();
            (self.test, self.validation) = (Arc::new(test), Arc::new(validation));
        }
        let records: Vec<Record> = self.history.events().records().iter().cloned().collect();
        self.first_step_hint();
        self.take(records);
        self.flush_rows(u64::MAX);
        self.send_layers();
        self.check_end();
        while !stop.load(Ordering::Relaxed) && !self.events.is_disconnected() {
            if self.ended && !self.options.inspect {
                // Nothing more will be recorded, and nothing else is asked for.
                return;
            }
            if self.options.inspect {
                if let Some(choice) = self.choices.try_iter().last() {
                    self.pinned = choice;
                }
                self.load_checkpoint();
            }
            std::thread::sleep(POLL);
            if self.ended {
                continue;
            }
            if !self.history.run().path().is_dir() {
                self.ended = true;
                self.send(Event::Failed(format!(
                    "the run folder {} was deleted or moved while it was watched; what was \
                     shown is what it held",
                    self.history.run().path().display()
                )));
                continue;
            }
            let Ok(changes) = self.history.refresh() else {
                continue;
            };
            if changes.metrics_reset || changes.metrics_rewound {
                // A rollback or resume rewrote the rows: the ones still in the file up to its
                // checkpoint are those shown; later ones come again.
                let kept = self.history.metrics().last().map_or(0, |row| row.step);
                self.rewind(kept);
            }
            self.quiet = if changes.any() { 0 } else { self.quiet + 1 };
            self.take(changes.new_events);
            self.flush_rows(u64::MAX);
            self.send_layers();
            self.check_end();
        }
    }

    /// The run's test images and validation split, or none when its files are not at hand.
    fn images(&self) -> (Split, Split) {
        let dir = match (&self.options.data_dir, self.history.config()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(config)) => config.data.dir.clone(),
            (None, None) => return Default::default(),
        };
        let held_out = self
            .history
            .events()
            .records()
            .iter()
            .find_map(|r| match r {
                Record::Started(s) => Some(s.validation_images),
                _ => None,
            });
        match held_out {
            Some(n) if n > 0 => data::load(&dir)
                .ok()
                .and_then(|mut mnist| {
                    let validation = mnist.hold_out_validation(n, &dir).ok()?;
                    Some((mnist.test, validation))
                })
                .unwrap_or_default(),
            _ => (data::load_test(&dir).unwrap_or_default(), Split::default()),
        }
    }

    /// Without a start record, the rows' first step tells where the records begin.
    fn first_step_hint(&mut self) {
        let first = self.history.metrics().first_step();
        self.sent_step = first.map_or(0, |s| s.saturating_sub(1));
    }

    /// Sends `records`, each after the rows of the steps before it.
    fn take(&mut self, records: Vec<Record>) {
        for record in records {
            match &record {
                Record::Evaluation(e) => self.flush_rows(e.step),
                Record::SettingChanged(c) => self.flush_rows(c.step),
                Record::Pause { step }
                | Record::Resume { step }
                | Record::Stop { step }
                | Record::Checkpoint(CheckpointWritten { step, .. }) => self.flush_rows(*step),
                Record::Finished(summary) => self.flush_rows(summary.steps),
                Record::Error(_) => self.flush_rows(u64::MAX),
                _ => {}
            }
            if !self.send_record(record) {
                return;
            }
        }
    }

    /// Sends one record as its event, keeping what later rows need to know.
    fn send_record(&mut self, record: Record) -> bool {
        match &record {
            Record::Started(started) => {
                let first = self.started.is_none();
                self.started = Some(started.clone());
                self.batch_size = started.config.train.batch_size;
                if !first {
                    // A later start belongs to a resume, already said by its own record.
                    return true;
                }
                self.sent_step = self.sent_step.max(started.first_step);
                self.started_sent = true;
            }
            Record::SettingChanged(change) => {
                if let SettingValue::BatchSize(b) = change.new {
                    self.batch_size = b;
                }
            }
            Record::Evaluation(e) => self.shown_step = self.shown_step.max(e.step),
            Record::Resumed(from) if self.shown_step > from.step => {
                // The rows and evaluations after the checkpoint were abandoned.
                let step = from.step;
                let resumed = self.event_of(record);
                return self.rewind(step) && resumed.is_none_or(|e| self.send(e));
            }
            Record::Rollback { to_step } => {
                self.sent_step = self.sent_step.min(*to_step);
                self.shown_step = *to_step;
            }
            _ => {}
        }
        match self.event_of(record) {
            Some(event) => self.send(event),
            None => true,
        }
    }

    /// Takes back what was shown after `step`: the run went back to it.
    fn rewind(&mut self, step: u64) -> bool {
        self.sent_step = self.sent_step.min(step);
        self.shown_step = step;
        self.send(Event::RolledBack(step))
    }

    /// The event a record stands for.
    fn event_of(&self, record: Record) -> Option<Event> {
        let images = Images {
            test: Arc::clone(&self.test),
            validation: Arc::clone(&self.validation),
        };
        event_of(
            record,
            &images,
            Some(self.history.run().path().to_path_buf()),
        )
    }

    /// Sends the rows after the last step sent, up to `through`; the start first, if the
    /// records hold none (a run whose `events.jsonl` was lost).
    fn flush_rows(&mut self, through: u64) {
        loop {
            self.wait_for_reader();
            let rows: Vec<MetricsRow> = self
                .history
                .metrics()
                .rows_after(self.sent_step)
                .take_while(|row| row.step <= through)
                .take(CHUNK)
                .collect();
            if rows.is_empty() {
                break;
            }
            if !self.started_sent {
                self.started_sent = true;
                let fallback = self.fallback_start();
                if !self.send(fallback) {
                    return;
                }
            }
            let steps: Vec<StepStats> = rows.iter().map(|row| self.step_stats(row)).collect();
            let last = steps.last().map_or(self.sent_step, |s| s.step);
            if !self.send(Event::Steps(steps)) {
                return;
            }
            self.sent_step = last;
            self.shown_step = self.shown_step.max(last);
        }
        // What was sent is not needed again until the file is rewritten, which reads it anew:
        // dropped once a share worth moving the rest for has been sent, and after each read.
        let sent_since = self.sent_step.saturating_sub(self.forgotten_step);
        if through == u64::MAX || sent_since >= FORGET_EVERY {
            self.history.forget_metrics_through(self.sent_step);
            self.forgotten_step = self.sent_step;
        }
    }

    /// Waits while more than [`AHEAD`] events wait for the reader (a sleep, not a wake-up a
    /// row: a blocking channel would switch threads once an event).
    fn wait_for_reader(&self) {
        while self.events.len() > AHEAD && !self.events.is_disconnected() {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// A start for a run whose records hold none: its settings, and nothing else known.
    fn fallback_start(&self) -> Event {
        let config = self.history.config().cloned().unwrap_or_default();
        Event::Started(Started {
            run: RunStarted {
                train_images: 0,
                test_images: self.test.len(),
                validation_images: self.validation.len(),
                threads: 0,
                first_step: self.sent_step,
                config,
            },
            test: Arc::clone(&self.test),
            validation: Arc::clone(&self.validation),
            run_dir: Some(self.history.run().path().to_path_buf()),
        })
    }

    /// A row as the step the trainer reported. Rows written before `metrics.csv` had its
    /// epoch column get the epoch from the images trained at the batch size in force.
    fn step_stats(&self, row: &MetricsRow) -> StepStats {
        let train_images = self.started.as_ref().map_or(0, |s| s.train_images);
        let total = self.history.total_steps().unwrap_or_default().max(row.step);
        let epoch = if row.epoch.is_finite() || train_images == 0 {
            row.epoch
        } else {
            row.step as f64 * self.batch_size as f64 / train_images as f64
        };
        StepStats {
            step: row.step,
            total_steps: total,
            epoch,
            loss: row.loss,
            accuracy: row.accuracy,
            learning_rate: row.learning_rate,
            batch_size: self.batch_size,
            samples_per_sec: row.samples_per_sec,
            train_seconds: row.wall_seconds,
        }
    }

    /// Sends the layer statistics appended to `layers.jsonl` since the last read (all of them
    /// again after a rewrite: the dashboard drops its later samples when an earlier step
    /// comes). Damaged lines are skipped; a run recorded before them has no file.
    fn send_layers(&mut self) {
        let mut stats = Vec::new();
        let read = self.layers.read(|item| {
            if let TailItem::Line(line) = item {
                if let Some(Record::Layers(s)) = Record::from_json_line(line) {
                    stats.push(s);
                }
            }
        });
        if read.is_ok() {
            for s in stats {
                self.send(Event::Layers(s));
            }
        }
    }

    /// Loads the checkpoint to show when it changed: the one the viewer pinned, else the
    /// newest while the run goes on and the best once it has ended (what `eval` and `predict`
    /// take from a run). Its weights go to the inspector, and with the images at hand it is
    /// scored for the digit viewer and the matrix. A pinned checkpoint that cannot be loaded
    /// (the run deleted it since) is said, and the automatic choice comes back.
    fn load_checkpoint(&mut self) {
        if let Some(choice) = self.pinned {
            let run = self.history.run();
            let folder = run
                .checkpoints_dir()
                .join(RunDir::checkpoint_name(choice.kind, choice.step));
            if Some(&folder) == self.checkpoint.as_ref() {
                return;
            }
            match self.send_checkpoint(folder) {
                Ok(()) => return,
                Err(message) => {
                    self.pinned = None;
                    self.send(Event::RecordError(message));
                }
            }
        }
        let run = self.history.run();
        // The best checkpoint is written at every better evaluation, the periodic ones less
        // often: the newest of either shows the run as it is now.
        let newest = [CheckpointKind::Periodic, CheckpointKind::Best]
            .into_iter()
            .filter_map(|kind| run.checkpoints(kind).pop())
            .max_by_key(|folder| RunDir::checkpoint_step(folder).unwrap_or(0));
        let best = || run.checkpoints(CheckpointKind::Best).pop();
        let newest = if self.ended {
            best().or(newest)
        } else {
            newest
        };
        if newest.is_none() || newest == self.checkpoint {
            return;
        }
        let Some(folder) = newest else { return };
        // One that cannot be read now is tried again when a newer one lands.
        let _ = self.send_checkpoint(folder);
    }

    /// Loads the checkpoint `folder`, names it, sends its weights and its scores; says why
    /// it cannot be read.
    fn send_checkpoint(&mut self, folder: PathBuf) -> Result<(), String> {
        self.checkpoint = Some(folder.clone());
        let device = Cpu::default();
        let (model, meta) = checkpoint::load(&folder, &device)
            .map_err(|e| format!("cannot show that checkpoint: {e}"))?;
        let step = meta.map_or(self.sent_step, |m| m.step);
        let model = Arc::new(model);
        if !self.send(Event::CheckpointLoaded(folder.clone())) {
            return Ok(());
        }
        // Scored on what the run chooses by: its validation split, or without one the test
        // set (which the run then evaluated all along).
        let (images, split) = if self.validation.is_empty() {
            (&self.test, EvalSplit::Test)
        } else {
            (&self.validation, EvalSplit::Validation)
        };
        if !self.send(Event::Weights(Weights {
            step,
            model: Arc::clone(&model),
        })) || images.is_empty()
        {
            return Ok(());
        }
        let batch = self
            .history
            .config()
            .map_or(500, |c| c.train.eval_batch_size);
        let started = std::time::Instant::now();
        let scores = evaluate(&model, &device, images, batch);
        self.send(Event::CheckpointScored(Evaluation {
            split,
            step,
            accuracy: scores.accuracy,
            loss: scores.loss,
            seconds: started.elapsed().as_secs_f64(),
            checkpoint: Some(folder),
            probabilities: Arc::new(scores.probabilities),
        }));
        Ok(())
    }

    /// Notes the run's end once its record was sent; sends a failure when its process has gone
    /// without one: after a divergence (headless stops there), or at any point (killed).
    fn check_end(&mut self) {
        if self.ended {
            return;
        }
        let events = self.history.events();
        if events.has_final_record() {
            self.ended = true;
            return;
        }
        let alive = || writer_alive(self.history.run());
        let message = match events.ending() {
            Ending::Error(error) if !alive() => error.message.clone(),
            Ending::None if (self.quiet >= QUIET_POLLS || !self.writer_may_live()) && !alive() => {
                format!(
                    "interrupted: no process writes this run any more (last step {}); \
                     `digitdash --resume {}` continues it",
                    self.sent_step,
                    self.history.run().path().display()
                )
            }
            _ => return,
        };
        self.ended = true;
        self.send(Event::Failed(message));
    }

    /// Whether a writer could still be at work without this machine seeing its lock (the run
    /// has no lock file, as on some network file systems): then only a quiet spell tells.
    fn writer_may_live(&self) -> bool {
        !self.history.run().lock_file().exists()
    }
}

/// The images a replay shows, for the start it sends.
#[derive(Debug, Clone, Default)]
pub struct Images {
    /// The test set.
    pub test: Arc<Split>,
    /// The validation split.
    pub validation: Arc<Split>,
}

/// The event a record stands for; `images` and `run_dir` complete a start.
pub fn event_of(record: Record, images: &Images, run_dir: Option<PathBuf>) -> Option<Event> {
    Some(match record {
        Record::Started(run) => Event::Started(Started {
            run,
            test: Arc::clone(&images.test),
            validation: Arc::clone(&images.validation),
            run_dir,
        }),
        Record::Step(stats) => Event::Step(stats),
        Record::Layers(stats) => Event::Layers(stats),
        Record::Evaluation(e) => Event::Evaluation(e),
        Record::SettingChanged(change) => Event::SettingChanged(change),
        Record::Pause { step } => Event::Paused { paused: true, step },
        Record::Resume { step } => Event::Paused {
            paused: false,
            step,
        },
        Record::Stop { step } => Event::Stopping { step },
        Record::Resumed(from) => Event::Resumed(from),
        Record::CheckpointSkipped(skipped) => Event::CheckpointSkipped(skipped),
        Record::Repaired { note } => Event::Repaired(note),
        Record::Checkpoint(written) => Event::Checkpoint(written),
        Record::Rollback { to_step } => Event::RolledBack(to_step),
        Record::Error(error) => match error.kind {
            ErrorKind::Diverged => Event::Diverged(error.message),
            ErrorKind::Failed => Event::Failed(error.message),
            ErrorKind::StoppedBeforeTraining => Event::StoppedBeforeTraining(error.message),
        },
        Record::Finished(summary) => Event::Finished(summary),
    })
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;
    use crate::run::record::{tests::example, RecordKind};

    #[test]
    fn every_record_kind_has_an_event_that_records_it_back() {
        for kind in RecordKind::iter() {
            let record = example(kind);
            let event = event_of(record.clone(), &Images::default(), None)
                .unwrap_or_else(|| panic!("{kind:?} has no event"));
            assert_eq!(event.record(), Some(record), "{kind:?}");
        }
    }
}
