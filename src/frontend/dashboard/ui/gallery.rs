//! The worst-loss gallery (fastai's "top losses"), drawn in place of the confusion matrix and
//! the activations: the shown set's images with the highest loss, worst first, as a grid of
//! small images, each captioned `true→predicted probability`. The selected one is shown, with
//! its occlusion map, in the digit viewer beside it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::{pixels, theme};
use crate::data::{Split, IMAGE_SIDE};
use crate::frontend::dashboard::app::{App, Ranked};
use crate::run::record::EvalSplit;

/// Tiles the larger images must show at least to be chosen over the smaller ones.
const LARGE_ENOUGH: usize = 9;
/// Columns of a caption (`7→2 61%`).
const CAPTION: usize = 7;

/// How the grid is laid out in a panel's inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileGrid {
    /// Pixels on a side of each image (the 28 averaged down to 14 or 7).
    pub side: usize,
    /// Tiles a row.
    pub columns: usize,
    /// Rows of tiles.
    pub rows: usize,
}

impl TileGrid {
    /// The grid for an inside `width` x `height` cells: images 14 pixels a side when at least
    /// [`LARGE_ENOUGH`] of them fit, else 7.
    pub fn fitting(width: u16, height: u16) -> Self {
        let with = |side: usize| {
            let tile_width = side.max(CAPTION) + 1;
            let tile_height = side.div_ceil(2) + 1;
            TileGrid {
                side,
                columns: (usize::from(width) + 1) / tile_width,
                rows: usize::from(height) / tile_height,
            }
        };
        let large = with(IMAGE_SIDE / 2);
        if large.shown() >= LARGE_ENOUGH {
            large
        } else {
            with(IMAGE_SIDE / 4)
        }
    }

    /// Tiles shown at once.
    pub fn shown(&self) -> usize {
        self.columns * self.rows
    }

    /// Cells a tile takes, gap included: (columns, rows).
    fn tile_size(&self) -> (u16, u16) {
        (
            (self.side.max(CAPTION) + 1) as u16,
            (self.side.div_ceil(2) + 1) as u16,
        )
    }

    /// The place in the ranking of the first tile shown while `selected` is selected: the
    /// grid pages through the ranking.
    fn first(&self, selected: usize) -> usize {
        let shown = self.shown().max(1);
        selected / shown * shown
    }
}

/// The bordered panel around the grid.
fn panel(app: &App) -> Block<'static> {
    let gallery = app.look().gallery();
    let set = match app.choosing() {
        EvalSplit::Test => String::new(),
        _ => format!("{}, ", app.digits().set().name()),
    };
    let title = gallery.step().map_or(" worst losses ".into(), |step| {
        format!(" worst losses, {set}step {step} ")
    });
    Block::bordered()
        .title(Span::styled(title, theme::title()))
        .title_bottom(Line::from(vec![
            Span::styled(" ←↑↓→ ", theme::key()),
            Span::styled("pick ", theme::dim()),
            Span::styled("g ", theme::key()),
            Span::styled("matrix ", theme::dim()),
        ]))
}

/// Tiles a row of the grid in a panel drawn at `area`.
pub fn columns(area: Rect) -> usize {
    let inner = Block::bordered().inner(area);
    TileGrid::fitting(inner.width, inner.height).columns
}

/// Draws the panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let block = panel(app);
    let inner = block.inner(area);
    let gallery = app.look().gallery();
    let ranking = gallery.ranking();
    let grid = TileGrid::fitting(inner.width, inner.height);
    let first = grid.first(gallery.selected());
    let last = (first + grid.shown()).min(ranking.len());
    let block = if ranking.is_empty() {
        block
    } else {
        block.title_top(
            Line::from(Span::styled(
                format!(" {}–{last} of {} ", first + 1, ranking.len()),
                theme::dim(),
            ))
            .right_aligned(),
        )
    };
    block.render(area, buf);
    let Some(images) = app.digits().images().filter(|_| !ranking.is_empty()) else {
        let text = "The images of the shown set with the highest loss, worst first: they are \
                    ranked at its next evaluation.";
        Paragraph::new(text)
            .style(theme::dim())
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    };
    if grid.shown() == 0 {
        Paragraph::new("a larger terminal shows the worst images")
            .style(theme::dim())
            .render(inner, buf);
        return;
    }
    let (tile_width, tile_height) = grid.tile_size();
    for (slot, ranked) in ranking[first..last].iter().enumerate() {
        let x = inner.x + (slot % grid.columns) as u16 * tile_width;
        let y = inner.y + (slot / grid.columns) as u16 * tile_height;
        let tile = Rect::new(x, y, tile_width - 1, tile_height).intersection(inner);
        let selected = first + slot == gallery.selected();
        render_tile(images, ranked, grid.side, selected, tile, buf);
    }
}

/// One image, shrunk to `side` pixels, over its caption.
fn render_tile(
    images: &Split,
    ranked: &Ranked,
    side: usize,
    selected: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    if ranked.index >= images.len() {
        return;
    }
    let values: Vec<f32> = images
        .image(ranked.index)
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    let small = pixels::shrink(&values, IMAGE_SIDE, IMAGE_SIDE / side);
    pixels::paint(&small, side, area, buf, |_, v| pixels::grey(v));
    let style = if selected {
        theme::selected()
    } else if ranked.label == ranked.predicted {
        theme::good()
    } else {
        theme::bad()
    };
    let caption = format!(
        "{}→{} {:>2.0}%",
        ranked.label,
        ranked.predicted,
        (ranked.probability * 100.0).min(99.0)
    );
    let row = area.y + side.div_ceil(2) as u16;
    if row < area.y + area.height {
        Line::from(Span::styled(caption, style)).render(Rect::new(area.x, row, area.width, 1), buf);
    }
}

/// The place in the ranking of the tile under (`x`, `y`) of a panel drawn at `area`.
pub fn tile_at(app: &App, area: Rect, x: u16, y: u16) -> Option<usize> {
    let inner = Block::bordered().inner(area);
    if !inner.contains((x, y).into()) {
        return None;
    }
    let grid = TileGrid::fitting(inner.width, inner.height);
    let (tile_width, tile_height) = grid.tile_size();
    let column = usize::from((x - inner.x) / tile_width);
    let row = usize::from((y - inner.y) / tile_height);
    if column >= grid.columns || row >= grid.rows {
        return None;
    }
    let gallery = app.look().gallery();
    let position = grid.first(gallery.selected()) + row * grid.columns + column;
    (position < gallery.ranking().len()).then_some(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn larger_images_when_enough_of_them_fit() {
        // 57x33: 3 tiles of 14+1 columns a row, 4 rows of 7+1: 12 large tiles.
        assert_eq!(
            TileGrid::fitting(57, 33),
            TileGrid {
                side: 14,
                columns: 3,
                rows: 4
            }
        );
        // 36x18: 2x2 large ones are too few; 4 of 7+1 columns a row, 3 rows of 4+1.
        assert_eq!(
            TileGrid::fitting(36, 18),
            TileGrid {
                side: 7,
                columns: 4,
                rows: 3
            }
        );
        assert_eq!(TileGrid::fitting(5, 3).shown(), 0);
    }

    #[test]
    fn the_grid_pages_through_the_ranking() {
        let grid = TileGrid::fitting(36, 18);
        assert_eq!(grid.first(0), 0);
        assert_eq!(grid.first(11), 0);
        assert_eq!(grid.first(12), 12);
        assert_eq!(grid.first(30), 24);
    }
}
