//! The Sweep page: what the sweep searches, how its trials stand, then the trials in a table
//! (the best marked ★, the overlaid ones [x] in their chart colour, the one the other pages
//! show (●)), and every setting of the trial under the cursor.
//!
//! ```text
//! ┌ sweep runs/sweep-20261206 ─────────────────────────────────────────────────┐
//! │ random · 8 trials of 2 epochs · ASHA eta 3 · images: 41% of full budgets     │
//! │ 3 finished · 2 running · 3 stopped early                                     │
//! │ ★ best trial-003 · (●) pages 1-4 show trial-003 · by validation accuracy     │
//! │         trial     status   rung validation  images learning_rate batch_size │
//! │ ▶ [x] ★ trial-003 finished    2     98.12% 128,000        1.2e-3         64 │
//! │ trial-003: batch_size=64 dropout=0.31 learning_rate=1.2e-3 · test 98.40%    │
//! └ ↑↓ select · space overlay on page 1 · s sort · backspace clear ────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::sweep_table::{Columns, RowMark};
use super::{format, theme};
use crate::frontend::dashboard::app::{App, SweepView};
use crate::sweep::value::{settings_line, short_number};
use crate::sweep::{SweepBoard, TrialStatus};

/// Rows above the table: what is searched, how the trials stand, the marks and the order.
const SUMMARY_ROWS: u16 = 3;
/// Rows under the table: the trial under the cursor.
const DETAIL_ROWS: u16 = 2;

/// The page's parts inside its border: summary, table header, table rows, detail.
fn areas(body: Rect) -> [Rect; 4] {
    let inner = Block::bordered().inner(body);
    Layout::vertical([
        Constraint::Length(SUMMARY_ROWS),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(DETAIL_ROWS),
    ])
    .areas(inner)
}

/// The first row shown of `rows` trials in `visible` lines, the cursor's row kept in view.
fn first_shown(cursor: Option<usize>, visible: usize) -> usize {
    cursor
        .unwrap_or(0)
        .saturating_sub(visible.saturating_sub(1))
}

/// Draws the page.
pub fn render(app: &App, body: Rect, buf: &mut Buffer) {
    let Some(view) = app.sweep() else {
        return;
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " sweep {} ",
                format::shown(&view.dir().display().to_string())
            ),
            theme::title(),
        ))
        .title_bottom(Line::from(vec![
            Span::styled(" ↑↓ ", theme::key()),
            Span::styled("select ", theme::dim()),
            Span::styled("space ", theme::key()),
            Span::styled("overlay on page 1 ", theme::dim()),
            Span::styled("s ", theme::key()),
            Span::styled("sort ", theme::dim()),
            Span::styled("⌫ ", theme::key()),
            Span::styled("clear ", theme::dim()),
        ]));
    block.render(body, buf);
    let [summary, header, rows, detail] = areas(body);
    let Some(board) = view.board() else {
        let text = match view.error() {
            Some(message) => Line::styled(
                format!("cannot read the sweep: {}", format::shown(message)),
                theme::bad(),
            ),
            None => Line::styled("reading the sweep's folder", theme::dim()),
        };
        Paragraph::new(text).render(summary, buf);
        return;
    };
    let columns = Columns::fit(board, usize::from(rows.width));
    Paragraph::new(summary_lines(view, board)).render(summary, buf);
    if board.trials.is_empty() {
        let text = "no trial recorded yet: they appear as the sweep plans and starts them";
        Paragraph::new(Line::styled(text, theme::dim())).render(rows, buf);
        return;
    }
    columns.header().render(header, buf);
    let visible = usize::from(rows.height.max(1));
    let ordered = view.rows();
    let first = first_shown(view.cursor_index(), visible);
    let lines: Vec<Line> = ordered
        .iter()
        .skip(first)
        .take(visible)
        .map(|row| columns.row(row, RowMark::of(app, row)))
        .collect();
    Paragraph::new(lines).render(rows, buf);
    Paragraph::new(detail_lines(view))
        .wrap(Wrap { trim: false })
        .render(detail, buf);
}

/// The three lines over the table: the search, how its trials stand, the marks and order.
fn summary_lines(view: &SweepView, board: &SweepBoard) -> Vec<Line<'static>> {
    let spec = &board.spec;
    let mut what = format!(
        "{} · {} trials of {} {}",
        spec.method.name(),
        spec.trials,
        short_number(spec.budget.amount()),
        spec.budget.unit()
    );
    if let Some(asha) = &spec.asha {
        what.push_str(&format!(" · ASHA eta {}", asha.eta));
    }
    let full = board.full_budget_images();
    if full > 0 {
        let share = board.images_trained() as f64 / full as f64;
        what.push_str(&format!(
            " · images: {} of full budgets",
            format::percent(share, 0)
        ));
    }
    let standing: Vec<String> = view
        .counts()
        .into_iter()
        .map(|(label, n)| format!("{n} {label}"))
        .collect();
    let best = view
        .best()
        .and_then(|b| board.trials.iter().find(|t| t.trial == b));
    let mut marks = vec![match best {
        Some(best) => format!("★ best {}", format::shown(&best.name)),
        None => "★ no validation accuracy yet".to_string(),
    }];
    marks.push(match view.shown().and_then(|p| p.file_name()) {
        Some(name) => format!(
            "(●) pages 1-4 show {}",
            format::shown(&name.to_string_lossy())
        ),
        None => "pages 1-4 show no trial".to_string(),
    });
    marks.push(format!("by {}", view.order().label()));
    let standing = match view.error() {
        // The rows are those read before; say why they may be stale.
        Some(message) => Line::styled(
            format!("cannot read the sweep now: {}", format::shown(message)),
            theme::bad(),
        ),
        None => Line::raw(standing.join(" · ")),
    };
    vec![
        Line::raw(what),
        standing,
        Line::styled(marks.join(" · "), theme::dim()),
    ]
}

/// The trial under the cursor: every setting, then what is known of its end.
fn detail_lines(view: &SweepView) -> Vec<Line<'static>> {
    let Some(row) = view.cursor_row() else {
        return Vec::new();
    };
    let mut parts = vec![format!(
        "{}: {}",
        format::shown(&row.name),
        format::shown(&settings_line(&row.settings))
    )];
    parts.push(format!("{} steps", format::count(row.steps)));
    if let Some(test) = row.test_accuracy.filter(|a| a.is_finite()) {
        parts.push(format!("test {}", format::percent(test, 2)));
    }
    if let Some(seconds) = row.seconds {
        parts.push(format!("{seconds:.0} s"));
    }
    let mut lines = vec![Line::raw(parts.join(" · "))];
    match &row.status {
        TrialStatus::Failed { message } => lines.push(Line::styled(
            format!("failed: {}", format::shown(message)),
            theme::bad(),
        )),
        TrialStatus::Interrupted => lines.push(Line::styled(
            "no process trains it: `digitdash sweep --resume` goes on from its checkpoint",
            theme::dim(),
        )),
        _ => {}
    }
    lines
}

/// The trial whose row is at screen cell (`x`, `y`) of a Sweep page drawn over `body`.
pub fn trial_at(app: &App, body: Rect, x: u16, y: u16) -> Option<usize> {
    let view = app.sweep()?;
    let [_, _, rows, _] = areas(body);
    if !(rows.x..rows.x + rows.width).contains(&x) || !(rows.y..rows.y + rows.height).contains(&y) {
        return None;
    }
    let first = first_shown(view.cursor_index(), usize::from(rows.height.max(1)));
    let index = first + usize::from(y - rows.y);
    view.rows().get(index).map(|row| row.trial)
}
