//! Drawing the dashboard: one file per panel, each a `render(app, area, buf)` that only reads
//! the [`App`]. Nothing here reads the clock, so equal states draw equal screens.
//!
//! Every page shares the frame (at the minimum size of 80x24; larger screens give the panels
//! more room):
//!
//! ```text
//! ┌────────────────────────────────────────────────────────────────────────────┐
//! │ digitdash  1 Training  2 Inspect  3 Draw  4 Layers            tab bar 1 row│
//! │ STATE  step N / TOTAL · epoch · elapsed · ETA · img/s            status  │ 2 rows
//! │ lr · batch ·  [progress gauge..........................................]  │
//! ├────────────────────────────────────────────────────────────────────────────┤
//! │ the page: [training] charts, controls, digit, log; [inspect] confusion   │
//! │ matrix, digit with occlusion, activations, filters; [draw] pad, the      │
//! │ network's view, its answer; [layers] update ratios, dead ReLUs, weights; │
//! │ [sweep] a sweep's trials ranked, chosen ones overlaid on the charts      │
//! ├────────────────────────────────────────────────────────────────────────────┤
//! │ footer: key hints, or the answer to the last key                           │ 1 row
//! └────────────────────────────────────────────────────────────────────────────┘
//! ```
//! Overlays (help, questions, the run picker) are drawn over the middle. Below 80x24, [`too_small`] says so.
//! [`hit`] tells the frame loop what a mouse event at a screen cell is over.

pub mod charts;
pub mod checkpoints;
pub mod compare;
pub mod confusion;
pub mod controls;
pub mod dialog;
pub mod digit;
pub mod distributions;
pub mod draw;
pub mod footer;
pub mod format;
pub mod gallery;
pub mod help;
pub mod inspect;
pub mod layers;
pub mod log;
pub mod picker;
pub mod pixels;
pub mod status;
pub mod sweep;
pub mod sweep_table;
pub mod tabs;
pub mod theme;
pub mod tiles;
pub mod too_small;
pub mod training;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::Frame;

use crate::frontend::dashboard::app::{App, Hit, Overlay, Page};

/// Narrowest terminal the layout fits.
pub const MIN_WIDTH: u16 = 80;
/// Shortest terminal the layout fits.
pub const MIN_HEIGHT: u16 = 24;
/// Rows of the status bar.
const STATUS_ROWS: u16 = 2;

/// Draws the whole dashboard into the frame.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

/// The tab bar, status bar, page body and footer of a screen.
fn frame_areas(area: Rect) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(STATUS_ROWS),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Draws the whole dashboard into `buf` over `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small::render(app, area, buf);
        return;
    }
    let [tabs_area, status_area, body, footer_area] = frame_areas(area);
    tabs::render(app, tabs_area, buf);
    status::render(app, status_area, buf);
    match app.page() {
        Page::Training => training::render(app, body, buf),
        Page::Inspect => inspect::render(app, body, buf),
        Page::Draw => draw::render(app, body, buf),
        Page::Layers => layers::render(app, body, buf),
        Page::Sweep => sweep::render(app, body, buf),
    }
    footer::render(app, footer_area, buf);
    render_overlay(app, area, body, buf);
}

/// What the screen cell (`x`, `y`) of a dashboard drawn over `area` is, for the mouse: a tab,
/// a confusion-matrix cell or a gallery tile on the Inspect page, a point of the pad on the
/// Draw page, or a trial's row on the Sweep page.
pub fn hit(app: &App, area: Rect, x: u16, y: u16) -> Option<Hit> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let [tabs_area, _, body, _] = frame_areas(area);
    if y == tabs_area.y {
        return tabs::tab_at(&app.pages(), tabs_area, x).map(Hit::Tab);
    }
    match app.page() {
        Page::Training | Page::Layers => None,
        Page::Inspect if app.gallery_shown() => {
            inspect::gallery_tile_at(app, body, x, y).map(Hit::GalleryTile)
        }
        Page::Inspect => inspect::cell_at(body, x, y).map(|(t, p)| Hit::Cell(t, p)),
        Page::Draw => draw::canvas_point(body, x, y).map(|(px, py)| Hit::Canvas(px, py)),
        Page::Sweep => sweep::trial_at(app, body, x, y).map(Hit::Trial),
    }
}

/// Tiles a row of the Inspect page's worst-loss gallery on a dashboard drawn over `area`.
pub fn gallery_columns(area: Rect) -> usize {
    let [_, _, body, _] = frame_areas(area);
    inspect::gallery_columns(body)
}

/// Draws the open overlay, if any: help over the whole `screen`, questions over the `body`.
fn render_overlay(app: &App, screen: Rect, body: Rect, buf: &mut Buffer) {
    match app.overlay() {
        Overlay::Help => {
            let keys = help::HelpFor {
                acting: app.read_only().is_none(),
                sweeping: app.sweep().is_some(),
            };
            help::render(app.page(), keys, screen, buf);
        }
        Overlay::Confirm(question) => {
            dialog::render(*question, &app.question_text(*question), body, buf);
        }
        Overlay::Runs(picker) => picker::render(picker, body, buf),
        Overlay::Checkpoints(picker) => checkpoints::render(picker, body, buf),
        Overlay::None | Overlay::Edit(_) => {}
    }
}

#[cfg(test)]
mod tests;
