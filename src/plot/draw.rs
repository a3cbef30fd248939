//! Drawing the three panels (loss, training accuracy, test accuracy) on any plotters backend.

use std::ops::Range;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::series::{value_range, Points, RunCurves};
use super::{run_colour, PlotOptions};

/// The font family registered by [`super::font`].
const FONT: &str = "sans-serif";
/// Size of the legend's text, in pixels.
const LEGEND_FONT_SIZE: f64 = 13.0;
/// Space plotters leaves between a legend's border and its text, on each side.
const LEGEND_MARGIN: i32 = 10;
/// Width plotters gives each legend entry's line sample, left of its text.
const LEGEND_SAMPLE: i32 = 30;
/// Distance plotters keeps between a legend in a corner and the panel's edges.
const LEGEND_INSET: i32 = 5;

/// One run's line on a panel.
struct Line<'a> {
    label: &'a str,
    colour: RGBColor,
    /// Drawn faint behind the line, if any.
    raw: Option<&'a Points>,
    points: &'a Points,
    /// Whether each point gets a dot (for sparse series).
    dots: bool,
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
    let test = Panel {
        caption: "test accuracy (at each evaluation)".to_string(),
        y_desc: "test accuracy",
        lines: lines(|r| (&r.test_accuracy, None), true),
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

/// Every point of a line, faint ones included.
fn all_points<'a>(line: &'a Line<'_>) -> impl Iterator<Item = &'a (f64, f64)> {
    line.points.iter().chain(line.raw.into_iter().flatten())
}

/// The steps spanned by any run's curves.
fn step_range(runs: &[RunCurves]) -> Range<f64> {
    let steps = runs.iter().flat_map(|r| {
        [&r.loss.raw, &r.accuracy.raw, &r.test_accuracy]
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
    let drawn: Vec<&Line> = panel
        .lines
        .iter()
        .filter(|l| !l.points.is_empty())
        .collect();
    let labels: Vec<&str> = drawn.iter().map(|l| l.label).collect();
    let legend = fit_legend(&chart.plotting_area().strip_coord_spec(), &labels)?;
    for (i, line) in drawn.iter().enumerate() {
        let colour = line.colour;
        let series = LineSeries::new(line.points.iter().copied(), colour.stroke_width(2))
            .point_size(if line.dots { 3 } else { 0 });
        let drawn = chart.draw_series(series)?;
        if let Some(label) = legend.labels.get(i) {
            drawn.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
    }
    if let Some(more) = &legend.more {
        // An entry with no line sample: the count of runs the legend has no room for.
        let nothing = std::iter::empty::<PathElement<(f64, f64)>>();
        chart.draw_series(nothing)?.label(more);
    }
    if !legend.labels.is_empty() || legend.more.is_some() {
        chart
            .configure_series_labels()
            .position(panel.legend.clone())
            .margin(LEGEND_MARGIN as u32)
            .legend_area_size(LEGEND_SAMPLE as u32)
            .label_font((FONT, LEGEND_FONT_SIZE))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
    }
    Ok(())
}

/// What a panel's legend shows: the first runs' labels, and a last line counting the runs
/// left out when not all fit.
#[derive(Debug, PartialEq)]
struct Legend {
    /// The labels of the first runs, shortened to the panel's width where needed.
    labels: Vec<String>,
    /// `+ 12 more runs`, when some runs have no line in the legend.
    more: Option<String>,
}

/// The legend of runs `labels` that fits inside `area` (the panel's plotting area), laid out
/// as plotters lays out series labels (a line every 1.25 font sizes, in a box with margins):
/// as many runs as the height allows, the last line counting the rest, and each label cut
/// short (ending `...`) where it is wider than the area.
fn fit_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[&str],
) -> Result<Legend, DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, height) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, LEGEND_FONT_SIZE).into_font());
    let room_w = i64::from(width) - i64::from(LEGEND_INSET + LEGEND_SAMPLE + 2 * LEGEND_MARGIN);
    let room_h = i64::from(height) - i64::from(LEGEND_INSET + 2 * LEGEND_MARGIN);
    let size = |text: &str| -> Result<(i64, i64), DrawingAreaErrorKind<DB::ErrorType>> {
        let (w, h) = area.estimate_text_size(text, &style)?;
        Ok((i64::from(w), i64::from(h)))
    };
    let mut shortened = Vec::with_capacity(labels.len());
    for label in labels {
        shortened.push(shorten(label, room_w, &size)?);
    }
    let more = |left_out: usize| format!("+ {left_out} more runs");
    // The tallest line, and the distance from one line's top to the next (rounded up).
    let mut tallest = size(&more(labels.len()))?.1;
    for label in &shortened {
        tallest = tallest.max(size(label)?.1);
    }
    let line = (LEGEND_FONT_SIZE * 1.25).ceil() as i64;
    let lines_that_fit = if room_h < tallest {
        0
    } else {
        usize::try_from((room_h - tallest) / line + 1).unwrap_or(usize::MAX)
    };
    if lines_that_fit >= labels.len() {
        return Ok(Legend {
            labels: shortened,
            more: None,
        });
    }
    // One line goes to the count of the runs left out.
    let shown = lines_that_fit.saturating_sub(1);
    let more = more(labels.len() - shown);
    let more = (lines_that_fit > 0 && size(&more)?.0 <= room_w).then_some(more);
    shortened.truncate(shown);
    Ok(Legend {
        labels: shortened,
        more,
    })
}

/// `label`, or as much of it as fits in `room` pixels followed by `...`, by the sizes `size`
/// gives.
fn shorten<E>(
    label: &str,
    room: i64,
    size: &impl Fn(&str) -> Result<(i64, i64), E>,
) -> Result<String, E> {
    if size(label)?.0 <= room {
        return Ok(label.to_string());
    }
    let mut chars: Vec<char> = label.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let text = format!("{}...", chars.iter().collect::<String>());
        if size(&text)?.0 <= room {
            return Ok(text);
        }
    }
    Ok(String::new())
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

    #[test]
    fn a_label_too_wide_for_its_panel_is_cut_short() {
        // Ten pixels a character.
        let size = |text: &str| Ok::<_, ()>((10 * text.chars().count() as i64, 13));
        assert_eq!(shorten("run-01", 60, &size), Ok("run-01".to_string()));
        assert_eq!(
            shorten("runs/a-long-name", 100, &size),
            Ok("runs/a-...".to_string())
        );
        assert_eq!(shorten("abc", 20, &size), Ok(String::new()));
    }
}
