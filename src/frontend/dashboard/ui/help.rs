//! The help overlay: every key, from the same table the key handler reads.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::theme;
use crate::frontend::dashboard::app::BINDINGS;

/// Columns of the key names.
const KEY_WIDTH: usize = 13;
/// Columns of one column of keys, border excluded.
const COLUMN_WIDTH: u16 = 50;

/// Draws the help box over the middle of `area`.
pub fn render(area: Rect, buf: &mut Buffer) {
    let lines: Vec<Line> = BINDINGS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:<KEY_WIDTH$}", b.label), theme::key()),
                Span::raw(b.help),
            ])
        })
        .collect();
    let rows = area.height.saturating_sub(2).max(1);
    let columns = lines.len().div_ceil(usize::from(rows)).max(1) as u16;
    let height = (lines.len() as u16).div_ceil(columns) + 2;
    let width = (COLUMN_WIDTH * columns + 2).min(area.width);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    Clear.render(popup, buf);
    let block = Block::bordered()
        .title(Span::styled(" keys ", theme::title()))
        .title_bottom(Line::from(vec![
            Span::styled(" esc ", theme::key()),
            Span::styled("or ", theme::dim()),
            Span::styled("? ", theme::key()),
            Span::styled("closes ", theme::dim()),
        ]));
    let inner = block.inner(popup);
    block.render(popup, buf);
    let areas = Layout::horizontal(vec![Constraint::Fill(1); usize::from(columns)]).split(inner);
    let per_column = usize::from(height - 2);
    for (chunk, column) in lines.chunks(per_column.max(1)).zip(areas.iter()) {
        Paragraph::new(chunk.to_vec()).render(*column, buf);
    }
}
