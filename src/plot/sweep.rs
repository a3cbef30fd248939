//! A sweep's plot: validation accuracy against each searched setting (a scatter a key, on a
//! log axis where its space is log-uniform), and a parallel-coordinates chart of every
//! trial across all the keys, coloured by its validation accuracy.

use std::ops::Range;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{write_figure, Figure, PlotError};
use crate::output::escape_line;
use crate::sweep::space::{Domain, Param};
use crate::sweep::value::{short_number, ParamValue};
use crate::sweep::{SweepBoard, TrialRow, TrialStatus};

/// The font family registered by [`super::font`].
const FONT: &str = "sans-serif";
/// Scatter panels side by side at most; more keys take more rows.
const PER_ROW: usize = 4;

/// Writes the plot of the sweep `board` to `path` (SVG or PNG by its extension).
pub fn plot_sweep(
    board: &SweepBoard,
    title: &str,
    size: (u32, u32),
    path: &Path,
) -> Result<(), PlotError> {
    let figure = SweepFigure {
        params: &board.spec.space.params,
        trials: board
            .trials
            .iter()
            .filter(|t| t.validation_accuracy.is_some_and(f64::is_finite))
            .collect(),
        best: board.best().map(|b| b.trial),
        title: escape_line(title).into_owned(),
    };
    write_figure(&figure, size, path)
}

/// What the sweep's plot draws.
struct SweepFigure<'a> {
    params: &'a [Param],
    trials: Vec<&'a TrialRow>,
    best: Option<usize>,
    title: String,
}

impl Figure for SweepFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let area = root.titled(&self.title, (FONT, 24))?;
        let (_, height) = area.dim_in_pixel();
        let (top, bottom) = area.split_vertically((height as f64 * 0.55) as i32);
        let rows = self.params.len().div_ceil(PER_ROW).max(1);
        let columns = self.params.len().clamp(1, PER_ROW);
        let panels = top.split_evenly((rows, columns));
        let y = accuracy_range(&self.trials);
        for (param, panel) in self.params.iter().zip(&panels) {
            self.scatter(panel, param, y.clone())?;
        }
        self.parallel(&bottom, y)
    }
}

impl SweepFigure<'_> {
    /// Validation accuracy against one key.
    fn scatter<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        param: &Param,
        y: Range<f64>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let points: Vec<(f64, f64, bool, bool)> = self
            .trials
            .iter()
            .filter_map(|t| {
                let x = position(param, t.settings.get(&param.key)?)?;
                let finished = t.status == TrialStatus::Finished;
                Some((
                    x,
                    t.validation_accuracy?,
                    finished,
                    Some(t.trial) == self.best,
                ))
            })
            .collect();
        let caption = if param.domain.is_log() {
            format!("{} (log scale)", param.key)
        } else {
            param.key.clone()
        };
        match (&param.domain, param.domain.span()) {
            (Domain::LogUniform { low, high, .. }, _) => {
                let x = (low / 1.15..high * 1.15).log_scale();
                scatter_panel(area, x, y, &caption, &points, &|v| short_number(*v))
            }
            (_, Some((low, high))) => {
                let pad = if high > low { (high - low) * 0.08 } else { 0.5 };
                scatter_panel(area, low - pad..high + pad, y, &caption, &points, &|v| {
                    short_number(*v)
                })
            }
            (Domain::List(values), None) => {
                let names: Vec<String> = values.iter().map(ToString::to_string).collect();
                let label = move |v: &f64| {
                    let i = v.round();
                    if (v - i).abs() < 1e-6 && i >= 0.0 {
                        names.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                };
                let x = -0.5..values.len() as f64 - 0.5;
                scatter_panel(area, x, y, &caption, &points, &label)
            }
            _ => Ok(()),
        }
    }

    /// One polyline a trial across every key's axis and validation accuracy's.
    fn parallel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        y: Range<f64>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let axes = self.params.len() + 1;
        let mut chart = ChartBuilder::on(area)
            .caption(
                "parallel coordinates: each line a trial, darker red for higher validation accuracy",
                (FONT, 16),
            )
            .margin(12)
            .margin_top(28)
            .margin_bottom(24)
            .build_cartesian_2d(-0.3..(axes as f64 - 0.7), -0.12..1.12)?;
        let text = (FONT, 13).into_font().color(&BLACK);
        for i in 0..axes {
            let x = i as f64;
            chart.draw_series(LineSeries::new([(x, 0.0), (x, 1.0)], BLACK.stroke_width(1)))?;
            let (name, low, high) = match self.params.get(i) {
                Some(p) => (p.key.clone(), end_label(p, false), end_label(p, true)),
                None => (
                    "validation".to_string(),
                    format!("{:.2}%", y.start * 100.0),
                    format!("{:.2}%", y.end * 100.0),
                ),
            };
            let centred = |t: String, at: f64| Text::new(t, (x - 0.1, at), text.clone());
            chart.draw_series([
                centred(name, 1.11),
                centred(high, 1.05),
                centred(low, -0.04),
            ])?;
        }
        let mut ranked = self.trials.clone();
        ranked.sort_by(|a, b| accuracy(a).total_cmp(&accuracy(b)));
        for trial in ranked {
            let share = ((accuracy(trial) - y.start) / (y.end - y.start)).clamp(0.0, 1.0);
            let mut line: Vec<(f64, f64)> = Vec::with_capacity(axes);
            for (i, param) in self.params.iter().enumerate() {
                let Some(v) = trial.settings.get(&param.key).and_then(|v| unit(param, v)) else {
                    continue;
                };
                line.push((i as f64, v));
            }
            line.push(((axes - 1) as f64, share));
            let width = if Some(trial.trial) == self.best { 3 } else { 1 };
            chart.draw_series(LineSeries::new(line, heat(share).stroke_width(width)))?;
        }
        Ok(())
    }
}

