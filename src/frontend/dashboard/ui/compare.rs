//! The compared runs beside the charts: each run's colour and name, and the settings in which
//! it differs from this run (theirs → ours).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::charts::colour_of;
use super::{format, theme};
use crate::frontend::dashboard::app::App;

/// Differences listed per run at most.
const MAX_DIFFERENCES: usize = 3;

/// Rows the panel wants for `app`'s compared runs (0 without any).
pub fn height(app: &App) -> u16 {
    if app.compared().is_empty() {
        return 0;
    }
    let rows: usize = app
        .compared()
        .iter()
        .map(|run| 1 + run.differences(app.config()).len().min(MAX_DIFFERENCES))
        .sum();
    rows as u16 + 2
}

/// Draws the panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered().title(Span::styled(" compared runs ", theme::title()));
    let mut lines = Vec::new();
    for run in app.compared() {
        let colour = colour_of(run);
        lines.push(Line::from(vec![
            Span::styled("━━ ", Style::new().fg(colour)),
            Span::raw(format::shown(&run.name)),
        ]));
        let differences = run.differences(app.config());
        if differences.is_empty() {
            lines.push(Line::styled("   same settings", theme::dim()));
        }
        for (key, theirs, ours) in differences.into_iter().take(MAX_DIFFERENCES) {
            lines.push(Line::styled(
                format!("   {key} {theirs} → {ours}"),
                theme::dim(),
            ));
        }
    }
    Paragraph::new(lines).block(block).render(area, buf);
}
