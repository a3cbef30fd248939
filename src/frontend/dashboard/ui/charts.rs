//! The charts: sparklines of the per-step training loss and batch accuracy (newest on the
//! right) with their latest and smoothed values, and the test accuracy of each evaluation.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, RenderDirection, Sparkline, SparklineBar, Widget};

use super::{format, theme};
use crate::frontend::dashboard::app::{App, EvalPoint, Series};

/// Bar heights are fractions of this.
const SCALE: f64 = 1000.0;

/// Draws the charts panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let smoothing = if app.smoothed() { "smoothed" } else { "raw" };
    let block = Block::bordered()
        .title(Span::styled(" training ", theme::title()))
        .title_top(
            Line::from(vec![
                Span::styled(" w ", theme::key()),
                Span::styled(app.window().label(), theme::dim()),
                Span::styled(" · ", theme::dim()),
                Span::styled("s ", theme::key()),
                Span::styled(format!("{smoothing} "), theme::dim()),
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
            Constraint::Fill(2),
        ])
        .areas(inner);
    let loss = app.loss();
    series_label("loss", loss, |v| format!("{v:.4}"), theme::loss()).render(loss_label, buf);
    let values = loss.view(app.window(), usize::from(inner.width), app.smoothed());
    sparkline(&values, theme::loss()).render(loss_chart, buf);

    let acc = app.accuracy();
    let pct = |v: f32| format::percent(f64::from(v), 1);
    series_label("batch acc", acc, pct, theme::accuracy()).render(acc_label, buf);
    let values = acc.view(app.window(), usize::from(inner.width), app.smoothed());
    sparkline(&values, theme::accuracy()).render(acc_chart, buf);

    test_line(app.evaluations()).render(test_label, buf);
    test_sparkline(app.evaluations(), usize::from(inner.width)).render(test_chart, buf);
}

/// `name latest  avg smoothed`.
fn series_label(
    name: &str,
    series: &Series,
    show: impl Fn(f32) -> String,
    style: Style,
) -> Line<'static> {
    let latest = series.latest().map_or("-".into(), &show);
    let smoothed = series.latest_smoothed().map_or("-".into(), &show);
    Line::from(vec![
        Span::styled(format!("{name} "), style),
        Span::raw(latest),
        Span::styled("  smoothed ", theme::dim()),
        Span::raw(smoothed),
    ])
}

/// A sparkline of `values` (oldest first) drawn newest-right and scaled by [`range`], so the
/// changes within the window show; non-finite values (a diverged loss) are marked columns.
fn sparkline(values: &[f32], style: Style) -> Sparkline<'static> {
    let (floor, span) = range(values);
    let bars: Vec<SparklineBar> = values
        .iter()
        .rev()
        .map(|&v| {
            let fraction = f64::from((v - floor) / span);
            let value = (v.is_finite() && fraction.is_finite())
                .then(|| (fraction.clamp(0.0, 1.0) * SCALE).round() as u64);
            SparklineBar::from(value)
        })
        .collect();
    Sparkline::default()
        .data(bars)
        .max(SCALE as u64)
        .direction(RenderDirection::RightToLeft)
        .style(style)
        .absent_value_symbol("×")
        .absent_value_style(theme::bad())
}

/// The floor and height of a chart of `values`: from a quarter of the spread below the lowest
/// finite value (never below zero) to the highest, or from zero when all are equal.
pub fn range(values: &[f32]) -> (f32, f32) {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let hi = finite.clone().fold(f32::MIN, f32::max);
    let lo = finite.fold(f32::MAX, f32::min);
    if lo > hi {
        return (0.0, 1.0);
    }
    let floor = if hi > lo {
        (lo - (hi - lo) * 0.25).max(0.0)
    } else {
        0.0
    };
    (floor, (hi - floor).max(f32::MIN_POSITIVE))
}

/// `test acc 97.12% (step 1000) · best 97.50%`.
fn test_line(evaluations: &[EvalPoint]) -> Line<'static> {
    let mut spans = vec![Span::styled("test acc ", theme::test())];
    match evaluations.last() {
        None => spans.push(Span::styled(
            "not evaluated yet (t tests now)",
            theme::dim(),
        )),
        Some(last) => {
            spans.push(Span::raw(format::percent(last.accuracy, 2)));
            spans.push(Span::styled(format!(" (step {})", last.step), theme::dim()));
            let best = evaluations.iter().map(|e| e.accuracy).fold(0.0, f64::max);
            spans.push(Span::styled(" · best ", theme::dim()));
            spans.push(Span::raw(format::percent(best, 2)));
        }
    }
    Line::from(spans)
}

/// One bar per evaluation (the newest `width`).
fn test_sparkline(evaluations: &[EvalPoint], width: usize) -> Sparkline<'static> {
    let shown = &evaluations[evaluations.len().saturating_sub(width)..];
    let values: Vec<f32> = shown.iter().map(|e| e.accuracy as f32).collect();
    sparkline(&values, theme::test())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_starts_below_the_lowest_value() {
        assert_eq!(range(&[1.0, 2.0, 5.0]), (0.0, 5.0));
        assert_eq!(range(&[4.0, 8.0]), (3.0, 5.0));
        assert_eq!(range(&[0.5, 0.5]), (0.0, 0.5));
        assert_eq!(range(&[]), (0.0, 1.0));
        assert_eq!(range(&[f32::NAN]), (0.0, 1.0));
        assert_eq!(range(&[f32::NAN, 4.0, 8.0, f32::INFINITY]), (3.0, 5.0));
    }
}
