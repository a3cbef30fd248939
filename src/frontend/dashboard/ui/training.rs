//! Page 1, Training: the charts and the live settings on the left, the digit viewer and the
//! event log on the right.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};

use super::{charts, compare, controls, digit, log};
use crate::frontend::dashboard::app::{App, Setting};

/// Rows of the controls panel: its borders, one row per live setting and two of key hints.
const CONTROLS_ROWS: u16 = Setting::ALL.len() as u16 + 4;
/// Narrowest digit column: border, 28 image columns, a gap and 12 columns of bars.
pub const DIGIT_MIN_WIDTH: u16 = digit::WIDTH_WITHOUT_BARS + 12;
/// Widest digit column.
pub const DIGIT_MAX_WIDTH: u16 = 64;

/// The digit column's width on a screen `width` columns wide.
pub fn digit_width(width: u16) -> u16 {
    (width * 2 / 5).clamp(DIGIT_MIN_WIDTH, DIGIT_MAX_WIDTH)
}

/// Draws the page into `body`.
pub fn render(app: &App, body: Rect, buf: &mut Buffer) {
    let [left, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(digit_width(body.width)),
    ])
    .areas(body);
    let [charts_area, controls_area] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(CONTROLS_ROWS)]).areas(left);
    let [digit_area, compare_area, log_area] = Layout::vertical([
        Constraint::Length(digit::HEIGHT),
        Constraint::Length(compare::height(app)),
        Constraint::Fill(1),
    ])
    .areas(right);
    charts::render(app, charts_area, buf);
    controls::render(app, controls_area, buf);
    digit::render(app, digit_area, buf);
    log::render(app, log_area, buf);
    if compare_area.height > 0 {
        compare::render(app, compare_area, buf);
    }
}
