//! Drawing the three panels (loss, training accuracy, test accuracy) on any plotters backend.

use std::ops::Range;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::series::{value_range, Points, RunCurves};
use super::{run_colour, PlotOptions};

/// The font family registered by [`super::font`].
const FONT: &str = "sans-serif";

/// One run's line on a panel.
struct Line<'a> {
    label: &'a str,
    colour: RGBColor,
    /// Drawn faint behind the line, if any.
    raw: Option<&'a Points>,
    points: &'a Points,
    /// Whether each point gets a dot (for sparse series).
    dots: bool,
    /// Points marked apart from the line (a run's looks at its test set).
    marks: &'a [(f64, f64)],
}

/// A panel: a chart of one metric for every run.
struct Panel<'a> {
    caption: String,
    y_desc: &'a str,
    lines: Vec<Line<'a>>,
    legend: SeriesLabelPosition,
    percent: bool,
}

/// Draws the title and the three panels of `runs` on `root`.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunCurves],
    options: &PlotOptions,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let area = root.titled(&options.title, (FONT, 24))?;
    let panels = area.split_evenly((3, 1));
    let x = step_range(runs);
    let smoothing = format!("smoothing {}", options.smoothing);

    let lines = |pick: fn(&RunCurves) -> (&Points, Option<&Points>), dots| -> Vec<Line<'_>> {
        runs.iter()
            .enumerate()
            .map(|(i, run)| {
                let (points, raw) = pick(run);
                Line {
                    label: &run.label,
                    colour: run_colour(i),
                    raw,
                    points,
                    dots,
                    marks: if dots { &run.test_looks } else { &[] },
                }
            })
            .collect()
    };
    let loss = Panel {
        caption: if options.log_loss {
            format!("training loss (log scale, {smoothing})")
        } else {
            format!("training loss ({smoothing})")
        },
        y_desc: "loss",
        lines: lines(|r| (&r.loss.smoothed, Some(&r.loss.raw)), false),
        legend: SeriesLabelPosition::UpperRight,
        percent: false,
    };
    let accuracy = Panel {
        caption: format!("training accuracy (per batch, {smoothing})"),
        y_desc: "accuracy",
        lines: lines(|r| (&r.accuracy.smoothed, Some(&r.accuracy.raw)), false),
        legend: SeriesLabelPosition::LowerRight,
        percent: true,
    };
    let any_looks = runs.iter().any(|r| !r.test_looks.is_empty());
    let test = Panel {
        caption: if any_looks {
            "validation accuracy at each evaluation; x: a look at the test set".to_string()
        } else {
            "held-out accuracy at each evaluation (validation, or test without a split)".into()
        },
        y_desc: "accuracy",
        lines: lines(|r| (&r.evaluated, None), true),
        legend: SeriesLabelPosition::LowerRight,
        percent: true,
    };

    let loss_range = value_range(loss.lines.iter().flat_map(all_points));
    if options.log_loss {
        let (lo, hi) = loss_range.unwrap_or((0.01, 10.0));
        let y = (lo * 0.8..hi * 1.25).log_scale();
        draw_panel(&panels[0], x.clone(), y, &loss)?;
    } else {
        let (lo, hi) = loss_range.unwrap_or((0.0, 1.0));
        draw_panel(&panels[0], x.clone(), lo.min(0.0)..hi * 1.05, &loss)?;
    }
    let range = value_range(accuracy.lines.iter().flat_map(all_points));
    draw_panel(&panels[1], x.clone(), padded(range, 0.0), &accuracy)?;
    let range = value_range(test.lines.iter().flat_map(all_points));
    draw_panel(&panels[2], x, padded(range, 0.002), &test)?;
    Ok(())
}

/// Every point of a line, faint ones and marks included.
fn all_points<'a>(line: &'a Line<'_>) -> impl Iterator<Item = &'a (f64, f64)> {
    line.points
        .iter()
        .chain(line.raw.into_iter().flatten())
        .chain(line.marks)
}

/// The steps spanned by any run's curves.
fn step_range(runs: &[RunCurves]) -> Range<f64> {
    let steps = runs.iter().flat_map(|r| {
        [&r.loss.raw, &r.accuracy.raw, &r.evaluated, &r.test_looks]
            .into_iter()
            .flatten()
            .map(|p| p.0)
    });
    let (lo, hi) = steps.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), s| {
        (lo.min(s), hi.max(s))
    });
    if lo > hi {
        0.0..1.0
    } else if lo == hi {
        lo - 1.0..hi + 1.0
    } else {
        lo..hi
    }
}

/// A fraction's range zoomed to the data with a margin, at least `min_span` tall, within 0..1.
fn padded(range: Option<(f64, f64)>, min_span: f64) -> Range<f64> {
    let Some((lo, hi)) = range else {
        return 0.0..1.0;
    };
    let span = (hi - lo).max(min_span).max(1e-6);
    let lo = (lo - span * 0.1).max(0.0);
    let hi = (hi + span * 0.1).min(1.0);
    if lo < hi {
        lo..hi
    } else {
        0.0..1.0
    }
}

/// `v` with three significant digits at most and no trailing zeros: `10`, `0.25`, `0.0001`.
fn short_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).clamp(0, 8) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Draws one panel with the y-axis `y`.
fn draw_panel<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: Y,
    panel: &Panel<'_>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.caption, (FONT, 16))
        .margin(8)
        .margin_right(28)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)?;
    let percent = |v: &f64| format!("{:.1}%", v * 100.0);
    let plain = |v: &f64| short_number(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc("step")
        .y_desc(panel.y_desc)
        .x_labels(8)
        .y_labels(6)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&|v| format!("{v:.0}"));
    if panel.percent {
        mesh.y_label_formatter(&percent);
    } else {
        mesh.y_label_formatter(&plain);
    }
    mesh.draw()?;

    for line in &panel.lines {
        if let Some(raw) = line.raw.filter(|r| !r.is_empty()) {
            chart.draw_series(LineSeries::new(
                raw.iter().copied(),
                line.colour.mix(0.25).stroke_width(1),
            ))?;
        }
    }
    for line in panel.lines.iter().filter(|l| !l.marks.is_empty()) {
        chart.draw_series(
            line.marks
                .iter()
                .map(|&p| Cross::new(p, 5, line.colour.stroke_width(2))),
        )?;
    }
    let mut labelled = false;
    for line in panel.lines.iter().filter(|l| !l.points.is_empty()) {
        let colour = line.colour;
        let series = LineSeries::new(line.points.iter().copied(), colour.stroke_width(2))
            .point_size(if line.dots { 3 } else { 0 });
        chart
            .draw_series(series)?
            .label(line.label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        labelled = true;
    }
    if labelled {
        chart
            .configure_series_labels()
            .position(panel.legend.clone())
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        let labels: Vec<String> = [10.0, 1.0, 0.1, 0.25, 0.0001, 1234.6, 0.0]
            .into_iter()
            .map(short_number)
            .collect();
        assert_eq!(labels, ["10", "1", "0.1", "0.25", "0.0001", "1235", "0"]);
        let zoomed = padded(Some((0.97, 0.97)), 0.002);
        assert!((zoomed.start - 0.9698).abs() < 1e-9 && (zoomed.end - 0.9702).abs() < 1e-9);
        assert_eq!(padded(Some((0.5, 1.0)), 0.0), 0.45..1.0, "never past 100%");
        assert_eq!(padded(None, 0.0), 0.0..1.0);
    }
}
