//! A yes-or-no question over the dashboard.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use super::theme;
use crate::frontend::dashboard::app::Question;

/// Columns of the box.
const WIDTH: u16 = 48;

/// Draws `question`, worded as `text`, in a box in the middle of `area`.
pub fn render(question: Question, text: &str, area: Rect, buf: &mut Buffer) {
    let width = if matches!(question, Question::QuitUnsaved | Question::QuitSweep) {
        2 * WIDTH
    } else {
        WIDTH
    };
    let width = width.min(area.width);
    // Wrapped lines of the text, a blank line, the keys, a blank line, and the borders.
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = text
        .lines()
        .map(|l| l.chars().count().div_ceil(inner).max(1))
        .sum();
    let height = u16::try_from(rows + 5).unwrap_or(u16::MAX);
    let popup = area.centered(
        Constraint::Length(width),
        Constraint::Length(height.min(area.height)),
    );
    Clear.render(popup, buf);
    let mut lines: Vec<Line> = text.lines().map(Line::raw).collect();
    lines.extend([
        Line::default(),
        Line::from(vec![
            Span::styled("y", theme::key()),
            Span::styled(" yes    ", theme::dim()),
            Span::styled("n", theme::key()),
            Span::styled(" no", theme::dim()),
        ]),
    ]);
    Paragraph::new(lines)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true })
        .block(Block::bordered().title(Span::styled(" confirm ", theme::title())))
        .render(popup, buf);
}
