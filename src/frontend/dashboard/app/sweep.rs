//! The Sweep page's state: the sweep as last read from its folder, the order its trials are
//! listed in, the trial under the cursor, and when to read the folder again. Which trials
//! are overlaid on the charts is the app's list of compared runs, not kept here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sweep::{SweepBoard, TrialRow, TrialStatus};

/// How often the sweep's folder is read again: its trials train in other processes.
pub const READ_INTERVAL: Duration = Duration::from_secs(1);

/// The order the trials are listed in (`s` cycles through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SweepOrder {
    /// Best validation accuracy first; trials without one last, by number.
    #[default]
    Accuracy,
    /// By trial number.
    Trial,
    /// Most images trained first.
    Images,
}

impl SweepOrder {
    /// The next order in the cycle.
    pub fn next(self) -> Self {
        match self {
            SweepOrder::Accuracy => SweepOrder::Trial,
            SweepOrder::Trial => SweepOrder::Images,
            SweepOrder::Images => SweepOrder::Accuracy,
        }
    }

    /// How the page names it: `validation accuracy`, `trial number`, `images trained`.
    pub fn label(self) -> &'static str {
        match self {
            SweepOrder::Accuracy => "validation accuracy",
            SweepOrder::Trial => "trial number",
            SweepOrder::Images => "images trained",
        }
    }
}

/// The sweep the dashboard follows.
#[derive(Debug, Clone)]
pub struct SweepView {
    dir: PathBuf,
    board: Option<SweepBoard>,
    error: Option<String>,
    order: SweepOrder,
    /// The trial under the cursor, by number: it stays on its trial as the rows move.
    cursor: Option<usize>,
    /// The trial folder the other pages show, if any.
    shown: Option<PathBuf>,
    /// When the folder was last asked to be read ([`App::elapsed`](super::App::elapsed)).
    asked_at: Option<Duration>,
    /// Whether a mouse button is held on the list (a drag moves the cursor, not the overlay).
    pressed: bool,
    /// Whether this process trains the sweep (`digitdash sweep` in a terminal), so that
    /// quitting stops its trials.
    trains_here: bool,
}

impl SweepView {
    /// A view of the sweep in `dir`, not read yet; `shown` is the trial folder the other
    /// pages show, if any.
    pub fn new(dir: PathBuf, shown: Option<PathBuf>) -> Self {
        Self {
            dir,
            board: None,
            error: None,
            order: SweepOrder::default(),
            cursor: None,
            shown,
            asked_at: None,
            pressed: false,
            trains_here: false,
        }
    }

    /// Marks the sweep as trained by this process: quitting stops its trials.
    pub fn trained_here(mut self) -> Self {
        self.trains_here = true;
        self
    }

    /// Whether this process trains the sweep and a trial of it has not ended (planned,
    /// running, waiting for a promotion, or interrupted); true until the folder is read.
    pub fn training_here(&self) -> bool {
        self.trains_here
            && self.board.as_ref().is_none_or(|board| {
                board.trials.iter().any(|row| {
                    !matches!(
                        row.status,
                        TrialStatus::Finished
                            | TrialStatus::StoppedEarly
                            | TrialStatus::Failed { .. }
                    )
                })
            })
    }

    /// The sweep's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sweep as last read, once it has been.
    pub fn board(&self) -> Option<&SweepBoard> {
        self.board.as_ref()
    }

    /// Why the last read failed, if it did (the rows shown are those of the read before).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The order of the rows.
    pub fn order(&self) -> SweepOrder {
        self.order
    }

    /// The trial folder the other pages show, if any.
    pub fn shown(&self) -> Option<&Path> {
        self.shown.as_deref()
    }

    /// The folder of trial `row`.
    pub fn trial_path(&self, row: &TrialRow) -> PathBuf {
        self.dir.join(&row.name)
    }

    /// Whether the folder is due to be read at `now`; if so, notes that it was asked for.
    pub fn read_due(&mut self, now: Duration) -> bool {
        let due = self
            .asked_at
            .is_none_or(|at| now.saturating_sub(at) >= READ_INTERVAL);
        if due {
            self.asked_at = Some(now);
        }
        due
    }

    /// Takes in a read of the folder: the new rows, or why they could not be read (the
    /// rows read before stay). The cursor stays on its trial, or goes to the first row.
    pub fn read(&mut self, board: Result<SweepBoard, String>) {
        match board {
            Ok(board) => {
                self.board = Some(board);
                self.error = None;
            }
            Err(message) => self.error = Some(message),
        }
        let rows = self.rows();
        let still_there = self
            .cursor
            .is_some_and(|trial| rows.iter().any(|r| r.trial == trial));
        if !still_there {
            self.cursor = rows.first().map(|r| r.trial);
        }
    }