/// A scatter of validation accuracy against one key on the x axis `x`.
fn scatter_panel<DB, X>(
    area: &DrawingArea<DB, Shift>,
    x: X,
    y: Range<f64>,
    caption: &str,
    points: &[(f64, f64, bool, bool)],
    x_label: &dyn Fn(&f64) -> String,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 15))
        .margin(6)
        .margin_right(16)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(x_label)
        .y_label_formatter(&|v| format!("{:.1}%", v * 100.0))
        .y_desc("validation")
        .label_style((FONT, 12))
        .draw()?;
    let grey = RGBColor(150, 150, 150);
    chart.draw_series(points.iter().map(|&(x, y, finished, best)| {
        let (size, style) = match (best, finished) {
            (true, _) => (7, RGBColor(214, 39, 40).filled()),
            (false, true) => (4, RGBColor(31, 119, 180).filled()),
            (false, false) => (4, grey.filled()),
        };
        Circle::new((x, y), size, style)
    }))?;
    Ok(())
}

/// A trial's validation accuracy (NaN-free for sorting).
fn accuracy(trial: &TrialRow) -> f64 {
    trial
        .validation_accuracy
        .filter(|a| a.is_finite())
        .unwrap_or(0.0)
}

/// The validation accuracies drawn, with a margin (at least 0.2 points tall).
fn accuracy_range(trials: &[&TrialRow]) -> Range<f64> {
    let values: Vec<f64> = trials.iter().map(|t| accuracy(t)).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo > hi {
        return 0.0..1.0;
    }
    let span = (hi - lo).max(0.002);
    (lo - span * 0.08).max(0.0)..(hi + span * 0.08).min(1.0)
}

/// Where a setting sits on its scatter's x axis: its number, or a name's place in its list.
fn position(param: &Param, value: &ParamValue) -> Option<f64> {
    match (&param.domain, value) {
        (Domain::List(values), ParamValue::Text(_)) => {
            values.iter().position(|v| v == value).map(|i| i as f64)
        }
        _ => value.number(),
    }
}

/// Where a setting sits on its parallel axis, 0 to 1 (in the logarithm for a log space).
fn unit(param: &Param, value: &ParamValue) -> Option<f64> {
    if let (Domain::List(values), ParamValue::Text(_)) = (&param.domain, value) {
        let i = values.iter().position(|v| v == value)? as f64;
        return Some(if values.len() > 1 {
            i / (values.len() - 1) as f64
        } else {
            0.5
        });
    }
    let (low, high) = param.domain.span()?;
    let v = value.number()?;
    let (v, low, high) = if param.domain.is_log() {
        (v.ln(), low.ln(), high.ln())
    } else {
        (v, low, high)
    };
    Some(if high > low {
        (v - low) / (high - low)
    } else {
        0.5
    })
}

/// The label at one end of a key's parallel axis.
fn end_label(param: &Param, high: bool) -> String {
    match (&param.domain, param.domain.span()) {
        (_, Some((lo, hi))) => short_number(if high { hi } else { lo }),
        (Domain::List(values), None) => {
            let value = if high { values.last() } else { values.first() };
            value.map(ToString::to_string).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// A colour from pale blue (0) to dark red (1).
fn heat(share: f64) -> RGBColor {
    let mix = |a: f64, b: f64| (a + (b - a) * share).round() as u8;
    RGBColor(mix(170.0, 165.0), mix(200.0, 15.0), mix(235.0, 21.0))
}
