//! The dashboard's state, apart from any drawing: fed by the trainer's events
//! ([`App::update`]) and by keys ([`App::on_key`], which answers with the commands to send).
//!
//! Nothing here reads the clock or touches the terminal: the frame loop injects the elapsed
//! time, so the same events and keys always give the same screen.

pub mod canvas;
pub mod chart_view;
pub mod checkpoints;
pub mod compare;
pub mod confusion;
pub mod digits;
pub mod editor;
pub mod effect;
pub mod fed;
pub mod gallery;
pub mod input;
pub mod inspection;
pub mod keys;
pub mod log;
pub mod look;
pub mod page;
pub mod picker;
pub mod pointer;
pub mod series;
pub mod settings;
pub mod sweep;
pub mod sweep_page;
pub mod update;

use std::time::Duration;

use crate::config::Config;
use crate::data::Progress;
use crate::run::layer_history::LayerHistory;
use crate::run::record::EvalSplit;
use crate::signals::Signal;
use crate::train::{Command, Evaluation, StepStats, Summary};

pub use crate::train::Setting;
pub use canvas::{Canvas, Stroke};
pub use chart_view::ChartView;
pub use checkpoints::{CheckpointEntry, CheckpointPicker, CheckpointRole};
pub use compare::ComparedRun;
pub use confusion::Confusion;
pub use digits::{DigitView, DigitViewer};
pub use editor::Editor;
pub use effect::{ChartExport, Effect};
pub use fed::{FedImages, FedView};
pub use gallery::{Gallery, Ranked};
pub use inspection::{
    ComparedPrediction, DigitInsight, DigitRef, DrawingInsight, Filters, Insight, InspectJob,
};
pub use keys::{Action, BINDINGS};
pub use log::{EventLog, LogEntry, LogKind};
pub use look::{ActivationLayer, Look};
pub use page::Page;
pub use picker::{PickerEntry, RunPicker};
pub use pointer::{Hit, Pointer};
pub use series::{Series, Window};
pub use settings::Settings;
pub use sweep::{SweepOrder, SweepView};

/// Where the run is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Loading or downloading data; no step yet.
    Preparing,
    /// The trainer has started.
    Training,
    /// The trainer finished (all steps, or stopped early).
    Finished(Summary),
    /// The trainer failed with this message.
    Failed(String),
    /// A stop came while the data downloaded; nothing was trained.
    StoppedBeforeTraining(String),
}

/// The state shown in the status bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Loading data.
    Preparing,
    /// Taking steps.
    Running,
    /// Held between steps.
    Paused,
    /// Evaluating on the test set.
    Evaluating,
    /// Asked to stop; finishing with a final evaluation.
    Stopping,
    /// Done.
    Finished,
    /// Failed.
    Failed,
    /// Stopped before any step.
    Stopped,
}

impl RunState {
    /// The word the status bar shows.
    pub fn label(self) -> &'static str {
        match self {
            RunState::Preparing => "PREPARING",
            RunState::Running => "RUNNING",
            RunState::Paused => "PAUSED",
            RunState::Evaluating => "EVALUATING",
            RunState::Stopping => "STOPPING",
            RunState::Finished => "FINISHED",
            RunState::Failed => "FAILED",
            RunState::Stopped => "STOPPED",
        }
    }
}

/// What covers the dashboard, if anything. Keys go to it first.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Overlay {
    /// Nothing.
    #[default]
    None,
    /// The list of keys.
    Help,
    /// A yes-or-no question.
    Confirm(Question),
    /// Typing a value for a setting.
    Edit(Editor),
    /// Choosing runs to overlay on the charts.
    Runs(RunPicker),
    /// Choosing the checkpoint a watched run's inspector shows.
    Checkpoints(CheckpointPicker),
}

/// A question that needs `y` before it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// Quit while training runs (training stops first).
    Quit,
    /// Stop training early.
    Stop,
    /// Go back to the newest checkpoint.
    Rollback,
    /// Quit although the final weights could not be saved.
    QuitUnsaved,
    /// Quit while the sweep this process trains has trials left (they stop, resumable).
    QuitSweep,
}

impl Question {
    /// The question as the dialog asks it, without the details the app adds
    /// ([`App::question_text`]).
    pub fn text(self) -> &'static str {
        match self {
            Question::Quit => "Training is still running. Stop it and quit?",
            Question::Stop => "Stop training now? The model is evaluated one last time.",
            Question::Rollback => "Roll the model back to the newest checkpoint?",
            Question::QuitUnsaved => "The final weights are not saved. Quit without them?",
            Question::QuitSweep => "The sweep is still training. Stop its trials and quit?",
        }
    }
}

