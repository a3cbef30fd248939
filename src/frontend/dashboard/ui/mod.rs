//! Drawing the dashboard: one file per panel, each a `render(app, area, buf)` that only reads
//! the [`App`]. Nothing here reads the clock, so equal states draw equal screens.
//!
//! The layout, at the minimum size of 80x24 (wider and taller screens give the charts, the
//! probability bars and the log more room):
//!
//! ```text
//! ┌────────────────────────────────────────────────────────────────────────────┐
//! │ STATE  step N / TOTAL · epoch · elapsed · ETA · img/s            status  │ 2 rows
//! │ lr · batch ·  [progress gauge..........................................]  │
//! ├──────────────────────────────────┬─────────────────────────────────────────┤
//! │ charts: loss, batch accuracy,    │ digit viewer: 28x14 half-block image,  │
//! │ test accuracy (sparklines)       │ probabilities, true label, prediction  │ 16 rows
//! │                                  ├─────────────────────────────────────────┤
//! ├──────────────────────────────────┤ event log                               │
//! │ controls: live settings, actions │                                         │
//! ├──────────────────────────────────┴─────────────────────────────────────────┤
//! │ footer: key hints, or the answer to the last key                           │ 1 row
//! └────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Overlays (help, questions) are drawn over the middle. Below 80x24, [`too_small`] says so.

pub mod charts;
pub mod controls;
pub mod dialog;
pub mod digit;
pub mod footer;
pub mod format;
pub mod help;
pub mod log;
pub mod status;
pub mod theme;
pub mod too_small;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

use crate::frontend::dashboard::app::{App, Overlay, Setting};

/// Narrowest terminal the layout fits.
pub const MIN_WIDTH: u16 = 80;
/// Shortest terminal the layout fits.
pub const MIN_HEIGHT: u16 = 24;
/// Rows of the status bar.
const STATUS_ROWS: u16 = 2;
/// Rows of the controls panel: its borders, one row per live setting and two of key hints.
const CONTROLS_ROWS: u16 = Setting::ALL.len() as u16 + 4;
/// Narrowest digit column: border, 28 image columns, a gap and 12 columns of bars.
const DIGIT_MIN_WIDTH: u16 = digit::WIDTH_WITHOUT_BARS + 12;
/// Widest digit column.
const DIGIT_MAX_WIDTH: u16 = 64;

/// Draws the whole dashboard into the frame.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

/// Draws the whole dashboard into `buf` over `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small::render(app, area, buf);
        return;
    }
    let [status_area, body, footer_area] = Layout::vertical([
        Constraint::Length(STATUS_ROWS),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let digit_width = (area.width * 2 / 5).clamp(DIGIT_MIN_WIDTH, DIGIT_MAX_WIDTH);
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(digit_width)]).areas(body);
    let [charts_area, controls_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(CONTROLS_ROWS)]).areas(left);
    let [digit_area, log_area] =
        Layout::vertical([Constraint::Length(digit::HEIGHT), Constraint::Fill(1)]).areas(right);

    status::render(app, status_area, buf);
    charts::render(app, charts_area, buf);
    controls::render(app, controls_area, buf);
    digit::render(app, digit_area, buf);
    log::render(app, log_area, buf);
    footer::render(app, footer_area, buf);
    render_overlay(app, area, body, buf);
}

/// Draws the open overlay, if any: help over the whole `screen`, questions over the `body`.
fn render_overlay(app: &App, screen: Rect, body: Rect, buf: &mut Buffer) {
    match app.overlay() {
        Overlay::Help => help::render(screen, buf),
        Overlay::Confirm(question) => dialog::render(*question, body, buf),
        Overlay::None | Overlay::Edit(_) => {}
    }
}

#[cfg(test)]
mod tests;
