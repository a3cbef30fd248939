//! `digitdash watch SWEEP_DIR`: the dashboard on the sweep's page, read-only. The page reads
//! the sweep's folder again every second, so it follows trials that a local `digitdash sweep`
//! or a cluster's tasks train. A local `digitdash sweep` in a terminal opens the same page
//! over the sweep it trains ([`live`]). Pages 1 to 4 show one trial's run: the sweep's best when the
//! dashboard opens (else a trial that has started), which the page and the controls panel
//! name; other trials are overlaid on its charts from the Sweep page. Without a terminal
//! that can show the dashboard, the sweep's table is printed instead (with `--json`, the
//! sweep as `sweep report --json` prints it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::frontend::dashboard::app::{Action, App, Page};
use crate::frontend::dashboard::terminal::why_no_dashboard;
use crate::frontend::dashboard::{self, DashboardOptions};
use crate::output::{note, StdoutLines};
use crate::run::history::RunHistory;
use crate::run::metrics::Detail;
use crate::signals::{self, Signals};
use crate::source::{Idle, Replay, ReplayOptions};
use crate::sweep::SweepBoard;
use crate::train::Event;

/// Opens the dashboard on the sweep in `dir`; `data_dir` is where the shown trial's data is,
/// when not where its settings say. With `json`, prints the sweep as `sweep report --json`
/// does instead.
pub fn run(dir: &Path, data_dir: Option<PathBuf>, json: bool) -> Result<()> {
    let board = SweepBoard::read(dir).with_context(|| format!("cannot watch {}", dir.display()))?;
    if json {
        let report = super::sweep::report::json(&board);
        StdoutLines::default().line(serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if let Some(why) = why_no_dashboard() {
        let mut out = StdoutLines::default();
        for line in super::sweep::report::table(&board) {
            out.line(line);
        }
        note(format!(
            "{} is a sweep: its page needs a terminal that can show the dashboard ({why}), so \
             its trials are listed above. `digitdash sweep report {}` lists them again.",
            dir.display(),
            dir.display()
        ));
        return Ok(());
    }
    let signal = signals::install().context("cannot install the signal handlers")?;
    let options = DashboardOptions::default();
    match shown_trial(&board) {
        Some(history) => {
            let config = history
                .config()
                .cloned()
                .unwrap_or_else(|| board.base.clone());
            let reason = format!(
                "watching {}, the sweep's best when the dashboard opened (page 5: every \
                 trial); the sweep's own processes train it",
                history.name()
            );
            let mut app = App::watching(&config, reason);
            app.follow_sweep(dir.to_path_buf(), Some(history.run().path().to_path_buf()));
            app.act(Action::ShowPage(Page::Sweep));
            let options_replay = ReplayOptions {
                inspect: true,
                data_dir,
            };
            let replay = Replay::spawn(history, options_replay)
                .context("cannot start the thread that reads the trial")?;
            dashboard::run(replay, app, options, signal)?;
        }
        None => {
            let reason = "no trial of the sweep had started when the dashboard opened: page 5 \
                          lists them as they come and overlays them on these charts";
            let mut app = App::watching(&board.base, reason);
            app.update(Event::Preparing(reason.into()));
            app.follow_sweep(dir.to_path_buf(), None);
            app.act(Action::ShowPage(Page::Sweep));
            dashboard::run(Idle::new(), app, options, signal)?;
        }
    }
    Ok(())
}

/// Opens the dashboard on the Sweep page of the sweep in `dir`, which this process trains,
/// until the user quits (asked first while trials are left: they stop with it) or a signal
/// comes. Pages 1 to 4 show no run of their own; the trials chosen on the Sweep page are
/// overlaid on their charts.
pub fn live(dir: &Path, signals: Arc<Signals>) -> Result<()> {
    let board = SweepBoard::read(dir).with_context(|| format!("cannot show {}", dir.display()))?;
    let reason = "this process trains the sweep's trials: page 5 lists them, and the ones \
                  chosen there are overlaid on these charts";
    let mut app = App::watching(&board.base, reason);
    app.update(Event::Preparing(reason.into()));
    app.follow_sweep_training(dir.to_path_buf());
    app.act(Action::ShowPage(Page::Sweep));
    dashboard::run(Idle::new(), app, DashboardOptions::default(), signals)?;
    Ok(())
}

/// The trial pages 1 to 4 show: the sweep's best, else the best-ranked trial whose folder
/// holds a run's records; none when no trial has started.
fn shown_trial(board: &SweepBoard) -> Option<RunHistory> {
    let best = board.best();
    best.into_iter()
        .chain(board.ranked())
        .map(|row| board.dir.trial(row.trial))
        .filter(|run| run.holds_run())
        .find_map(|run| RunHistory::open(run, Detail::Full).ok())
}