/// Whether the dashboard should close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Exit {
    /// Keep going.
    #[default]
    Stay,
    /// Close once the trainer has finished (it was told to stop).
    AfterFinish,
    /// Close now.
    Now,
}

/// Weight of the newest step in the throughput and step-time averages.
const RATE_SMOOTHING: f64 = 0.1;

/// Everything the dashboard shows and remembers.
#[derive(Debug, Clone)]
pub struct App {
    phase: Phase,
    paused: bool,
    pause_wanted: bool,
    eval_pending: bool,
    stop_sent: bool,
    note: Option<String>,
    download: Option<Progress>,
    first_step: u64,
    total_steps: u64,
    last_step: Option<StepStats>,
    loss: Series,
    accuracy: Series,
    /// Layer statistics over the steps, thinned to a bound.
    layers: LayerHistory,
    /// Evaluations of the weights in training on the split choices are made on.
    evaluations: Vec<Evaluation>,
    /// The split choices are made on: validation, or test for a run without one.
    choosing: EvalSplit,
    /// Every look at the test set, the best checkpoint's at the end included.
    test_looks: Vec<Evaluation>,
    settings: Settings,
    selected: Setting,
    digits: DigitViewer,
    log: EventLog,
    chart: ChartView,
    overlay: Overlay,
    exit: Exit,
    signal: Option<Signal>,
    elapsed: Duration,
    /// [`App::elapsed`] when training ended.
    ended_at: Option<Duration>,
    step_seconds: Option<f64>,
    throughput: Option<f64>,
    flash: Option<String>,
    page: Page,
    look: Look,
    canvas: Canvas,
    run_dir: Option<std::path::PathBuf>,
    effects: Vec<Effect>,
    read_only: Option<String>,
    compared: Vec<ComparedRun>,
    config: Config,
    fed: FedImages,
    /// The sweep followed on the Sweep page, if any.
    sweep: Option<SweepView>,
    /// The checkpoint chosen in the checkpoint picker; `None` for the automatic choice.
    checkpoint_choice: Option<crate::train::CheckpointChoice>,
}

/// The lowest place in the run palette that none of `runs` holds.
fn free_colour(runs: &[ComparedRun]) -> usize {
    (0..)
        .find(|c| runs.iter().all(|r| r.colour != *c))
        .unwrap_or(0)
}

impl App {
    /// A dashboard for a run with `config`, before any event has arrived.
    pub fn new(config: &Config) -> Self {
        Self {
            phase: Phase::Preparing,
            paused: false,
            pause_wanted: false,
            eval_pending: false,
            stop_sent: false,
            note: Some("starting the trainer".into()),
            download: None,
            first_step: 0,
            total_steps: config.train.steps,
            last_step: None,
            loss: Series::default(),
            accuracy: Series::default(),
            layers: LayerHistory::default(),
            evaluations: Vec::new(),
            choosing: if config.data.validation() > 0 {
                EvalSplit::Validation
            } else {
                EvalSplit::Test
            },
            test_looks: Vec::new(),
            settings: Settings::from_config(&config.train),
            selected: Setting::LearningRate,
            digits: DigitViewer::default(),
            log: EventLog::default(),
            chart: ChartView::default(),
            overlay: Overlay::None,
            exit: Exit::Stay,
            signal: None,
            elapsed: Duration::ZERO,
            ended_at: None,
            step_seconds: None,
            throughput: None,
            flash: None,
            page: Page::Training,
            look: Look::default(),
            canvas: Canvas::default(),
            run_dir: None,
            effects: Vec::new(),
            read_only: None,
            compared: Vec::new(),
            config: config.clone(),
            fed: FedImages::default(),
            sweep: None,
            checkpoint_choice: None,
        }
    }

    /// Overlays another run's curves on the charts.
    pub fn compare_with(&mut self, mut run: ComparedRun) {
        run.colour = free_colour(&self.compared);
        self.compared.push(run);
    }

    /// Puts the runs chosen in the picker on the charts in place of those shown before;
    /// `failures` are the chosen runs that could not be read, each with why.
    pub fn compared_loaded(&mut self, runs: Vec<ComparedRun>, failures: Vec<String>) {
        self.flash = Some(match (runs.len(), failures.first()) {
            (_, Some(first)) => format!("{first} ({} of the chosen runs unread)", failures.len()),
            (0, None) => "no runs overlaid".into(),
            (1, None) => format!("overlaid {}", runs[0].name),
            (n, None) => format!("overlaid {n} runs"),
        });
        let before = std::mem::take(&mut self.compared);
        let (kept, added): (Vec<_>, Vec<_>) = runs
            .into_iter()
            .partition(|run| before.iter().any(|b| b.path == run.path));
        for mut run in kept {
            // A run that stays keeps its colour.
            if let Some(b) = before.iter().find(|b| b.path == run.path) {
                run.colour = b.colour;
            }
            self.compared.push(run);
        }
        for run in added {
            self.compare_with(run);
        }
    }

