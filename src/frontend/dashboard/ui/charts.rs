//! The Training page's charts: training loss (log scale by default), batch accuracy and test
//! accuracy against the step, as line charts in half-block cells with labelled axes. A
//! smoothed line (TensorBoard's debiased moving average) is drawn over the faint raw values;
//! the test accuracy's axis zooms to the range of its values; a value cursor reads every
//! series at one step.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, LegendPosition, Paragraph, Widget};

use super::{format, theme};
use crate::frontend::dashboard::app::series::Points;
use crate::frontend::dashboard::app::{App, ChartView, ComparedRun, Series};
use crate::run::record::EvalSplit;
use crate::train::Evaluation;

/// Draws the charts panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let view = app.chart();
    let smoothing = match view.smoothing() {
        Some(w) => format!("smooth {w:.2}"),
        None => "raw".into(),
    };
    let scale = if view.log_loss { "log" } else { "linear" };
    let block = Block::bordered()
        .title(Span::styled(" training ", theme::title()))
        .title_top(
            Line::from(vec![
                Span::styled(" w ", theme::key()),
                Span::styled(view.window.label(), theme::dim()),
                Span::styled(" s[] ", theme::key()),
                Span::styled(smoothing, theme::dim()),
                Span::styled(" l ", theme::key()),
                Span::styled(format!("{scale} "), theme::dim()),
            ])
            .right_aligned(),
        );
    let inner = block.inner(area);
    block.render(area, buf);
    if app.loss().is_empty() {
        Paragraph::new("waiting for the first step…")
            .style(theme::dim())
            .alignment(Alignment::Center)
            .render(inner.centered_vertically(Constraint::Length(1)), buf);
        return;
    }
    let [loss_label, loss_chart, acc_label, acc_chart, test_label, test_chart] =
        Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(3),
            Constraint::Length(1),
            Constraint::Fill(3),
            Constraint::Length(1),
            Constraint::Fill(3),
        ])
        .areas(inner);
    // Two points a cell: half blocks draw two rows per cell, and the x axis is as fine.
    let points = usize::from(inner.width) * 2;
    let span = app.loss().span(view.window, points);
    let frame = Frame {
        app,
        span,
        cursor: view.cursor.map(|c| cursor_step(span, c)),
        points,
    };
    frame.render_loss(loss_label, loss_chart, buf);
    frame.render_accuracy(acc_label, acc_chart, buf);
    frame.render_test(test_label, test_chart, buf);
}

/// What the three charts share: the steps shown, the cursor, and the points a line gets.
struct Frame<'a> {
    app: &'a App,
    span: (u64, u64),
    cursor: Option<u64>,
    points: usize,
}

impl Frame<'_> {
    /// The training loss, log or linear, with the legend of compared runs.
    fn render_loss(&self, label: Rect, chart: Rect, buf: &mut Buffer) {
        let scale = if self.app.chart().log_loss {
            Scale::Log
        } else {
            Scale::Linear
        };
        let loss = PerStep {
            name: "loss",
            series: self.app.loss(),
            of_run: |run| &run.loss,
            show: |v| format!("{v:.4}"),
            style: theme::loss(),
            scale,
            legend: true,
        };
        self.render_per_step(&loss, label, chart, buf);
    }

    /// The batch accuracy, zoomed to its values.
    fn render_accuracy(&self, label: Rect, chart: Rect, buf: &mut Buffer) {
        let accuracy = PerStep {
            name: "batch acc",
            series: self.app.accuracy(),
            of_run: |run| &run.accuracy,
            show: |v| format::percent(f64::from(v), 1),
            style: theme::accuracy(),
            scale: Scale::Zoomed,
            legend: false,
        };
        self.render_per_step(&accuracy, label, chart, buf);
    }

    /// A per-step series: its label line, then its raw and smoothed line over the compared
    /// runs' lines.
    fn render_per_step(&self, per: &PerStep, label: Rect, chart: Rect, buf: &mut Buffer) {
        let view = self.app.chart();
        series_label(per.name, per.series, self.cursor, view, per.show, per.style)
            .render(label, buf);
        let (raw, smooth) = per.series.points(self.span, self.points, view.smoothing());
        let spec = ChartSpec {
            raw: &raw,
            smooth: smooth.as_deref(),
            others: others(self.app, self.span, self.points, per.of_run),
            scale: per.scale,
            style: per.style,
            legend: per.legend,
            x_labels: false,
            marks: &[],
        };
        self.draw(&spec, chart, buf);
    }

    /// The evaluations' accuracy, zoomed, with the step axis labelled.
    fn render_test(&self, label: Rect, chart: Rect, buf: &mut Buffer) {
        let evaluations = self.app.evaluations();
        held_out_line(self.app, self.cursor).render(label, buf);
        let compared = self
            .app
            .compared()
            .iter()
            .map(|run| {
                (
                    format::shown(&run.name),
                    colour_of(run),
                    self.in_span(&run.evaluations),
                )
            })
            .collect();
        // With a validation split, each look at the test set is a mark on the chart.
        let looks = match self.app.choosing() {
            EvalSplit::Test => Vec::new(),
            _ => self.in_span(self.app.test_looks()),
        };
        let spec = ChartSpec {
            raw: &self.in_span(evaluations),
            smooth: None,
            others: compared,
            scale: Scale::Zoomed,
            style: theme::test(),
            legend: false,
            x_labels: true,
            marks: &looks,
        };
        self.draw(&spec, chart, buf);
    }

    /// The evaluations within the steps shown, as (step, accuracy).
    fn in_span(&self, evaluations: &[Evaluation]) -> Points {
        evaluations
            .iter()
            .filter(|e| (self.span.0..=self.span.1).contains(&e.step))
            .map(|e| (e.step as f64, e.accuracy))
            .collect()
    }

    fn draw(&self, spec: &ChartSpec, area: Rect, buf: &mut Buffer) {
        render_chart(&Plot::new(spec, self.cursor), self.span, spec, area, buf);
    }
}

