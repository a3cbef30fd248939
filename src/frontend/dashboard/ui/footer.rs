//! The footer row: the answer to the last key if there is one, else the main keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::theme;
use crate::frontend::dashboard::app::{App, RunState};

/// Draws the footer.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let line = match app.flash() {
        Some(text) => Line::from(Span::styled(format!(" {text}"), theme::flash())),
        None => hints(app),
    };
    line.render(area, buf);
}

/// The keys most worth knowing now.
fn hints(app: &App) -> Line<'static> {
    let mut pairs = vec![("?", "help")];
    if app.accepts_commands() {
        let pause = if app.state() == RunState::Paused {
            "resume"
        } else {
            "pause"
        };
        pairs.extend([("space", pause), ("+-", "change")]);
    }
    pairs.extend([("←→", "digits"), ("m", "next wrong"), ("q", "quit")]);
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in pairs {
        spans.push(Span::styled(key, theme::key()));
        spans.push(Span::styled(format!(" {what}  "), theme::dim()));
    }
    Line::from(spans)
}