    /// Opens the run picker over the runs listed from `dir`, or says why they could not be
    /// listed.
    pub fn runs_listed(
        &mut self,
        dir: std::path::PathBuf,
        runs: Result<Vec<crate::run::listing::RunOverview>, String>,
    ) {
        match runs {
            Ok(runs) => {
                let compared: Vec<_> = self.compared.iter().map(|r| r.path.clone()).collect();
                self.overlay = Overlay::Runs(RunPicker::new(
                    dir,
                    runs,
                    self.run_dir.as_deref(),
                    &compared,
                ));
            }
            Err(message) => self.flash = Some(format!("cannot list the runs: {message}")),
        }
    }

    /// Opens the checkpoint picker over the run's checkpoints `found`.
    pub fn checkpoints_listed(&mut self, found: Vec<crate::train::CheckpointChoice>) {
        if found.is_empty() {
            self.flash = Some("the run holds no checkpoint yet".into());
            return;
        }
        let final_step = match &self.phase {
            Phase::Finished(summary) => Some(summary.steps),
            _ => None,
        };
        self.overlay = Overlay::Checkpoints(CheckpointPicker::new(
            found,
            &self.evaluations,
            self.choosing,
            final_step,
            self.checkpoint_choice,
        ));
    }

    /// The checkpoint chosen in the checkpoint picker; `None` while the automatic choice
    /// (the best once the run ended, the newest while it is written) is in force.
    pub fn checkpoint_choice(&self) -> Option<crate::train::CheckpointChoice> {
        self.checkpoint_choice
    }

    /// The runs overlaid on the charts, in the order they were added.
    pub fn compared(&self) -> &[ComparedRun] {
        &self.compared
    }

    /// The training images as fed, for the digit panel while they are toggled on.
    pub fn fed(&self) -> &FedImages {
        &self.fed
    }

