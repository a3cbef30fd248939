//! The Layers page: why the network is (not) learning, per layer. A table of the newest
//! statistics (its colours are the charts' legend), then four panels over the steps: the
//! update-to-weight ratio on a log scale with the 1e-3 guide, the dead-ReLU fraction, the
//! weight and gradient RMS on a log scale, and the weights' distributions ([`distributions`]).
//! Each panel's bottom border says what a healthy value looks like.
//!
//! ```text
//! ┌ layers at step N ───────────────────────────────────────────┐
//! │ layer   weight rms  grad rms  update/weight  dead ReLU  ... │ 7 rows
//! ├ update / weight (log) ────────┐┌ dead ReLUs ─────────────────┤
//! │ chart                         ││ chart                       │ half the rest
//! └ healthy: ... ─────────────────┘└ healthy: ... ───────────────┘
//! ┌ weight and gradient RMS ──────┐┌ weight values ──────────────┐
//! │ chart                         ││ heat strips                 │ half the rest
//! └ healthy: ... ─────────────────┘└ healthy: ... ───────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Widget, Wrap};

use super::{distributions, format, theme};
use crate::frontend::dashboard::app::App;
use crate::run::layer_history::LayerHistory;
use crate::run::layers::{LayerSample, LAYER_NAMES};

/// Rows of the table of the newest statistics (its border included).
const TABLE_ROWS: u16 = 7;
/// The update-to-weight ratio CS231n calls healthy, drawn as a guide line.
const HEALTHY_RATIO: f64 = 1e-3;

/// Draws the page.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let history = app.layers();
    let Some(latest) = history.latest() else {
        render_waiting(app, area, buf);
        return;
    };
    let [table, top, bottom] = Layout::vertical([
        Constraint::Length(TABLE_ROWS),
        Constraint::Fill(1),
        Constraint::Fill(1),
    ])
    .areas(area);
    let title = format!(" layers at step {} ", format::count(latest.step));
    render_table(&latest.layers, &title, table, buf);
    let [ratio, dead] = Layout::horizontal([Constraint::Fill(1); 2]).areas(top);
    let [rms, values] = Layout::horizontal([Constraint::Fill(1); 2]).areas(bottom);
    render_ratio(history, ratio, buf);
    render_dead(history, dead, buf);
    render_rms(history, rms, buf);
    distributions::render(history, values, buf);
}

/// What the page says before the first statistics.
fn render_waiting(app: &App, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered().title(Span::styled(" layers ", theme::title()));
    let inner = block.inner(area);
    block.render(area, buf);
    let every = app.config().log.layer_stats_every;
    let text = if every == 0 {
        "This run records no layer statistics (log.layer_stats_every = 0).".to_string()
    } else {
        format!(
            "Layer statistics come every {every} steps (log.layer_stats_every). Runs recorded \
             before them have none."
        )
    };
    Paragraph::new(text)
        .style(theme::dim())
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(inner.centered_vertically(Constraint::Length(2)), buf);
}