/// A series with a value a step (loss, batch accuracy) and how its chart shows it.
struct PerStep<'a> {
    /// The label's name for it.
    name: &'static str,
    /// This run's values.
    series: &'a Series,
    /// The same series of a compared run.
    of_run: fn(&ComparedRun) -> &Series,
    /// A value as the label shows it.
    show: fn(f32) -> String,
    /// This run's colour.
    style: Style,
    /// How the y axis maps values.
    scale: Scale,
    /// Whether the lines are named in a legend.
    legend: bool,
}

/// What one chart draws and how.
struct ChartSpec<'a> {
    /// This run's values as recorded.
    raw: &'a [(f64, f64)],
    /// This run's smoothed values, drawn over the raw ones (which are then drawn faint).
    smooth: Option<&'a [(f64, f64)]>,
    /// The compared runs' lines: (name, colour, points).
    others: Vec<(String, Color, Points)>,
    /// How the y axis maps values.
    scale: Scale,
    /// This run's colour.
    style: Style,
    /// Whether the lines are named in a legend.
    legend: bool,
    /// Whether the x axis (steps) is labelled.
    x_labels: bool,
    /// Points marked apart from the lines (looks at the test set).
    marks: &'a [(f64, f64)],
}

/// How a chart's y axis maps values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    /// Powers of ten equally spaced; labels are the values.
    Log,
    /// From a little below the lowest value to the highest.
    Linear,
    /// A percentage axis zoomed to the values' range.
    Zoomed,
}

/// The step under a cursor at `fraction` of the chart's width.
fn cursor_step(span: (u64, u64), fraction: f64) -> u64 {
    let (first, last) = (span.0 as f64, span.1 as f64);
    (first + (last - first) * fraction).round() as u64
}

/// A compared run's colour: its place in [`RUN_COLOURS`].
pub fn colour_of(run: &ComparedRun) -> Color {
    RUN_COLOURS[run.colour % RUN_COLOURS.len()]
}

/// Colours of compared runs; each run keeps its place while it stays on the charts.
pub const RUN_COLOURS: [Color; 5] = [
    Color::Cyan,
    Color::Yellow,
    Color::LightRed,
    Color::LightBlue,
    Color::White,
];

/// One line of a chart.
struct Layer {
    /// The legend's name, if it has one.
    name: Option<String>,
    points: Vec<(f64, f64)>,
    style: Style,
}

/// What one chart draws, mapped onto its axes: compared runs first, this run on top.
struct Plot {
    layers: Vec<Layer>,
    /// The marks, mapped onto the axis.
    marks: Vec<(f64, f64)>,
    cursor: Option<[(f64, f64); 2]>,
    y: (f64, f64),
}

