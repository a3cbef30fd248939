//! The checkpoint picker over the dashboard: the automatic choice, then a row per checkpoint
//! (step, role, accuracy), the one shown marked, the cursor's row highlighted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{picker, theme};
use crate::frontend::dashboard::app::{CheckpointEntry, CheckpointPicker};

/// Draws `picker` in a box over the middle of `area`.
pub fn render(picker: &CheckpointPicker, area: Rect, buf: &mut Buffer) {
    let keys = [("↑↓", "move"), ("enter", "show"), ("esc", "cancel")];
    let automatic = row(
        "automatic: best once the run ended, newest while it runs".into(),
        picker.shown().is_none(),
        picker.cursor() == 0,
    );
    let split = picker.split().name();
    let rows: Vec<Line> = std::iter::once(automatic)
        .chain(picker.entries().iter().enumerate().map(|(i, entry)| {
            row(
                describe(entry, split),
                picker.shown() == Some(entry.choice),
                picker.cursor() == i + 1,
            )
        }))
        .collect();
    picker::list_box(
        " checkpoints shown by Inspect and Draw ",
        &keys,
        rows,
        picker.cursor(),
        area,
        buf,
    );
}

/// `final     step   2000  validation 98.70%`.
fn describe(entry: &CheckpointEntry, split: &str) -> String {
    let accuracy = entry.accuracy.map_or_else(
        || format!("{split} not evaluated at this step"),
        |a| format!("{split} {:.2}%", a * 100.0),
    );
    format!(
        "{:<9} step {:>7}  {accuracy}",
        entry.role.label(),
        entry.choice.step
    )
}

/// `▶ (•) text`: the cursor, whether it is the one shown, and the text.
fn row(text: String, shown: bool, under_cursor: bool) -> Line<'static> {
    let marker = if under_cursor { "▶" } else { " " };
    let radio = if shown { "(•)" } else { "( )" };
    let style = if under_cursor {
        theme::selected()
    } else {
        Style::default()
    };
    Line::from(vec![Span::styled(
        format!("{marker} {radio} {text}"),
        style,
    )])
}