    /// The name of class `class` where the dataset's classes are not its digits (Fashion-MNIST's
    /// "Sandal", KMNIST's "つ (tsu)"); `None` for MNIST, whose digits name themselves.
    pub fn class_name(&self, class: usize) -> Option<&'static str> {
        let dataset = self.config.data.dataset;
        (dataset != crate::data::Dataset::Mnist).then(|| dataset.class_name(class))
    }

    /// The settings the run started with (for comparisons).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A dashboard over a run this process does not train (`digitdash watch`): the controls
    /// are shown as unavailable, `reason` saying why.
    pub fn watching(config: &Config, reason: impl Into<String>) -> Self {
        let mut app = Self::new(config);
        app.read_only = Some(reason.into());
        app.note = Some("reading the run's records".into());
        app
    }

    /// Sets the time since the dashboard opened (the frame loop calls this; tests pick it).
    pub fn set_elapsed(&mut self, elapsed: Duration) {
        self.elapsed = elapsed;
    }

    /// Time since the dashboard opened.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// How long the run has taken, as the status bar shows it: for a watched run, its own
    /// clock at its latest row; otherwise the time since the dashboard opened, stopped when
    /// training ended.
    pub fn run_time(&self) -> Duration {
        if self.read_only.is_some() {
            let seconds = self.last_step.map_or(0.0, |s| s.train_seconds);
            return Duration::try_from_secs_f64(seconds).unwrap_or_default();
        }
        self.ended_at.unwrap_or(self.elapsed)
    }

    /// The state for the status bar.
    pub fn state(&self) -> RunState {
        match &self.phase {
            Phase::Finished(_) => RunState::Finished,
            Phase::Failed(_) => RunState::Failed,
            Phase::StoppedBeforeTraining(_) => RunState::Stopped,
            _ if self.stop_sent => RunState::Stopping,
            Phase::Preparing => RunState::Preparing,
            Phase::Training if self.eval_pending => RunState::Evaluating,
            Phase::Training if self.paused => RunState::Paused,
            Phase::Training => RunState::Running,
        }
    }

    /// Whether the screen changes on its own (training runs), so frames are drawn often.
    pub fn is_busy(&self) -> bool {
        !matches!(
            self.state(),
            RunState::Paused | RunState::Finished | RunState::Failed | RunState::Stopped
        )
    }

    /// Whether the trainer still takes commands.
    pub fn accepts_commands(&self) -> bool {
        self.read_only.is_none() && !self.has_ended() && !self.stop_sent
    }

    /// Why the controls are unavailable, when the dashboard watches a run it does not train.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// Why the final weights are not saved, when the run has finished without saving them
    /// (the trainer keeps them until it is told to quit: `c` tries again).
    pub fn unsaved(&self) -> Option<&str> {
        match &self.phase {
            Phase::Finished(summary) if self.read_only.is_none() => summary.unsaved.as_deref(),
            _ => None,
        }
    }

    /// The text of `question`, with what the user needs to decide.
    pub fn question_text(&self, question: Question) -> String {
        match (question, self.unsaved()) {
            (Question::QuitUnsaved, Some(reason)) => {
                let folder = self.run_dir.as_ref().map_or_else(
                    || "the run folder".to_string(),
                    |dir| dir.join("checkpoints").display().to_string(),
                );
                format!(
                    "The final weights are not saved: {reason}\nFix that, then press c to \
                     write them to {folder}. Quit without them?"
                )
            }
            (Question::QuitSweep, _) => {
                let dir = self.sweep.as_ref().map_or_else(
                    || "SWEEP_DIR".to_string(),
                    |view| view.dir().display().to_string(),
                );
                format!(
                    "{}\nEach running trial keeps a checkpoint: `digitdash sweep --resume {dir}` \
                     goes on.",
                    question.text()
                )
            }
            _ => question.text().to_string(),
        }
    }

    /// Whether the trainer has ended (finished, failed or stopped before training).
    pub fn has_ended(&self) -> bool {
        matches!(
            self.phase,
            Phase::Finished(_) | Phase::Failed(_) | Phase::StoppedBeforeTraining(_)
        )
    }

    /// Where the run is.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The latest setup note (before training starts).
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The latest download progress, while downloading.
    pub fn download(&self) -> Option<&Progress> {
        self.download.as_ref()
    }

    /// Steps the run is set to take.
    pub fn total_steps(&self) -> u64 {
        self.total_steps
    }

    /// The latest step's numbers.
    pub fn last_step(&self) -> Option<&StepStats> {
        self.last_step.as_ref()
    }

    /// Steps done (counting those of an earlier run this one resumes).
    pub fn steps_done(&self) -> u64 {
        self.last_step.map_or(self.first_step, |s| s.step)
    }

    /// Fraction of the planned steps done, 0..=1.
    pub fn progress(&self) -> f64 {
        if self.total_steps == 0 {
            return 0.0;
        }
        (self.steps_done() as f64 / self.total_steps as f64).clamp(0.0, 1.0)
    }

    /// Estimated training time left, from the recent time per step.
    pub fn eta(&self) -> Option<Duration> {
        if self.phase != Phase::Training {
            return None;
        }
        let remaining = self.total_steps.saturating_sub(self.steps_done()) as f64;
        let seconds = self.step_seconds? * remaining;
        Duration::try_from_secs_f64(seconds).ok()
    }

    /// Recent training throughput, images per second.
    pub fn throughput(&self) -> Option<f64> {
        self.throughput
    }

    /// Training loss per step.
    pub fn loss(&self) -> &Series {
        &self.loss
    }

    /// Batch accuracy per step.
    pub fn accuracy(&self) -> &Series {
        &self.accuracy
    }

    /// The layer statistics so far (thinned evenly over a long run).
    pub fn layers(&self) -> &LayerHistory {
        &self.layers
    }

    /// Every evaluation so far on the split choices are made on, oldest first.
    pub fn evaluations(&self) -> &[Evaluation] {
        &self.evaluations
    }

    /// The split choices are made on: validation, or test for a run without one.
    pub fn choosing(&self) -> EvalSplit {
        self.choosing
    }

    /// Every look at the test set so far (with a validation split: the ones asked for with
    /// `T`, and those at the end).
    pub fn test_looks(&self) -> &[Evaluation] {
        &self.test_looks
    }

    /// The live settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The setting the controls panel has selected.
    pub fn selected(&self) -> Setting {
        self.selected
    }

    /// The digit viewer.
    pub fn digits(&self) -> &DigitViewer {
        &self.digits
    }

    /// The event log.
    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// How the charts are drawn.
    pub fn chart(&self) -> &ChartView {
        &self.chart
    }

    /// The overlay, if any.
    pub fn overlay(&self) -> &Overlay {
        &self.overlay
    }

    /// A short answer to the last key (e.g. why it did nothing).
    pub fn flash(&self) -> Option<&str> {
        self.flash.as_deref()
    }

    /// Whether the dashboard should close now.
    pub fn should_quit(&self) -> bool {
        match self.exit {
            Exit::Stay => false,
            Exit::Now => true,
            Exit::AfterFinish => self.has_ended(),
        }
    }

    /// The termination signal received, if any.
    pub fn signal(&self) -> Option<Signal> {
        self.signal
    }

    /// The page shown.
    pub fn page(&self) -> Page {
        self.page
    }

    /// What the inspector has said about the network and the shown digit.
    pub fn look(&self) -> &Look {
        &self.look
    }

    /// The draw pad.
    pub fn canvas(&self) -> &Canvas {
        &self.canvas
    }

    /// The digit shown: on the Inspect page the image selected in the worst-loss gallery
    /// while it is on, else the selected image of the selected confusion cell; elsewhere the
    /// viewer's.
    pub fn shown_digit(&self) -> Option<DigitView<'_>> {
        match self.inspected_image() {
            Some(index) if self.page == Page::Inspect => self.digits.view(index),
            _ => self.digits.current(),
        }
    }

    /// Notes how many tiles a row of the worst-loss gallery holds as drawn (the frame loop
    /// tells after each frame), so that up and down move a row.
    pub fn set_gallery_columns(&mut self, columns: usize) {
        self.look.gallery_mut().set_columns(columns);
    }

    /// Whether the Inspect page shows the worst-loss gallery in place of the matrix.
    pub fn gallery_shown(&self) -> bool {
        self.page == Page::Inspect && self.look.gallery().is_on()
    }

    /// The image the Inspect page points at: the gallery's selection while it is on, else the
    /// cell browser's.
    fn inspected_image(&self) -> Option<usize> {
        if self.look.gallery().is_on() {
            return self.look.gallery().selected_image().map(|r| r.index);
        }
        self.cell_image()
    }

    /// The test image the cell browser points at, if the cell has any.
    fn cell_image(&self) -> Option<usize> {
        let confusion = self.look.confusion()?;
        let (truth, predicted) = self.look.cell();
        confusion
            .images(truth, predicted)
            .get(self.look.cell_position())
            .copied()
    }

    /// Takes the work queued for the frame loop: inspector jobs for what the shown views need
    /// now, and files to write.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        if let Some(job) = self.digit_job() {
            self.effects.push(Effect::Inspect(job));
        }
        if let Some(job) = self.drawing_job() {
            self.effects.push(Effect::Inspect(job));
        }
        if let Some(read) = self.sweep_read_due() {
            self.effects.push(read);
        }
        std::mem::take(&mut self.effects)
    }

    /// A job for the shown digit, when it or what the page needs of it changed.
    fn digit_job(&mut self) -> Option<InspectJob> {
        let inspecting = self.page == Page::Inspect;
        let digit = self.shown_digit()?.reference();
        // The gallery shows each image with its occlusion map.
        let occlusion = self.look.saliency() || self.look.gallery().is_on();
        let key = (digit, inspecting, inspecting && occlusion);
        if !self.look.digit_job_due(key) {
            return None;
        }
        // Copied only for a job that goes out, not every frame.
        let pixels = self.shown_digit()?.pixels;
        let image: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        Some(InspectJob::Digit {
            digit: key.0,
            image,
            activations: key.1,
            occlusion: key.2,
        })
    }

    /// A job for the drawing, when the Draw page is open and the drawing or the runs
    /// overlaid changed.
    fn drawing_job(&mut self) -> Option<InspectJob> {
        let version = self.canvas.version();
        let compared: Vec<std::path::PathBuf> =
            self.compared.iter().map(|r| r.path.clone()).collect();
        if self.page != Page::Draw || !self.look.drawing_job_due(version, &compared) {
            return None;
        }
        Some(InspectJob::Drawing {
            version,
            image: self.canvas.as_mnist().to_vec(),
            compared,
        })
    }

    /// Commands the frame loop sends on its own while the trainer's steps move on: a request
    /// for fresh weights at most every [`look::WEIGHTS_INTERVAL`], and for the latest batch
    /// at most every [`fed::BATCH_INTERVAL`] while the fed images are shown.
    pub fn tick(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        if !self.accepts_commands() {
            return commands;
        }
        let stale = self.look.weights_step() != Some(self.steps_done());
        if stale && self.look.weights_request_due(self.elapsed) {
            commands.push(Command::ShareWeights);
        }
        if self.fed.request_due(self.steps_done(), self.elapsed) {
            commands.push(Command::ShareBatch);
        }
        commands
    }
}

#[cfg(test)]
mod tests;