/// The newest statistics of every layer, one row each in the layer's colour.
fn render_table(layers: &[LayerSample], title: &str, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered().title(Span::styled(title.to_string(), theme::title()));
    let inner = block.inner(area);
    block.render(area, buf);
    let head = format!(
        "{:<8}{:>11}{:>11}{:>15}{:>11}   weights from … to",
        "layer", "weight rms", "grad rms", "update/weight", "dead ReLU"
    );
    let mut lines = vec![Line::styled(head, theme::dim())];
    for (index, layer) in layers.iter().enumerate() {
        let dead = layer
            .dead_relu
            .map_or("-".into(), |d| format::percent(f64::from(d), 1));
        let range = layer.weight.histogram.as_ref().map_or(String::new(), |h| {
            format!("{} … {}", short(h.lo), short(h.hi))
        });
        let text = format!(
            "{:<8}{:>11}{:>11}{:>15}{:>11}   {range}",
            layer.name,
            short(layer.weight.rms),
            short(layer.weight.grad_rms),
            short(layer.weight.update_ratio),
            dead,
        );
        lines.push(Line::styled(text, Style::new().fg(theme::layer(index))));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// A number in 3 significant digits, in exponent form when small or large.
fn short(value: f32) -> String {
    let magnitude = value.abs();
    if value == 0.0 || (1e-2..1e3).contains(&magnitude) {
        format!("{value:.3}")
    } else {
        format!("{value:.2e}")
    }
}

/// A line of one layer over the steps: its colour and its (step, value) points.
type LayerLine = (Style, Vec<(f64, f64)>);

/// One line a layer of `value` over the kept samples, skipping samples without it.
fn per_layer(
    history: &LayerHistory,
    value: impl Fn(&LayerSample) -> Option<f64>,
) -> Vec<LayerLine> {
    LAYER_NAMES
        .iter()
        .enumerate()
        .map(|(index, name)| {
            let points = history
                .samples()
                .filter_map(|s| Some((s.step as f64, value(s.layer(name)?)?)))
                .collect();
            (Style::new().fg(theme::layer(index)), points)
        })
        .collect()
}

/// The update-to-weight ratio of each layer's weights, log scale, with the 1e-3 guide.
fn render_ratio(history: &LayerHistory, area: Rect, buf: &mut Buffer) {
    let lines = per_layer(history, |l| Some(f64::from(l.weight.update_ratio)));
    let panel = Panel {
        title: " update / weight (log) ",
        healthy: " healthy: near 1e-3, the dotted line ",
        log: true,
        guide: Some(HEALTHY_RATIO),
    };
    panel.render(&lines, area, buf);
}

/// The fraction of dead ReLU units of each layer with a ReLU.
fn render_dead(history: &LayerHistory, area: Rect, buf: &mut Buffer) {
    let lines = per_layer(history, |l| l.dead_relu.map(f64::from));
    let panel = Panel {
        title: " dead ReLUs (share of units) ",
        healthy: " healthy: near 0, not growing ",
        log: false,
        guide: None,
    };
    panel.render(&lines, area, buf);
}

/// The RMS of each layer's weights (bright) and of their gradients (dimmed), log scale.
fn render_rms(history: &LayerHistory, area: Rect, buf: &mut Buffer) {
    let mut lines = per_layer(history, |l| Some(f64::from(l.weight.rms)));
    let gradients = per_layer(history, |l| Some(f64::from(l.weight.grad_rms)));
    lines.extend(
        gradients
            .into_iter()
            .map(|(style, points)| (style.add_modifier(Modifier::DIM), points)),
    );
    let panel = Panel {
        title: " weight and gradient (dim) RMS (log) ",
        healthy: " healthy: steady, none falling to 0 ",
        log: true,
        guide: None,
    };
    panel.render(&lines, area, buf);
}

/// A bordered chart of lines over the steps.
struct Panel {
    title: &'static str,
    /// The bottom border's words on healthy values.
    healthy: &'static str,
    /// Whether the y axis is logarithmic.
    log: bool,
    /// A value drawn as a dotted guide line across the chart.
    guide: Option<f64>,
}

impl Panel {
    /// Draws `lines` in a block over `area`.
    fn render(&self, lines: &[LayerLine], area: Rect, buf: &mut Buffer) {
        let block = Block::bordered()
            .title(Span::styled(self.title, theme::title()))
            .title_bottom(Span::styled(self.healthy, theme::dim()));
        let inner = block.inner(area);
        block.render(area, buf);
        let to_axis = |v: f64| {
            if self.log {
                (v > 0.0 && v.is_finite()).then(|| v.log10())
            } else {
                v.is_finite().then_some(v)
            }
        };
        let mapped: Vec<(Style, Vec<(f64, f64)>)> = lines
            .iter()
            .map(|(style, points)| {
                let points = points
                    .iter()
                    .filter_map(|&(x, y)| Some((x, to_axis(y)?)))
                    .collect();
                (*style, points)
            })
            .collect();
        let guide = self.guide.and_then(to_axis);
        let values = mapped.iter().flat_map(|(_, p)| p.iter().map(|p| p.1));
        let (lo, hi) = y_bounds(values.chain(guide), self.log);
        let steps = mapped.iter().flat_map(|(_, p)| p.iter().map(|p| p.0));
        let (first, last) = steps.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
        let (first, last) = (first.min(last), last.max(first + 1.0));
        // A dot every other column.
        let dots = usize::from(inner.width / 2).max(1);
        let guide_points: Option<Vec<(f64, f64)>> = guide.map(|g| {
            (0..=dots)
                .map(|k| (first + (last - first) * k as f64 / dots as f64, g))
                .collect()
        });
        let mut datasets: Vec<Dataset> = Vec::new();
        if let Some(points) = &guide_points {
            datasets.push(
                Dataset::default()
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Scatter)
                    .style(theme::dim())
                    .data(points),
            );
        }
        datasets.extend(mapped.iter().map(|(style, points)| {
            Dataset::default()
                .marker(Marker::HalfBlock)
                .graph_type(GraphType::Line)
                .style(*style)
                .data(points)
        }));
        let label = |at: f64| {
            if self.log {
                format!("1e{}", at.round() as i32)
            } else {
                format::percent(at, 0)
            }
        };
        Chart::new(datasets)
            .x_axis(Axis::default().bounds([first, last]))
            .y_axis(
                Axis::default()
                    .bounds([lo, hi])
                    .style(theme::dim())
                    .labels(vec![Span::raw(label(lo)), Span::raw(label(hi))]),
            )
            .render(inner, buf);
    }
}

/// The y axis's bounds for axis values `values`: whole powers of ten on a log scale, 0 to at
/// least 1 (all units) for a share.
fn y_bounds(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    match (log, lo <= hi) {
        (true, true) => (lo.floor(), hi.ceil().max(lo.floor() + 1.0)),
        (true, false) => (-4.0, -2.0),
        (false, true) => (0.0, hi.max(1.0)),
        (false, false) => (0.0, 1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_cover_whole_powers_of_ten_and_shares_all_units() {
        let values = [-3.2, -2.5];
        assert_eq!(y_bounds(values.into_iter(), true), (-4.0, -2.0));
        assert_eq!(y_bounds([-3.0].into_iter(), true), (-3.0, -2.0));
        assert_eq!(y_bounds([0.25].into_iter(), false), (0.0, 1.0));
        assert_eq!(y_bounds(std::iter::empty(), false), (0.0, 1.0));
    }

    #[test]
    fn numbers_are_short_in_the_table() {
        assert_eq!(short(0.0012), "1.20e-3");
        assert_eq!(short(0.25), "0.250");
        assert_eq!(short(0.0), "0.000");
    }
}
