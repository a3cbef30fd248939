//! The confusion matrix: rows are true classes, columns predicted ones, cells shaded by count,
//! the selected cell marked, per-class accuracy at the end of each row. Narrow screens get
//! narrower cells (counts of 1000 and more as `1k`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::{pixels, theme};
use crate::data::CLASSES;
use crate::frontend::dashboard::app::{App, Confusion};
use crate::run::record::EvalSplit;

/// Columns of the row labels (`9 `).
const LABEL: u16 = 2;
/// Rows of the panel: borders, a header and one row per class.
pub const HEIGHT: u16 = CLASSES as u16 + 3;

/// The widths of a cell and of the accuracy column that fit `inner` columns.
fn widths(inner: u16) -> (u16, u16) {
    if inner >= LABEL + 10 * 5 + 7 {
        (5, 7)
    } else if inner >= LABEL + 10 * 4 + 5 {
        (4, 5)
    } else {
        (3, 5)
    }
}

/// Columns the panel needs at its widest.
pub const WIDE: u16 = LABEL + 10 * 5 + 7 + 2;

/// Draws the panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let look = app.look();
    // A run without a validation split chose by its test set: the title says so only when
    // there are two sets to tell apart.
    let set = match app.choosing() {
        EvalSplit::Test => String::new(),
        _ => format!("{}, ", app.digits().set().name()),
    };
    // A watched run's matrix is its checkpoint's: the title names it.
    let title = look.confusion().map_or(" confusion matrix ".into(), |c| {
        let of = look
            .checkpoint()
            .unwrap_or_else(|| format!("step {}", c.step()));
        format!(" confusion matrix, {set}{of} ")
    });
    let block = Block::bordered()
        .title(Span::styled(title, theme::title()))
        .title_bottom(Line::from(vec![
            Span::styled(" ←↑↓→ ", theme::key()),
            Span::styled("cell ", theme::dim()),
            Span::styled("n N ", theme::key()),
            Span::styled("its digits ", theme::dim()),
        ]));
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(confusion) = look.confusion() else {
        let when = if app.read_only().is_some() {
            "It fills in after the run's first evaluation."
        } else {
            "It fills in after the first evaluation (t evaluates now)."
        };
        Paragraph::new(format!("rows: true digit, columns: predicted. {when}"))
            .style(theme::dim())
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    };
    let (cell, acc) = widths(inner.width);
    let mut head = " ".repeat(usize::from(LABEL));
    for predicted in 0..CLASSES {
        head.push_str(&format!("{predicted:>w$}", w = usize::from(cell)));
    }
    head.push_str(&format!("{:>w$}", "acc", w = usize::from(acc)));
    let mut lines = vec![Line::styled(head, theme::dim())];
    for truth in 0..CLASSES {
        lines.push(row(confusion, truth, look.cell(), cell, acc));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// One row: the true class, its cells, its accuracy.
fn row(
    confusion: &Confusion,
    truth: usize,
    selected: (usize, usize),
    cell: u16,
    acc: u16,
) -> Line<'static> {
    let max = confusion.max_count().max(1) as f32;
    let mut spans = vec![Span::styled(format!("{truth} "), theme::dim())];
    for predicted in 0..CLASSES {
        let count = confusion.count(truth, predicted);
        let text = format!("{:>w$}", count_label(count, cell), w = usize::from(cell));
        // Shade by the square root of the count, so a handful of mistakes still shows.
        let level = (count as f32 / max).sqrt();
        let mut style = Style::new().bg(pixels::grey(level * 0.6));
        style = style.fg(if truth == predicted {
            Color::Green
        } else if count > 0 {
            Color::Red
        } else {
            Color::DarkGray
        });
        if selected == (truth, predicted) {
            style = theme::selected();
        }
        spans.push(Span::styled(text, style));
    }
    let accuracy = confusion.class_accuracy(truth) * 100.0;
    let text = if acc >= 7 {
        format!("{accuracy:>6.1}%")
    } else {
        format!("{:>4.0}%", accuracy.floor())
    };
    spans.push(Span::styled(text, theme::dim()));
    Line::from(spans)
}

/// A count as it fits a cell `width` wide (with its leading space).
fn count_label(count: usize, width: u16) -> String {
    if count >= 1000 && width <= 4 {
        format!("{}k", count / 1000)
    } else {
        count.to_string()
    }
}

/// The cell (true class, predicted class) under column `x`, row `y` of a panel drawn at
/// `area`.
pub fn cell_at(area: Rect, x: u16, y: u16) -> Option<(usize, usize)> {
    let inner = Block::bordered().inner(area);
    let (cell, _) = widths(inner.width);
    let row = y.checked_sub(inner.y + 1)?;
    let column = x.checked_sub(inner.x + LABEL)? / cell;
    (usize::from(row) < CLASSES && usize::from(column) < CLASSES)
        .then_some((usize::from(row), usize::from(column)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_narrow_with_the_screen_and_big_counts_shorten() {
        assert_eq!(widths(59), (5, 7));
        assert_eq!(widths(50), (4, 5));
        assert_eq!(widths(40), (3, 5));
        assert_eq!(count_label(1135, 3), "1k");
        assert_eq!(count_label(1135, 5), "1135");
        assert_eq!(count_label(7, 3), "7");
    }

    #[test]
    fn clicks_map_to_the_cell_under_them() {
        let area = Rect::new(0, 0, WIDE, HEIGHT);
        // Border 1, header 1: class rows start at y = 2; labels take 2 columns after the border.
        assert_eq!(cell_at(area, 3, 2), Some((0, 0)));
        assert_eq!(cell_at(area, 3 + 5 * 7, 2 + 4), Some((4, 7)));
        assert_eq!(cell_at(area, 3 + 5 * 9 + 4, 11), Some((9, 9)));
        assert_eq!(cell_at(area, 3 + 5 * 10, 5), None, "the accuracy column");
        assert_eq!(cell_at(area, 3, 1), None, "the header");
        assert_eq!(cell_at(area, 1, 5), None, "the labels");
    }
}