impl Plot {
    /// Maps the lines of `spec` onto its axis and places the cursor at its step.
    fn new(spec: &ChartSpec, cursor: Option<u64>) -> Self {
        let scale = spec.scale;
        let map = |points: &[(f64, f64)]| -> Vec<(f64, f64)> {
            points
                .iter()
                .filter_map(|&(x, y)| to_axis(y, scale).map(|y| (x, y)))
                .collect()
        };
        let name = |text: String| spec.legend.then_some(text);
        let mut layers: Vec<Layer> = spec
            .others
            .iter()
            .map(|(run, colour, points)| Layer {
                name: name(run.clone()),
                points: map(points),
                style: Style::new().fg(*colour),
            })
            .collect();
        let (raw, smooth, style) = (spec.raw, spec.smooth, spec.style);
        let raw_style = if smooth.is_some() {
            theme::dim()
        } else {
            style
        };
        let compared = !layers.is_empty();
        layers.push(Layer {
            name: name("this run".into()).filter(|_| compared && smooth.is_none()),
            points: map(raw),
            style: raw_style,
        });
        if let Some(smooth) = smooth {
            layers.push(Layer {
                name: name("this run".into()).filter(|_| compared),
                points: map(smooth),
                style,
            });
        }
        let marks = map(spec.marks);
        let y = bounds(
            layers
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.1))
                .chain(marks.iter().map(|p| p.1)),
            scale,
        );
        let cursor = cursor.map(|step| [(step as f64, y.0), (step as f64, y.1)]);
        Self {
            layers,
            marks,
            cursor,
            y,
        }
    }
}

/// Draws `plot` as a line chart over the steps of `span`, with the axes `spec` asks for.
fn render_chart(plot: &Plot, span: (u64, u64), spec: &ChartSpec, area: Rect, buf: &mut Buffer) {
    let scale = spec.scale;
    let mut datasets: Vec<Dataset> = plot
        .layers
        .iter()
        .map(|layer| {
            let line = line(&layer.points, layer.style);
            match &layer.name {
                Some(name) => line.name(name.clone()),
                None => line,
            }
        })
        .collect();
    if !plot.marks.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(theme::test_look())
                .data(&plot.marks),
        );
    }
    if let Some(cursor) = &plot.cursor {
        datasets.push(line(cursor, Style::new().fg(Color::Yellow)));
    }
    let (first, last) = (span.0 as f64, (span.1 as f64).max(span.0 as f64 + 1.0));
    let mut x_axis = Axis::default().bounds([first, last]).style(theme::dim());
    if spec.x_labels {
        x_axis = x_axis.labels(vec![
            Span::raw(format::count(span.0)),
            Span::raw(format!("step {}", format::count(span.1))),
        ]);
    }
    let y_axis = Axis::default()
        .bounds([plot.y.0, plot.y.1])
        .style(theme::dim())
        .labels(vec![
            Span::raw(tick(plot.y.0, scale)),
            Span::raw(tick(plot.y.1, scale)),
        ]);
    Chart::new(datasets)
        .x_axis(x_axis)
        .y_axis(y_axis)
        .legend_position(Some(LegendPosition::TopRight))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 1)))
        .render(area, buf);
}

fn line(points: &[(f64, f64)], style: Style) -> Dataset<'_> {
    Dataset::default()
        .marker(Marker::HalfBlock)
        .graph_type(GraphType::Line)
        .style(style)
        .data(points)
}

/// The compared runs' points of `series` over `span`, smoothed as this run's are.
fn others(
    app: &App,
    span: (u64, u64),
    points: usize,
    series: impl Fn(&ComparedRun) -> &Series,
) -> Vec<(String, Color, Points)> {
    app.compared()
        .iter()
        .map(|run| {
            let (raw, smooth) = series(run).points(span, points, app.chart().smoothing());
            (
                format::shown(&run.name),
                colour_of(run),
                smooth.unwrap_or(raw),
            )
        })
        .collect()
}

/// A value's position on the axis (`None` where the scale cannot show it: 0 on a log scale).
fn to_axis(value: f64, scale: Scale) -> Option<f64> {
    match scale {
        Scale::Log => (value > 0.0).then(|| value.log10()),
        _ => value.is_finite().then_some(value),
    }
}

/// The axis bounds for values `values` (already mapped).
fn bounds(values: impl Iterator<Item = f64>, scale: Scale) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    match scale {
        Scale::Log => (lo.floor(), hi.ceil().max(lo.floor() + 1.0)),
        Scale::Linear => {
            let pad = ((hi - lo) * 0.1).max(1e-6);
            ((lo - pad).max(0.0), hi + pad)
        }
        Scale::Zoomed => {
            let pad = ((hi - lo) * 0.15).max(0.002);
            ((lo - pad).max(0.0), (hi + pad).min(1.0))
        }
    }
}