    /// The trials in the page's order.
    pub fn rows(&self) -> Vec<&TrialRow> {
        let Some(board) = &self.board else {
            return Vec::new();
        };
        match self.order {
            SweepOrder::Accuracy => board.ranked(),
            SweepOrder::Trial => board.trials.iter().collect(),
            SweepOrder::Images => {
                let mut rows: Vec<&TrialRow> = board.trials.iter().collect();
                rows.sort_by(|a, b| b.images.cmp(&a.images).then(a.trial.cmp(&b.trial)));
                rows
            }
        }
    }

    /// The number of the sweep's choice so far ([`SweepBoard::best`]).
    pub fn best(&self) -> Option<usize> {
        self.board.as_ref()?.best().map(|row| row.trial)
    }

    /// The trial under the cursor.
    pub fn cursor_row(&self) -> Option<&TrialRow> {
        let trial = self.cursor?;
        self.board
            .as_ref()?
            .trials
            .iter()
            .find(|r| r.trial == trial)
    }

    /// The place of the cursor's row in [`SweepView::rows`].
    pub fn cursor_index(&self) -> Option<usize> {
        let trial = self.cursor?;
        self.rows().iter().position(|r| r.trial == trial)
    }

    /// Moves the cursor by `delta` rows, stopping at either end.
    pub fn move_cursor(&mut self, delta: isize) {
        let rows = self.rows();
        let Some(last) = rows.len().checked_sub(1) else {
            return;
        };
        let at = self
            .cursor
            .and_then(|trial| rows.iter().position(|r| r.trial == trial))
            .unwrap_or(0);
        let to = at.saturating_add_signed(delta).min(last);
        self.cursor = Some(rows[to].trial);
    }

    /// Puts the cursor on trial `trial`, if the sweep has it.
    pub fn point_at(&mut self, trial: usize) {
        if self.rows().iter().any(|r| r.trial == trial) {
            self.cursor = Some(trial);
        }
    }

    /// Lists the rows in the next order; the cursor stays on its trial.
    pub fn cycle_order(&mut self) {
        self.order = self.order.next();
    }

    /// A press of the mouse on the list: whether it is a new press (not the drag of one
    /// held down).
    pub fn press(&mut self) -> bool {
        !std::mem::replace(&mut self.pressed, true)
    }

    /// The mouse button was let go.
    pub fn release(&mut self) {
        self.pressed = false;
    }

