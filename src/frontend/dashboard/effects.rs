//! Carrying out what the app asks of the world besides the trainer: questions for the
//! inspector thread, drawings to write, charts to export, runs and sweeps to read.

use std::path::{Path, PathBuf};

use super::app::{App, ChartExport, Effect};
use super::compared_runs::load_compared;
use super::inspector::Inspector;
use super::sweep_reader::SweepReader;
use crate::data::IMAGE_SIDE;
use crate::plot::{plot_runs, PlotOptions};
use crate::run::history::RunHistory;
use crate::run::listing::list_runs;
use crate::run::metrics::Detail;
use crate::run::{CheckpointKind, RunDir};
use crate::train::CheckpointChoice;

/// Carries out the app's queued effects. Returns whether the screen changed.
pub fn carry_out(app: &mut App, inspector: &Inspector, sweeps: &SweepReader) -> bool {
    let mut changed = false;
    for effect in app.take_effects() {
        match effect {
            Effect::Inspect(job) => inspector.ask(job),
            Effect::SaveDrawing { dir, pixels } => {
                app.drawing_saved(save_drawing(&dir, &pixels));
                changed = true;
            }
            Effect::ExportCharts(export) => {
                app.charts_exported(export_charts(&export));
                changed = true;
            }
            Effect::ListRuns(dir) => {
                let runs = list_runs(&dir).map_err(|e| e.to_string());
                app.runs_listed(dir, runs);
                changed = true;
            }
            Effect::ListCheckpoints(run) => {
                app.checkpoints_listed(list_checkpoints(&run));
                changed = true;
            }
            Effect::LoadCompared(paths) => {
                let (runs, failures) = load_compared(&paths);
                app.compared_loaded(runs, failures);
                changed = true;
            }
            Effect::ReadSweep { dir, reload } => {
                // Read on the reader's thread; the answer comes with a later frame.
                sweeps.ask(dir, reload);
            }
        }
    }
    changed
}

/// Plots the runs' records as `charts-NNN.png` under the first number not taken in the run's
/// folder.
pub fn export_charts(export: &ChartExport) -> Result<PathBuf, String> {
    let path = free_name(&export.run, "charts", "png")?;
    let mut histories = Vec::new();
    for run in std::iter::once(&export.run).chain(&export.compared) {
        let history = RunHistory::open(RunDir::new(run), Detail::Full)
            .map_err(|e| format!("cannot read {}: {e}", run.display()))?;
        histories.push(history);
    }
    let options = PlotOptions {
        // The weight moves in hundredths; widening the f32 as it is would title the plot
        // "smoothing 0.600000023841858".
        smoothing: (f64::from(export.smoothing) * 100.0).round() / 100.0,
        log_loss: export.log_loss,
        title: format!("digitdash: {}", histories[0].name()),
        ..PlotOptions::default()
    };
    let refs: Vec<&RunHistory> = histories.iter().collect();
    plot_runs(&refs, &options, &path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The complete checkpoints in the run folder `run`, periodic and best.
pub fn list_checkpoints(run: &Path) -> Vec<CheckpointChoice> {
    let run = RunDir::new(run);
    [CheckpointKind::Periodic, CheckpointKind::Best]
        .into_iter()
        .flat_map(|kind| {
            run.checkpoints(kind).into_iter().filter_map(move |folder| {
                let step = RunDir::checkpoint_step(&folder)?;
                Some(CheckpointChoice { kind, step })
            })
        })
        .collect()
}

/// The first `STEM-NNN.EXT` in `dir` that does not exist yet.
fn free_name(dir: &Path, stem: &str, ext: &str) -> Result<PathBuf, String> {
    (1..10_000)
        .map(|n| dir.join(format!("{stem}-{n:03}.{ext}")))
        .find(|p| !p.exists())
        .ok_or_else(|| format!("{} holds too many {stem} files", dir.display()))
}

/// Writes `pixels` as `drawing-NNN.png` under the first number not taken in `dir`.
pub fn save_drawing(dir: &Path, pixels: &[f32]) -> Result<PathBuf, String> {
    let path = free_name(dir, "drawing", "png")?;
    crate::data::png::write_png(&path, pixels, IMAGE_SIDE)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
