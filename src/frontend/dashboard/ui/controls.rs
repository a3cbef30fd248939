//! The controls panel: the live settings (one selected, changed with `+`/`-` or a typed value)
//! and the keys of the run's actions.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::theme;
use crate::frontend::dashboard::app::{App, Editor, Overlay, RunState, Setting};

/// Columns of a setting's name.
const NAME_WIDTH: usize = 14;

/// Draws the controls panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let mut block = Block::bordered().title(Span::styled(" controls ", theme::title()));
    if app.accepts_commands() && !matches!(app.overlay(), Overlay::Edit(_)) {
        block = block.title_bottom(Line::from(vec![
            Span::raw(" "),
            key("↑↓"),
            hint(" select · "),
            key("+-"),
            hint(" change · "),
            key("enter"),
            hint(" type "),
        ]));
    }
    let mut lines: Vec<Line> = Setting::ALL
        .iter()
        .map(|&setting| setting_line(app, setting))
        .collect();
    match app.overlay() {
        Overlay::Edit(editor) => lines.extend(edit_hints(editor)),
        _ if app.accepts_commands() => lines.extend(action_hints(app.state())),
        _ => match app.read_only() {
            Some(reason) => lines.push(Line::styled(reason.to_string(), theme::dim())),
            None => lines.push(Line::styled("training has ended", theme::dim())),
        },
    }
    Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}

/// `▶ learning rate  1.00e-4`, or the entry line while typing a value for it.
fn setting_line(app: &App, setting: Setting) -> Line<'static> {
    let selected = setting == app.selected();
    let marker = if selected { "▶ " } else { "  " };
    // Under a schedule the learning rate set here is the peak; the status line shows the
    // rate in force.
    let scheduled = app.config().train.schedule != crate::config::Schedule::Constant;
    let label = match setting {
        Setting::LearningRate if scheduled => "peak lr",
        _ => setting.label(),
    };
    let name = format!("{marker}{label:<NAME_WIDTH$} ");
    let name = if selected {
        Span::styled(name, theme::selected())
    } else {
        Span::raw(name)
    };
    if let Overlay::Edit(editor) = app.overlay() {
        if editor.setting == setting {
            return Line::from(vec![
                name,
                Span::raw(" "),
                Span::styled(format!("{}█", editor.text), theme::key()),
            ]);
        }
    }
    let settings = app.settings();
    let mut spans = vec![name, Span::raw(" "), Span::raw(settings.display(setting))];
    if settings.is_pending(setting) {
        spans.push(Span::styled(" (sent)", theme::dim()));
    }
    Line::from(spans)
}

/// What the keys do while a value is typed, and what is wrong with the last try.
fn edit_hints(editor: &Editor) -> Vec<Line<'static>> {
    let second = match &editor.error {
        Some(error) => Line::styled(error.clone(), theme::bad()),
        None => Line::styled(editor.setting.hint(), theme::dim()),
    };
    vec![
        Line::from(vec![
            key("enter"),
            hint(" apply  "),
            key("esc"),
            hint(" cancel"),
        ]),
        second,
    ]
}

/// The keys of the run's actions.
fn action_hints(state: RunState) -> Vec<Line<'static>> {
    let pause = if state == RunState::Paused {
        " resume  "
    } else {
        " pause  "
    };
    vec![
        Line::from(vec![
            key("space"),
            hint(pause),
            key("."),
            hint(" one step (paused)"),
        ]),
        Line::from(vec![
            key("t"),
            hint(" test now  "),
            key("c"),
            hint(" checkpoint  "),
            key("x"),
            hint(" stop"),
        ]),
    ]
}

fn key(text: &'static str) -> Span<'static> {
    Span::styled(text, theme::key())
}

fn hint(text: &'static str) -> Span<'static> {
    Span::styled(text, theme::dim())
}
