//! A grid of small images (filters, feature maps), as many as fit, each shrunk by the least
//! factor that lets them all fit, or shown at the smallest size when even that is too many.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::pixels::{paint, shrink, Shade};

/// Maps to draw: `count` square maps of `side` pixels, one after another in `values`.
#[derive(Debug, Clone, Copy)]
pub struct TileSet<'a> {
    /// The maps' values.
    pub values: &'a [f32],
    /// Pixels on a side of each map.
    pub side: usize,
    /// How values become colours.
    pub shade: Shade,
}

impl TileSet<'_> {
    /// How many maps there are.
    pub fn count(&self) -> usize {
        self.values.len() / (self.side * self.side).max(1)
    }
}

/// The layout of a grid: shrink factor, tiles per row, rows of tiles and tiles shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// Each map is averaged down by this factor.
    pub factor: usize,
    /// Tiles per row.
    pub columns: usize,
    /// Rows of tiles.
    pub rows: usize,
    /// Tiles drawn (the first ones).
    pub shown: usize,
}

/// The grid for `count` maps of `side` pixels in `width` x `height` cells: the smallest shrink
/// factor (dividing `side`, down to at most 4 pixels a side) that shows every map, else the
/// one that shows the most. Tiles are one column apart; rows of tiles touch (an odd number of
/// pixel rows leaves half a cell empty below each tile).
pub fn grid(count: usize, side: usize, width: u16, height: u16) -> Grid {
    let factors: Vec<usize> = (1..=side)
        .filter(|&f| side.is_multiple_of(f) && side / f >= 4)
        .collect();
    let layout = |factor: usize| {
        let small = side / factor;
        let columns = (usize::from(width) + 1) / (small + 1);
        let rows = usize::from(height) / small.div_ceil(2);
        Grid {
            factor,
            columns,
            rows,
            shown: (columns * rows).min(count),
        }
    };
    let candidates: Vec<Grid> = factors.iter().map(|&f| layout(f)).collect();
    candidates
        .iter()
        .find(|g| g.shown == count)
        .or_else(|| {
            candidates
                .iter()
                .max_by_key(|g| (g.shown, usize::MAX - g.factor))
        })
        .copied()
        .unwrap_or(Grid {
            factor: 1,
            columns: 0,
            rows: 0,
            shown: 0,
        })
}

/// Draws the tiles into `area`; returns how many were drawn.
pub fn render(tiles: &TileSet, area: Rect, buf: &mut Buffer) -> usize {
    let count = tiles.count();
    let g = grid(count, tiles.side, area.width, area.height);
    let small = tiles.side / g.factor;
    let (tile_w, tile_h) = (small as u16, small.div_ceil(2) as u16);
    let plane = tiles.side * tiles.side;
    for i in 0..g.shown {
        let map = &tiles.values[i * plane..(i + 1) * plane];
        let pixels = shrink(map, tiles.side, g.factor);
        let x = area.x + (i % g.columns) as u16 * (tile_w + 1);
        let y = area.y + (i / g.columns) as u16 * tile_h;
        let cell = Rect::new(x, y, tile_w, tile_h).intersection(area);
        paint(&pixels, small, cell, buf, |_, v| tiles.shade.color(v));
    }
    g.shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_shrink_only_as_far_as_needed_to_show_them_all() {
        // 32 maps of 14x14 in 70x23 cells: at full size 4 a row, 3 rows (12); at 7x7 (tiles
        // 7x4 and a gap) 8 a row, 5 rows: all 32.
        assert_eq!(
            grid(32, 14, 70, 23),
            Grid {
                factor: 2,
                columns: 8,
                rows: 5,
                shown: 32
            }
        );
        // Room for every map at full size: no shrinking.
        assert_eq!(grid(4, 14, 40, 20).factor, 1);
        // Too little room: the most that fit, at the smallest size allowed (7x7 here).
        let tight = grid(64, 7, 20, 4);
        assert_eq!(
            (tight.factor, tight.columns, tight.rows, tight.shown),
            (1, 2, 1, 2)
        );
        // 5x5 filters never shrink below 4 pixels a side: factor 1 only.
        assert_eq!(grid(32, 5, 35, 8).factor, 1);
        assert_eq!(grid(32, 5, 35, 8).shown, 12);
        assert_eq!(grid(32, 5, 3, 3).shown, 0);
    }

    #[test]
    fn rendering_draws_the_tiles_it_counts() {
        let values = vec![1.0f32; 3 * 25];
        let tiles = TileSet {
            values: &values,
            side: 5,
            shade: Shade::Grey { max: 1.0 },
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 17, 3));
        assert_eq!(render(&tiles, buf.area, &mut buf), 3);
        assert_eq!(buf[(0, 0)].symbol(), "▀");
        assert_eq!(buf[(5, 0)].symbol(), " ", "a gap between tiles");
        assert_eq!(buf[(12, 2)].symbol(), "▀");
    }
}
