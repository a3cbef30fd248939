//! The event log panel: the newest entries that fit, newest at the bottom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::{format, theme};
use crate::frontend::dashboard::app::{App, LogEntry};

/// Columns of the step number.
const STEP_WIDTH: usize = 6;

/// Draws the event log.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered().title(Span::styled(" event log ", theme::title()));
    let rows = usize::from(block.inner(area).height);
    let lines: Vec<Line> = app.log().last(rows).map(entry_line).collect();
    Paragraph::new(lines).block(block).render(area, buf);
}

/// `  1200 learning rate 1.000e-4 → 2.000e-4`.
fn entry_line(entry: &LogEntry) -> Line<'static> {
    let step = entry.step.map_or_else(
        || format!("{:>STEP_WIDTH$}", "·"),
        |s| format!("{s:>STEP_WIDTH$}"),
    );
    Line::from(vec![
        Span::styled(step, theme::dim()),
        Span::raw(" "),
        Span::styled(format::shown(&entry.text), theme::log(entry.kind)),
    ])
}
