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
    let smoothing = format!("smoothing {}", weight_label(options.smoothing));

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
    let validated = runs.iter().filter(|r| r.has_validation).count();
    let test = Panel {
        caption: if validated == 0 {
            "test accuracy (at each evaluation)".to_string()
        } else if validated == runs.len() {
            "validation accuracy (at each evaluation; x: a look at the test set)".to_string()
        } else {
            "held-out accuracy (validation; test for runs without a split; x: a test look)".into()
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
        draw_panel(&panels[0], x.clone(), y, None, &loss)?;
    } else {
        let (lo, hi) = loss_range.unwrap_or((0.0, 1.0));
        let y = lo.min(0.0)..hi * 1.05;
        let decimals = tick_decimals(y.clone(), 1.0);
        draw_panel(&panels[0], x.clone(), y, Some(decimals), &loss)?;
    }
    for (area, panel, min_span) in [(&panels[1], &accuracy, 0.0), (&panels[2], &test, 0.002)] {
        let y = padded(
            value_range(panel.lines.iter().flat_map(all_points)),
            min_span,
        );
        let decimals = tick_decimals(y.clone(), 100.0);
        draw_panel(area, x.clone(), y, Some(decimals), panel)?;
    }
    Ok(())
}

/// Labels on a y axis at most.
const Y_LABELS: usize = 6;

/// Decimals the tick labels of a linear axis over `range` need, the values multiplied by
/// `scale` (100 for percentages): the fewest with which every tick plotters draws there (its
/// key points for [`Y_LABELS`] labels) is written exactly, so that no two read the same and
/// none carries digits its spacing does not need.
fn tick_decimals(range: Range<f64>, scale: f64) -> usize {
    use plotters::coord::ranged1d::Ranged;
    use plotters::coord::types::RangedCoordf64;
    if !(range.start.is_finite() && range.end.is_finite() && range.start < range.end) {
        return 0;
    }
    let ticks: Vec<f64> = RangedCoordf64::from(range.clone())
        .key_points(Y_LABELS)
        .into_iter()
        .map(|v| v * scale)
        .collect();
    // A millionth of the spacing is rounding noise; more is a digit the label would drop.
    let spacing = ticks
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    let exact = |decimals: usize| {
        let unit = 10f64.powi(decimals as i32);
        let noise = spacing * unit * 1e-6;
        ticks
            .iter()
            .all(|v| ((v * unit) - (v * unit).round()).abs() <= noise)
    };
    if ticks.len() < 2 {
        // One tick or none: as many decimals as the span's first digit needs.
        let span = (range.end - range.start) * scale;
        return (-span.log10()).ceil().clamp(0.0, 12.0) as usize;
    }
    (0..=12).find(|&d| exact(d)).unwrap_or(12)
}

/// A tick label: a fraction as a percentage, or a plain value, with `decimals` decimals (or,
/// without them, three significant digits as on a log axis).
fn tick_label(v: f64, percent: bool, decimals: Option<usize>) -> String {
    match (percent, decimals) {
        (true, Some(d)) => format!("{:.d$}%", v * 100.0),
        (true, None) => format!("{}%", short_number(v * 100.0)),
        (false, Some(d)) => format!("{v:.d$}"),
        (false, None) => short_number(v),
    }
}

/// A smoothing weight as people set it: `0.6`, not an `f32` widened to `0.600000023841858`.
fn weight_label(weight: f64) -> String {
    let text = format!("{weight:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
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

/// Draws one panel with the y-axis `y`, its labels with `decimals` decimals (see
/// [`tick_label`]).
fn draw_panel<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: Y,
    decimals: Option<usize>,
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
    let label = |v: &f64| tick_label(*v, panel.percent, decimals);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc("step")
        .y_desc(panel.y_desc)
        .x_labels(8)
        .y_labels(Y_LABELS)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&label);
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

    /// The labels plotters draws on a linear axis over `range` with the panel's formatter.
    fn drawn_labels(range: Range<f64>, percent: bool) -> Vec<String> {
        use plotters::coord::ranged1d::Ranged;
        use plotters::coord::types::RangedCoordf64;
        let decimals = tick_decimals(range.clone(), if percent { 100.0 } else { 1.0 });
        let coord: RangedCoordf64 = range.into();
        let points: Vec<f64> = coord.key_points(Y_LABELS);
        points
            .into_iter()
            .map(|v| tick_label(v, percent, Some(decimals)))
            .collect()
    }

    #[test]
    fn tick_labels_are_distinct_on_ranges_from_1e_4_to_100_wide() {
        let mut span = 1e-4;
        while span <= 100.0 {
            for start in [0.0, 0.9929, 0.25, 3.7, 12.345] {
                let labels = drawn_labels(start..start + span, false);
                assert!(labels.len() >= 2, "{span} from {start}: {labels:?}");
                let mut distinct = labels.clone();
                distinct.dedup();
                assert_eq!(distinct, labels, "{span} from {start}");
                // No more digits than the spacing needs: the labels' last digits are not all 0.
                let last: Vec<char> = labels.iter().filter_map(|l| l.chars().last()).collect();
                assert!(
                    !labels[0].contains('.') || last.iter().any(|&c| c != '0'),
                    "{span} from {start}: {labels:?}"
                );
            }
            span *= 1.7;
        }
    }

    #[test]
    fn percent_labels_on_a_zoomed_accuracy_axis_differ() {
        // The test accuracies a new user saw: 99.29% to 99.31%, all labelled "99.3%" before.
        let axis = padded(Some((0.9929, 0.9931)), 0.002);
        let labels = drawn_labels(axis, true);
        assert!(labels.contains(&"99.29%".to_string()), "{labels:?}");
        assert!(labels.contains(&"99.31%".to_string()), "{labels:?}");
        let mut distinct = labels.clone();
        distinct.dedup();
        assert_eq!(distinct, labels);
        assert!(labels.iter().all(|l| l.ends_with('%')), "{labels:?}");
        let mut span = 1e-6;
        while span <= 1.0 {
            let labels = drawn_labels(0.5 - span / 2.0..0.5 + span / 2.0, true);
            let mut distinct = labels.clone();
            distinct.dedup();
            assert_eq!(distinct, labels, "{span}");
            span *= 2.3;
        }
    }

    #[test]
    fn smoothing_weights_read_as_set() {
        assert_eq!(weight_label(f64::from(0.6f32)), "0.6");
        assert_eq!(weight_label(f64::from(0.95f32)), "0.95");
        assert_eq!(weight_label(0.0), "0");
        assert_eq!(weight_label(0.99), "0.99");
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