    /// How many trials stand where, in the order of [`STATUS_ORDER`]: (label, count), only
    /// those with any.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let Some(board) = &self.board else {
            return Vec::new();
        };
        STATUS_ORDER
            .iter()
            .map(|label| {
                let n = board
                    .trials
                    .iter()
                    .filter(|t| t.status.label() == *label)
                    .count();
                (*label, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// The statuses in the order the page counts them.
pub const STATUS_ORDER: [&str; 7] = [
    "finished",
    "running",
    "waiting",
    "stopped early",
    "interrupted",
    "failed",
    "planned",
];

/// Whether a trial has curves to overlay: it has started.
pub fn has_curves(row: &TrialRow) -> bool {
    row.status != TrialStatus::Planned
}

/// Whether a trial's curves still grow, so an overlay of it is read again with the sweep.
pub fn still_growing(row: &TrialRow) -> bool {
    row.status == TrialStatus::Running
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::sweep::{SweepDir, SweepFile, SweepSpec};

    /// A trial of the test sweep in `runs/s`.
    pub(crate) fn row(
        trial: usize,
        status: TrialStatus,
        accuracy: Option<f64>,
        images: u64,
    ) -> TrialRow {
        TrialRow {
            trial,
            name: SweepDir::trial_name(trial),
            settings: Default::default(),
            status,
            rung: 0,
            validation_accuracy: accuracy,
            test_accuracy: None,
            steps: images / 10,
            images,
            full_images: Some(1000),
            seconds: None,
        }
    }

    /// The test sweep in `runs/s` with `trials`.
    pub(crate) fn board(trials: Vec<TrialRow>) -> SweepBoard {
        let path = Path::new("sweep.toml");
        let text = "method = \"grid\"\n[budget]\nsteps = 100\n[space]\ndropout = [0.1, 0.5]\n";
        let file = SweepFile::from_toml(text, path).unwrap();
        let mut base = Config::default();
        base.data.validation = Some(5_000);
        SweepBoard {
            dir: SweepDir::new("runs/s"),
            spec: SweepSpec::new(file, path, &base).unwrap(),
            base,
            trials,
        }
    }

    /// Four trials: 0 finished, 1 running (the best so far), 2 planned, 3 stopped early.
    pub(crate) fn four_trials() -> SweepBoard {
        board(vec![
            row(0, TrialStatus::Finished, Some(0.91), 1000),
            row(1, TrialStatus::Running, Some(0.95), 400),
            row(2, TrialStatus::Planned, None, 0),
            row(3, TrialStatus::StoppedEarly, Some(0.80), 700),
        ])
    }

    fn view() -> SweepView {
        let mut view = SweepView::new("runs/s".into(), None);
        view.read(Ok(four_trials()));
        view
    }

    fn order(view: &SweepView) -> Vec<usize> {
        view.rows().iter().map(|r| r.trial).collect()
    }

    #[test]
    fn the_orders_rank_by_accuracy_number_and_images() {
        let mut v = view();
        assert_eq!(order(&v), [1, 0, 3, 2], "best first, none last");
        v.cycle_order();
        assert_eq!(v.order(), SweepOrder::Trial);
        assert_eq!(order(&v), [0, 1, 2, 3]);
        v.cycle_order();
        assert_eq!(order(&v), [0, 3, 1, 2], "most images first");
        v.cycle_order();
        assert_eq!(v.order(), SweepOrder::Accuracy);
        assert_eq!(v.best(), Some(0), "the finished best, not the running one");
    }

    #[test]
    fn the_cursor_stays_on_its_trial_through_reorders_and_reads() {
        let mut v = view();
        assert_eq!(
            v.cursor_row().map(|r| r.trial),
            Some(1),
            "starts on the first row"
        );
        v.move_cursor(2);
        assert_eq!(v.cursor_row().map(|r| r.trial), Some(3));
        v.cycle_order();
        assert_eq!(v.cursor_row().map(|r| r.trial), Some(3));
        assert_eq!(v.cursor_index(), Some(3), "trial 3 is last by number");
        v.move_cursor(10);
        assert_eq!(v.cursor_row().map(|r| r.trial), Some(3), "stops at the end");
        v.move_cursor(-10);
        assert_eq!(v.cursor_row().map(|r| r.trial), Some(0));
        // A new read that reorders the trials keeps the cursor on trial 0.
        v.read(Ok(board(vec![
            row(0, TrialStatus::Finished, Some(0.91), 1000),
            row(1, TrialStatus::Finished, Some(0.97), 1000),
        ])));
        assert_eq!(v.cursor_row().map(|r| r.trial), Some(0));
        // One without it puts the cursor on the first row; a failed read keeps the rows.
        v.read(Ok(board(vec![row(
            1,
            TrialStatus::Finished,
            Some(0.97),
            1000,
        )])));
        assert_eq!(v.cursor_row().map(|r| r.trial), Some(1));
        v.read(Err("disk gone".into()));
        assert_eq!(v.error(), Some("disk gone"));
        assert_eq!(order(&v), [1]);
        v.point_at(7);
        assert_eq!(v.cursor_row().map(|r| r.trial), Some(1), "no trial 7");
    }

    #[test]
    fn a_sweep_trained_here_counts_as_training_until_every_trial_has_ended() {
        assert!(!view().training_here(), "watched from elsewhere");
        let mut v = SweepView::new("runs/s".into(), None).trained_here();
        assert!(v.training_here(), "not read yet");
        v.read(Ok(four_trials()));
        assert!(v.training_here(), "trials 1 and 2 have not ended");
        v.read(Ok(board(vec![
            row(0, TrialStatus::Finished, Some(0.91), 1000),
            row(1, TrialStatus::StoppedEarly, Some(0.5), 100),
            row(
                2,
                TrialStatus::Failed {
                    message: "NaN".into(),
                },
                None,
                0,
            ),
        ])));
        assert!(!v.training_here());
    }

    #[test]
    fn an_unread_or_empty_sweep_has_no_rows_and_no_cursor() {
        let mut v = SweepView::new("runs/s".into(), None);
        v.move_cursor(1);
        assert!(v.rows().is_empty() && v.cursor_row().is_none() && v.best().is_none());
        v.read(Ok(board(Vec::new())));
        v.move_cursor(-1);
        assert!(v.cursor_row().is_none());
        assert!(v.counts().is_empty());
    }

    #[test]
    fn reads_come_every_interval_and_presses_once_per_click() {
        let mut v = view();
        assert!(v.read_due(Duration::ZERO));
        assert!(!v.read_due(Duration::from_millis(999)));
        assert!(v.read_due(READ_INTERVAL));
        assert!(v.press());
        assert!(!v.press(), "a drag is no new press");
        v.release();
        assert!(v.press());
        assert_eq!(
            v.counts(),
            [
                ("finished", 1),
                ("running", 1),
                ("stopped early", 1),
                ("planned", 1)
            ]
        );
    }
}
