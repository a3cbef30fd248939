//! `digitdash plot RUN_DIR... -o FILE`: the runs' loss, training accuracy and test accuracy
//! against step, overlaid, written as SVG or PNG; `digitdash plot SWEEP_DIR -o FILE`: a
//! sweep's validation accuracy against each searched setting; `digitdash plot RUN_DIR --layers
//! -o FILE`: the run's layer statistics over its steps.

use anyhow::{bail, Context, Result};

use crate::cli::PlotArgs;
use crate::output::note;
use crate::plot::layers::plot_layers as plot_layers_file;
use crate::plot::{plot_runs, PlotOptions};
use crate::run::layer_history::LayerHistory;
use crate::run::metrics::Detail;
use crate::run::smoothing::MAX_WEIGHT;
use crate::run::{RunDir, RunHistory};
use crate::sweep::SweepBoard;

/// Reads the runs and writes their plot.
pub fn run(args: &PlotArgs) -> Result<()> {
    if !(0.0..=MAX_WEIGHT).contains(&args.smoothing) {
        bail!(
            "--smoothing {} is out of range: give a weight from 0 (none) to {MAX_WEIGHT}, e.g. 0.6",
            args.smoothing
        );
    }
    if args.layers {
        return plot_layers(args);
    }
    if let [dir] = &args.runs[..] {
        if SweepBoard::is_sweep(dir) {
            return plot_sweep_folder(dir, args);
        }
    }
    let mut histories = Vec::with_capacity(args.runs.len());
    for dir in &args.runs {
        let history = RunHistory::open(RunDir::new(dir), Detail::Full)
            .with_context(|| format!("cannot read the run {}", dir.display()))?;
        let status = history.status();
        if !status.is_run() {
            note(format!(
                "{}: {status}; plotting what it holds",
                dir.display()
            ));
        }
        histories.push(history);
    }
    let refs: Vec<&RunHistory> = histories.iter().collect();
    let title = args.title.clone().unwrap_or_else(|| {
        let names: Vec<String> = refs.iter().map(|h| h.name()).collect();
        match names.len() {
            1 => format!("Run {}", names[0]),
            2..=3 => format!("Runs {}", names.join(", ")),
            n => format!("{n} runs"),
        }
    });
    let options = PlotOptions {
        width: args.width,
        height: args.height,
        smoothing: args.smoothing,
        log_loss: !args.linear_loss,
        title,
    };
    plot_runs(&refs, &options, &args.output)?;
    note(format!("wrote {}", args.output.display()));
    Ok(())
}

/// Writes the plot of one run's layer statistics.
fn plot_layers(args: &PlotArgs) -> Result<()> {
    let [dir] = &args.runs[..] else {
        bail!(
            "--layers plots one run's layer statistics, and {} runs were given: give one run \
             folder",
            args.runs.len()
        );
    };
    let run = RunDir::new(dir);
    if !run.holds_run() {
        bail!(
            "{} is not a run folder (it has no metrics.csv): give a folder \
             under runs/",
            dir.display()
        );
    }
    let history = LayerHistory::read(&run.layers_file())?;
    if history.is_empty() {
        bail!(
            "{} holds no layer statistics ({} is missing or empty): runs record them every \
             log.layer_stats_every steps, and runs from before they existed have none",
            dir.display(),
            run.layers_file().display()
        );
    }
    let title = args.title.clone().unwrap_or_else(|| {
        let name = dir
            .file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
        format!("Layers of run {name}")
    });
    plot_layers_file(&history, &title, (args.width, args.height), &args.output)?;
    note(format!("wrote {}", args.output.display()));
    Ok(())
}

/// Writes the plot of the sweep in `dir`: validation accuracy against each searched setting
/// and the parallel-coordinates chart.
fn plot_sweep_folder(dir: &std::path::Path, args: &PlotArgs) -> Result<()> {
    let board = SweepBoard::read(dir)
        .with_context(|| format!("cannot read the sweep {}", dir.display()))?;
    let title = args.title.clone().unwrap_or_else(|| {
        format!(
            "Sweep {}: {} trials, {}",
            dir.file_name()
                .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into()),
            board.trials.len(),
            board.spec.method.name()
        )
    });
    crate::plot::sweep::plot_sweep(&board, &title, (args.width, args.height), &args.output)?;
    note(format!("wrote {}", args.output.display()));
    Ok(())
}
