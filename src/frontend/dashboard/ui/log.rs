//! The event log panel: the newest entries that fit, newest at the bottom.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::{format, theme};
use crate::frontend::dashboard::app::{App, LogEntry};

/// Columns of the step number.
const STEP_WIDTH: usize = 6;

/// Draws the event log: the newest entries that fit, each wrapped to the panel's width (a
/// checkpoint's whole path, not its first columns), newest at the bottom.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered().title(Span::styled(" event log ", theme::title()));
    let inner = block.inner(area);
    let rows = usize::from(inner.height);
    let text_width = usize::from(inner.width)
        .saturating_sub(STEP_WIDTH + 1)
        .max(1);
    let mut lines: Vec<Line> = Vec::with_capacity(rows);
    for entry in app.log().last(rows).collect::<Vec<_>>().into_iter().rev() {
        let wrapped = entry_lines(entry, text_width);
        let room = rows - lines.len();
        // The newest entries first, each whole when it fits; the oldest shown may lose its
        // first lines.
        lines.splice(0..0, wrapped.into_iter().rev().take(room).rev());
        if lines.len() == rows {
            break;
        }
    }
    Paragraph::new(lines).block(block).render(area, buf);
}

/// `  1200 learning rate 1.000e-4 → 2.000e-4`, wrapped into lines of `width` characters of
/// text, the later ones under the first one's text.
fn entry_lines(entry: &LogEntry, width: usize) -> Vec<Line<'static>> {
    let step = entry.step.map_or_else(
        || format!("{:>STEP_WIDTH$}", "·"),
        |s| format!("{s:>STEP_WIDTH$}"),
    );
    let text: Vec<char> = format::shown(&entry.text).chars().collect();
    let style = theme::log(entry.kind);
    text.chunks(width)
        .enumerate()
        .map(|(i, chunk)| {
            let margin = if i == 0 {
                step.clone()
            } else {
                " ".repeat(STEP_WIDTH)
            };
            Line::from(vec![
                Span::styled(margin, theme::dim()),
                Span::raw(" "),
                Span::styled(chunk.iter().collect::<String>(), style),
            ])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::dashboard::app::LogKind;

    #[test]
    fn a_long_entry_wraps_under_its_text_and_loses_nothing() {
        let entry = LogEntry {
            step: Some(1200),
            text: "checkpoint written to runs/20261206-055012/checkpoints/step-00001200".into(),
            kind: LogKind::Info,
        };
        let lines = entry_lines(&entry, 30);
        let text: String = lines
            .iter()
            .map(|l| l.spans[2].content.to_string())
            .collect();
        assert_eq!(text, entry.text);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].spans[0].content, "  1200");
        assert_eq!(lines[1].spans[0].content, "      ");
    }
}