/// The label of a tick at axis position `at`.
fn tick(at: f64, scale: Scale) -> String {
    match scale {
        Scale::Log => {
            let value = 10f64.powf(at);
            if value >= 1.0 {
                format!("{value:.0}")
            } else {
                format!("{value}")
            }
        }
        Scale::Linear => format!("{at:.3}"),
        Scale::Zoomed => format::percent(at, 1),
    }
}

/// `name latest  smoothed S`, or the values at the cursor's step.
fn series_label(
    name: &str,
    series: &Series,
    cursor: Option<u64>,
    view: &ChartView,
    show: impl Fn(f32) -> String,
    style: Style,
) -> Line<'static> {
    let (raw, smoothed, at) = match cursor {
        Some(step) => (
            series.at(step, None),
            view.smoothing().and_then(|w| series.at(step, Some(w))),
            format!(" at step {step}"),
        ),
        None => (
            series.latest(),
            view.smoothing().and_then(|w| series.latest_smoothed(w)),
            String::new(),
        ),
    };
    let mut spans = vec![
        Span::styled(format!("{name} "), style),
        Span::raw(raw.map_or("-".into(), &show)),
    ];
    if view.smoothed {
        spans.push(Span::styled("  smoothed ", theme::dim()));
        spans.push(Span::raw(smoothed.map_or("-".into(), &show)));
    }
    spans.push(Span::styled(at, theme::dim()));
    Line::from(spans)
}

/// `val acc 97.12% (step 1000) · best 97.50% · test looked at 1 time`, or the latest
/// evaluation at the cursor; `test acc ...` for a run without a validation split.
fn held_out_line(app: &App, cursor: Option<u64>) -> Line<'static> {
    let evaluations = app.evaluations();
    let name = match app.choosing() {
        EvalSplit::Test => "test acc ",
        _ => "val acc ",
    };
    let mut spans = vec![Span::styled(name, theme::test())];
    let shown = match cursor {
        Some(step) => evaluations.iter().rfind(|e| e.step <= step),
        None => evaluations.last(),
    };
    let hint = if app.read_only().is_some() {
        "not evaluated yet"
    } else {
        "not evaluated yet (t evaluates now)"
    };
    match shown {
        None => spans.push(Span::styled(hint, theme::dim())),
        Some(last) => {
            spans.push(Span::raw(format::percent(last.accuracy, 2)));
            spans.push(Span::styled(format!(" (step {})", last.step), theme::dim()));
            let best = evaluations.iter().map(|e| e.accuracy).fold(0.0, f64::max);
            spans.push(Span::styled(" · best ", theme::dim()));
            spans.push(Span::raw(format::percent(best, 2)));
        }
    }
    let looks = app.test_looks().len() as u64;
    if app.choosing() != EvalSplit::Test && looks > 0 {
        spans.push(Span::styled(" · ", theme::dim()));
        spans.push(Span::styled(
            format!("test looked at {}", crate::output::counted(looks, "time")),
            theme::test_look(),
        ));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_span_whole_powers_of_ten_and_label_values() {
        let ys = [0.05f64, 2.3].map(|v| to_axis(v, Scale::Log).unwrap());
        assert_eq!(bounds(ys.into_iter(), Scale::Log), (-2.0, 1.0));
        assert_eq!(tick(-2.0, Scale::Log), "0.01");
        assert_eq!(tick(1.0, Scale::Log), "10");
        assert_eq!(to_axis(0.0, Scale::Log), None);
    }

    #[test]
    fn the_test_axis_zooms_to_its_values() {
        let (lo, hi) = bounds([0.96, 0.993].into_iter(), Scale::Zoomed);
        assert!(lo > 0.95 && lo < 0.96, "{lo}");
        assert!(hi > 0.993 && hi <= 1.0, "{hi}");
        assert_eq!(bounds(std::iter::empty(), Scale::Linear), (0.0, 1.0));
    }

    #[test]
    fn the_cursor_lands_on_a_step_of_the_span() {
        assert_eq!(cursor_step((101, 201), 0.0), 101);
        assert_eq!(cursor_step((101, 201), 1.0), 201);
        assert_eq!(cursor_step((101, 201), 0.5), 151);
    }
}
