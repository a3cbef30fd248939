//! `digitdash lr-find`: Smith's learning-rate range test ([`crate::train::lr_range`]) on a
//! fresh network with the run's settings, drawn in the terminal ([`chart`]) and to a PNG,
//! with the suggested rate and the rule that chose it.

pub mod chart;

use std::sync::Arc;

use anyhow::{bail, Context, Result};

use crate::cli::{resolve_config, LrFindArgs, RunArgs};
use crate::data;
use crate::output::{note, StdoutLines};
use crate::plot::lr_find::{plot_lr_curve, LrCurve};
use crate::signals::Signals;
use crate::sweep::value::short_number;
use crate::train::lr_range::{range_test, suggest, RangeEnd, BLOW_UP, SMOOTHING};

/// Runs the test as `args` ask, on the settings of `run_args` (config file, data folder).
pub fn run(args: &LrFindArgs, run_args: &RunArgs, signals: Arc<Signals>) -> Result<()> {
    if !(args.start > 0.0 && args.start < args.end && args.end.is_finite()) {
        bail!(
            "--start {} --end {}: give two rates above zero, the first below the second \
             (default 1e-7 to 10)",
            args.start,
            args.end
        );
    }
    if args.steps < 20 {
        bail!(
            "--steps {}: give at least 20 steps (300 is usual)",
            args.steps
        );
    }
    let settings = RunArgs {
        preset: args.preset.or(run_args.preset),
        batch_size: args.batch_size,
        seed: args.seed,
        ..run_args.clone()
    };
    let config = resolve_config(&settings)?;
    let dir = config.data.fetch_missing()?;
    let mut data = data::load_dataset(&dir, config.data.dataset)
        .with_context(|| format!("cannot read the data in {}", dir.display()))?;
    data.hold_out_validation(config.data.validation(), &dir)?;
    let train = &config.train;
    note(format!(
        "lr-find: batch {}, seed {}, a fresh network; {} steps from lr {} to {}, stopping when \
         the smoothed loss passes {BLOW_UP} times its minimum",
        train.batch_size,
        train.seed,
        args.steps,
        short_number(args.start),
        short_number(args.end)
    ));
    let stop = || signals.first().is_some();
    let test = range_test(train, &data, (args.start, args.end), args.steps, &stop);
    let points: Vec<(f64, f64, f64)> = test
        .points
        .iter()
        .map(|p| (p.lr, p.loss, p.smoothed))
        .collect();
    let suggestion = suggest(&test.points);
    let mut out = StdoutLines::default();
    for line in chart::text_chart(&points, suggestion.map(|s| s.steepest), 64, 16) {
        out.line(line);
    }
    let end = match test.end {
        RangeEnd::BlewUp(lr) => format!("the smoothed loss blew up at lr {}", short_number(lr)),
        RangeEnd::Diverged(lr) => format!("the loss diverged at lr {}", short_number(lr)),
        RangeEnd::LastRate => "the last rate was reached without a blow-up".to_string(),
        RangeEnd::Stopped => "stopped by a signal".to_string(),
    };
    out.line(format!("{} steps; {end}", test.points.len()));
    match suggestion {
        Some(s) => {
            out.line(format!(
                "suggested learning rate: {} (where the smoothed loss falls fastest against \
                 log lr; smoothing {SMOOTHING})",
                short_number(s.steepest)
            ));
            out.line(format!(
                "the minimum of the smoothed loss over ten: {}",
                short_number(s.minimum_over_ten)
            ));
        }
        None => out.line(
            "no rate suggested: the loss was lowest near the first rates; lower --start"
                .to_string(),
        ),
    }
    let curve = LrCurve {
        points: &points,
        suggested: suggestion.map(|s| s.steepest),
        title: format!("Learning-rate range test, batch {}", train.batch_size),
    };
    plot_lr_curve(&curve, &args.output)?;
    note(format!("wrote {}", args.output.display()));
    if test.end == RangeEnd::Stopped {
        bail!("stopped by a signal before the range test ended");
    }
    Ok(())
}
