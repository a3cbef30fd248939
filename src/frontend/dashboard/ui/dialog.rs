//! A yes-or-no question over the dashboard.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::theme;
use crate::frontend::dashboard::app::Question;

/// Columns of the box.
const WIDTH: u16 = 48;

/// Draws `question` in a box in the middle of `area`.
pub fn render(question: Question, area: Rect, buf: &mut Buffer) {
    let popup = area.centered(
        Constraint::Length(WIDTH.min(area.width)),
        Constraint::Length(6.min(area.height)),
    );
    Clear.render(popup, buf);
    let lines = vec![
        Line::raw(question.text()),
        Line::default(),
        Line::from(vec![
            Span::styled("y", theme::key()),
            Span::styled(" yes    ", theme::dim()),
            Span::styled("n", theme::key()),
            Span::styled(" no", theme::dim()),
        ]),
    ];
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .block(Block::bordered().title(Span::styled(" confirm ", theme::title())))
        .render(popup, buf);
}
