//! The status bar: state, `step N / TOTAL`, epoch, elapsed time, ETA, throughput, learning rate,
//! batch size and a progress gauge (or the setup note and download progress before training).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Widget};

use super::{format, theme};
use crate::frontend::dashboard::app::settings::format_lr;
use crate::frontend::dashboard::app::{App, Phase, RunState};

/// Separator between status fields.
const SEP: &str = " · ";

/// Draws the two status rows.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let [top, bottom] = Layout::vertical([Constraint::Length(1); 2]).areas(area);
    Line::from(top_spans(app)).render(top, buf);
    match (app.phase(), app.download()) {
        (Phase::Preparing, Some(progress)) => {
            let ratio = progress
                .total
                .map_or(0.0, |t| progress.bytes as f64 / t.max(1) as f64);
            let label = format!("{} {:.1} MB", progress.file, progress.bytes as f64 / 1e6);
            gauge(ratio, label).render(bottom, buf);
        }
        _ => render_settings_and_gauge(app, bottom, buf),
    }
}

/// The first row: the state badge, then what is known about the run.
fn top_spans(app: &App) -> Vec<Span<'static>> {
    let state = app.state();
    let mut spans = vec![
        Span::styled(format!(" {} ", state.label()), theme::badge(state)),
        Span::raw(" "),
    ];
    let fields: Vec<String> = match app.phase() {
        Phase::Preparing => vec![format::shown(app.note().unwrap_or("preparing"))],
        Phase::Failed(message) | Phase::StoppedBeforeTraining(message) => {
            vec![format::shown(message)]
        }
        Phase::Training | Phase::Finished(_) => run_fields(app),
    };
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(SEP, theme::dim()));
        }
        spans.push(Span::raw(field));
    }
    spans
}

/// Step, epoch, times and throughput (or the final accuracy once finished).
fn run_fields(app: &App) -> Vec<String> {
    let mut fields = vec![format!("step {} / {}", app.steps_done(), app.total_steps())];
    if let Some(step) = app.last_step() {
        fields.push(format!("epoch {:.2}", step.epoch));
    }
    fields.push(format!("elapsed {}", format::duration(app.run_time())));
    match app.phase() {
        Phase::Finished(summary) => fields.push(format!(
            "test accuracy {}",
            format::percent(summary.test_accuracy, 2)
        )),
        _ => {
            let eta = app.eta().map_or("-".into(), format::duration);
            fields.push(format!("ETA {eta}"));
            if let Some(rate) = app.throughput() {
                fields.push(format::rate(rate));
            }
        }
    }
    fields
}

/// The second row: learning rate and batch size, then the progress gauge.
fn render_settings_and_gauge(app: &App, area: Rect, buf: &mut Buffer) {
    let lr = app
        .last_step()
        .map_or(app.settings().learning_rate(), |s| s.learning_rate);
    let batch = app
        .last_step()
        .map_or(app.settings().batch_size(), |s| s.batch_size);
    // Under a schedule the rate in force moves; the controls set its peak.
    let scheduled = app.config().train.schedule != crate::config::Schedule::Constant;
    let now = if scheduled { " now" } else { "" };
    let text = Line::from(vec![
        Span::styled(" lr ", theme::dim()),
        Span::raw(format_lr(lr)),
        Span::styled(now, theme::dim()),
        Span::styled(SEP, theme::dim()),
        Span::styled("batch ", theme::dim()),
        Span::raw(batch.to_string()),
        Span::raw("  "),
    ]);
    let width = (text.width() as u16).min(area.width);
    let [left, right] =
        Layout::horizontal([Constraint::Length(width), Constraint::Fill(1)]).areas(area);
    text.render(left, buf);
    let progress = app.progress();
    gauge(progress, format::percent(progress, 1)).render(right, buf);
}

/// A one-row gauge with `ratio` clamped to 0..=1.
fn gauge(ratio: f64, label: String) -> Gauge<'static> {
    let ratio = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    Gauge::default()
        .ratio(ratio)
        .label(label)
        .gauge_style(theme::state_color(RunState::Running))
        .use_unicode(true)
}
