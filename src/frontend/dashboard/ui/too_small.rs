//! What a terminal below the minimum size shows: the size it needs, and the run's state.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{theme, MIN_HEIGHT, MIN_WIDTH};
use crate::frontend::dashboard::app::{App, Overlay};

/// Draws the message over all of `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let state = app.state();
    let mut lines = vec![
        Line::styled("Terminal too small", theme::title()),
        Line::raw(format!(
            "digitdash needs at least {MIN_WIDTH}x{MIN_HEIGHT}; this one is {}x{}.",
            area.width, area.height
        )),
        Line::raw("Enlarge the window, or press q to quit."),
        Line::default(),
        Line::from(vec![
            Span::styled(format!(" {} ", state.label()), theme::badge(state)),
            Span::raw(format!(
                " step {} / {}",
                app.steps_done(),
                app.total_steps()
            )),
        ]),
    ];
    if let Overlay::Confirm(question) = app.overlay() {
        lines.push(Line::default());
        lines.push(Line::raw(format!("{} (y/n)", question.text())));
    }
    let top = area.height.saturating_sub(lines.len() as u16) / 2;
    let area = Rect {
        y: area.y + top.min(area.height),
        height: area.height - top.min(area.height),
        ..area
    };
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .render(area, buf);
}
