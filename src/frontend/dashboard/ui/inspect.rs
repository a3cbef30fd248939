//! Page 2, Inspect: what the network has learnt.
//!
//! ```text
//! ┌ confusion matrix, step N ─────────┐┌ test digit (cell browser) ┐
//! │ rows true, columns predicted, acc ││ image, occlusion overlay  │
//! └───────────────────────────────────┘└───────────────────────────┘
//! ┌ activations of the shown digit ───┐┌ conv1 filters ────────────┐
//! │ conv1 or conv2 feature maps       ││ 32 signed 5x5 tiles       │
//! └───────────────────────────────────┘└───────────────────────────┘
//! ```
//! On small screens the tile panels show as many tiles as fit and say how many. With `g`, the
//! worst-loss gallery ([`gallery`]) takes the left column in place of the matrix and the
//! activations.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::pixels::Shade;
use super::tiles::{self, TileSet};
use super::{confusion, digit, gallery, theme, training};
use crate::frontend::dashboard::app::{ActivationLayer, App};
use crate::model::probe::{CONV1_MAP_SIDE, CONV2_MAP_SIDE};
use crate::model::KERNEL;

/// The page's four areas: confusion matrix, digit, activations, filters.
fn areas(body: Rect) -> [Rect; 4] {
    // The matrix gets its full width when the screen allows; the digit the rest.
    let digit_width = body
        .width
        .saturating_sub(confusion::WIDE)
        .clamp(digit::WIDTH_WITHOUT_BARS + 9, training::DIGIT_MAX_WIDTH);
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(digit_width)]).areas(body);
    let [matrix, activations] =
        Layout::vertical([Constraint::Length(confusion::HEIGHT), Constraint::Fill(1)]).areas(left);
    let [digit_area, filters] =
        Layout::vertical([Constraint::Length(digit::HEIGHT), Constraint::Fill(1)]).areas(right);
    [matrix, digit_area, activations, filters]
}

/// Draws the page into `body`.
pub fn render(app: &App, body: Rect, buf: &mut Buffer) {
    let [matrix, digit_area, activations, filters] = areas(body);
    if app.gallery_shown() {
        gallery::render(app, matrix.union(activations), buf);
    } else {
        confusion::render(app, matrix, buf);
        render_activations(app, activations, buf);
    }
    digit::render(app, digit_area, buf);
    render_filters(app, filters, buf);
}

/// The confusion cell under (`x`, `y`), if the pointer is on the matrix.
pub fn cell_at(body: Rect, x: u16, y: u16) -> Option<(usize, usize)> {
    let [matrix, ..] = areas(body);
    matrix
        .contains((x, y).into())
        .then(|| confusion::cell_at(matrix, x, y))
        .flatten()
}

/// The gallery's panel: the left column.
fn gallery_area(body: Rect) -> Rect {
    let [matrix, _, activations, _] = areas(body);
    matrix.union(activations)
}

/// The place in the worst-loss ranking of the gallery tile under (`x`, `y`), if any.
pub fn gallery_tile_at(app: &App, body: Rect, x: u16, y: u16) -> Option<usize> {
    gallery::tile_at(app, gallery_area(body), x, y)
}

/// Tiles a row of the worst-loss gallery on a page drawn into `body`.
pub fn gallery_columns(body: Rect) -> usize {
    gallery::columns(gallery_area(body))
}

/// The shown digit's feature maps after one of the two blocks.
fn render_activations(app: &App, area: Rect, buf: &mut Buffer) {
    let layer = app.look().layer();
    let name = match layer {
        ActivationLayer::Conv1 => "conv1",
        ActivationLayer::Conv2 => "conv2",
    };
    let maps = app
        .shown_digit()
        .and_then(|view| app.look().digit(view.reference()))
        .and_then(|insight| insight.activations.as_ref());
    let Some(maps) = maps else {
        let block = panel(format!(" {name} activations "), "a", "conv1 / conv2");
        let text = "the shown digit's feature maps appear once the weights arrive";
        return render_waiting(block, text, area, buf);
    };
    let (values, side) = match layer {
        ActivationLayer::Conv1 => (&maps.conv1, CONV1_MAP_SIDE),
        ActivationLayer::Conv2 => (&maps.conv2, CONV2_MAP_SIDE),
    };
    let max = values.iter().copied().fold(0.0f32, f32::max);
    let set = TileSet {
        values,
        side,
        shade: Shade::Grey { max },
    };
    render_tiles(
        &set,
        format!(" {name} activations, 0 to {max:.2} "),
        ("a", "conv1 / conv2"),
        area,
        buf,
    );
}

/// The first layer's 32 filters.
fn render_filters(app: &App, area: Rect, buf: &mut Buffer) {
    let Some(filters) = app.look().filters() else {
        let block = panel(" conv1 filters ".into(), "", "");
        let text = "the first layer's 5x5 filters appear once the weights arrive";
        return render_waiting(block, text, area, buf);
    };
    let max = filters.weights.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let set = TileSet {
        values: &filters.weights,
        side: KERNEL,
        shade: Shade::Signed { max },
    };
    let title = format!(
        " conv1 filters @{}: red −, blue +, ±{max:.2} ",
        filters.step
    );
    render_tiles(&set, title, ("", ""), area, buf);
}

/// A bordered panel of tiles that says how many of them fit.
fn render_tiles(set: &TileSet, title: String, key: (&str, &str), area: Rect, buf: &mut Buffer) {
    let block = panel(title, key.0, key.1);
    let inner = block.inner(area);
    block.render(area, buf);
    let shown = tiles::render(set, inner, buf);
    if shown == 0 {
        placeholder("a taller terminal shows these tiles", inner, buf);
    } else if shown < set.count() {
        let note = format!(" {shown} of {} shown, enlarge for all ", set.count());
        let y = area.y + area.height.saturating_sub(1);
        let x = area.x + 1;
        if area.height > 1 {
            Line::from(Span::styled(note, theme::dim()))
                .render(Rect::new(x, y, area.width.saturating_sub(2), 1), buf);
        }
    }
}

/// An empty panel saying what will fill it.
fn render_waiting(block: Block, text: &str, area: Rect, buf: &mut Buffer) {
    let inner = block.inner(area);
    block.render(area, buf);
    placeholder(text, inner, buf);
}

fn panel(title: String, key: &str, help: &str) -> Block<'static> {
    let mut block = Block::bordered().title(Span::styled(title, theme::title()));
    if !key.is_empty() {
        block = block.title_bottom(Line::from(vec![
            Span::styled(format!(" {key} "), theme::key()),
            Span::styled(format!("{help} "), theme::dim()),
        ]));
    }
    block
}

fn placeholder(text: &str, area: Rect, buf: &mut Buffer) {
    Paragraph::new(text)
        .style(theme::dim())
        .wrap(Wrap { trim: true })
        .render(area, buf);
}
