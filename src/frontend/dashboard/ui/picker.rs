//! The run picker over the dashboard: a row per run, the chosen ones marked, the cursor's row
//! highlighted, scrolled to keep it in view.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::{format, theme};
use crate::frontend::dashboard::app::{PickerEntry, RunPicker};

/// Columns of the box at most.
const MAX_WIDTH: u16 = 80;
/// Columns of a run's name.
const NAME_WIDTH: usize = 20;

/// Draws `picker` in a box over the middle of `area`.
pub fn render(picker: &RunPicker, area: Rect, buf: &mut Buffer) {
    let title = format!(
        " runs in {} ",
        format::shown(&picker.dir.display().to_string())
    );
    let keys = [
        ("↑↓", "move"),
        ("space", "choose"),
        ("enter", "overlay"),
        ("esc", "cancel"),
    ];
    let rows: Vec<Line> = picker
        .entries()
        .iter()
        .enumerate()
        .map(|(i, entry)| row(entry, i == picker.cursor()))
        .collect();
    list_box(&title, &keys, rows, picker.cursor(), area, buf);
}

/// Draws `rows` in a box titled `title` over the middle of `area`, at most [`MAX_WIDTH`]
/// wide, with `keys` (key, what it does) along its bottom edge, scrolled to keep row
/// `cursor` in view. No rows says so.
pub fn list_box(
    title: &str,
    keys: &[(&str, &str)],
    rows: Vec<Line<'static>>,
    cursor: usize,
    area: Rect,
    buf: &mut Buffer,
) {
    let height = (rows.len().max(1) as u16).min(area.height.saturating_sub(2));
    let popup = area.centered(
        Constraint::Length(MAX_WIDTH.min(area.width)),
        Constraint::Length(height + 2),
    );
    Clear.render(popup, buf);
    let mut hints = vec![Span::raw(" ")];
    for (key, what) in keys {
        hints.push(Span::styled(format!("{key} "), theme::key()));
        hints.push(Span::styled(format!("{what} "), theme::dim()));
    }
    let block = Block::bordered()
        .title(Span::styled(title.to_string(), theme::title()))
        .title_bottom(Line::from(hints));
    let inner = block.inner(popup);
    block.render(popup, buf);
    if rows.is_empty() {
        Paragraph::new(Line::styled("no runs here yet", theme::dim())).render(inner, buf);
        return;
    }
    let visible = usize::from(inner.height.max(1));
    let first = cursor.saturating_sub(visible - 1);
    let lines: Vec<Line> = rows.into_iter().skip(first).take(visible).collect();
    Paragraph::new(lines).render(inner, buf);
}

/// `▶ [x] 20261201-120000           finished · 20000/20000 · best 99.21%`.
fn row(entry: &PickerEntry, under_cursor: bool) -> Line<'static> {
    let marker = if under_cursor { "▶" } else { " " };
    let check = match (entry.unavailable, entry.chosen) {
        (Some(_), _) => "   ",
        (None, true) => "[x]",
        (None, false) => "[ ]",
    };
    let mut name: String = format::shown(&entry.name)
        .chars()
        .take(NAME_WIDTH)
        .collect();
    name = format!("{name:<NAME_WIDTH$}");
    let detail = match entry.unavailable {
        Some(why) => format!("{} ({why})", format::shown(&entry.summary)),
        None => format::shown(&entry.summary),
    };
    let style = match (under_cursor, entry.unavailable) {
        (true, _) => theme::selected(),
        (false, Some(_)) => theme::dim(),
        (false, None) => ratatui::style::Style::default(),
    };
    Line::from(vec![
        Span::styled(format!("{marker} {check} {name} "), style),
        Span::styled(detail, style),
    ])
}
