//! The draw pad: a 28x28 canvas drawn with a soft round brush (mouse or keyboard), and the
//! preprocessing that makes a drawing look like an MNIST digit before it is scored.
//!
//! MNIST's digits were size-normalised to fit a 20x20 box keeping their aspect ratio, then
//! placed in the 28x28 field so that their centre of mass sits at its centre. [`to_mnist`]
//! does the same to a drawing.

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};

/// Side of the box a digit is scaled to fit, as MNIST's were.
pub const DIGIT_BOX: usize = 20;
/// Radius of the brush's fully inked core, in pixels.
const BRUSH_CORE: f32 = 1.0;
/// Width of the brush's soft edge beyond the core, in pixels.
const BRUSH_EDGE: f32 = 1.0;
/// Ink below this does not count towards a drawing's bounding box.
const INK_FLOOR: f32 = 0.05;

/// What a stroke does to the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stroke {
    /// Adds ink.
    Draw,
    /// Takes ink away.
    Erase,
}

/// The drawing, the keyboard cursor and the pen.
#[derive(Debug, Clone, PartialEq)]
pub struct Canvas {
    ink: Vec<f32>,
    cursor: (usize, usize),
    pen_down: bool,
    /// Where the last mouse stroke was, to join it to the next position.
    last_point: Option<(f32, f32)>,
    /// Grows with every change, so a prediction can say which drawing it scored.
    version: u64,
    /// The drawing as MNIST would have it, kept up to date by every change.
    mnist: Vec<f32>,
}

impl Default for Canvas {
    fn default() -> Self {
        Self {
            ink: vec![0.0; IMAGE_PIXELS],
            cursor: (IMAGE_SIDE / 2, IMAGE_SIDE / 2),
            pen_down: false,
            last_point: None,
            version: 0,
            mnist: vec![0.0; IMAGE_PIXELS],
        }
    }
}

impl Canvas {
    /// The ink, row after row, 0..1.
    pub fn ink(&self) -> &[f32] {
        &self.ink
    }

    /// Whether nothing is drawn.
    pub fn is_blank(&self) -> bool {
        self.ink.iter().all(|&v| v < INK_FLOOR)
    }

    /// The keyboard cursor (column, row).
    pub fn cursor(&self) -> (usize, usize) {
        self.cursor
    }

    /// Whether moving the cursor draws.
    pub fn pen_down(&self) -> bool {
        self.pen_down
    }

    /// A number that changes with every change of the drawing.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Puts the pen down (inking the cursor's pixel) or lifts it.
    pub fn toggle_pen(&mut self) {
        self.pen_down = !self.pen_down;
        if self.pen_down {
            let (x, y) = self.cursor_point();
            self.stamp(x, y, Stroke::Draw);
            self.changed();
        }
    }

    /// Moves the cursor by (`dx`, `dy`) pixels, staying on the canvas; with the pen down the
    /// way is inked.
    pub fn move_cursor(&mut self, dx: isize, dy: isize) {
        let from = self.cursor_point();
        let clamp =
            |v: usize, d: isize| (v as isize + d).clamp(0, IMAGE_SIDE as isize - 1) as usize;
        self.cursor = (clamp(self.cursor.0, dx), clamp(self.cursor.1, dy));
        if self.pen_down {
            let to = self.cursor_point();
            self.line(from, to, Stroke::Draw);
            self.changed();
        }
    }

    /// A mouse press or drag at (`x`, `y`) in pixels: joins it to the previous point of the
    /// same stroke.
    pub fn stroke_to(&mut self, x: f32, y: f32, stroke: Stroke) {
        let to = (x, y);
        match self.last_point {
            Some(from) => self.line(from, to, stroke),
            None => self.stamp(x, y, stroke),
        }
        self.last_point = Some(to);
        self.changed();
    }

    /// Ends a mouse stroke (the button was released).
    pub fn end_stroke(&mut self) {
        self.last_point = None;
    }

    /// Wipes the drawing.
    pub fn clear(&mut self) {
        self.ink.fill(0.0);
        self.last_point = None;
        self.changed();
    }

    /// The drawing as MNIST would have it (see [`to_mnist`]), computed once per change.
    pub fn as_mnist(&self) -> &[f32] {
        &self.mnist
    }

    /// Recomputes the MNIST view after a change of the ink.
    fn changed(&mut self) {
        self.version += 1;
        self.mnist = to_mnist(&self.ink);
    }

    fn cursor_point(&self) -> (f32, f32) {
        (self.cursor.0 as f32 + 0.5, self.cursor.1 as f32 + 0.5)
    }

    /// Stamps the brush every half pixel from `from` to `to`.
    fn line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Stroke) {
        let length = ((to.0 - from.0).powi(2) + (to.1 - from.1).powi(2)).sqrt();
        let stamps = (length * 2.0).ceil().max(1.0) as usize;
        for k in 0..=stamps {
            let t = k as f32 / stamps as f32;
            self.stamp(
                from.0 + t * (to.0 - from.0),
                from.1 + t * (to.1 - from.1),
                stroke,
            );
        }
    }

    /// One dab of the soft round brush centred at (`x`, `y`) (pixel centres sit at .5).
    fn stamp(&mut self, x: f32, y: f32, stroke: Stroke) {
        let reach = BRUSH_CORE + BRUSH_EDGE;
        let rows =
            (y - reach).floor().max(0.0) as usize..((y + reach).ceil() as usize).min(IMAGE_SIDE);
        for row in rows {
            let cols = (x - reach).floor().max(0.0) as usize
                ..((x + reach).ceil() as usize).min(IMAGE_SIDE);
            for col in cols {
                let d = ((col as f32 + 0.5 - x).powi(2) + (row as f32 + 0.5 - y).powi(2)).sqrt();
                let strength = ((reach - d) / BRUSH_EDGE).clamp(0.0, 1.0);
                let pixel = &mut self.ink[row * IMAGE_SIDE + col];
                *pixel = match stroke {
                    Stroke::Draw => pixel.max(strength),
                    Stroke::Erase => pixel.min(1.0 - strength),
                };
            }
        }
    }
}

/// A 28x28 drawing as MNIST's digits were made: the bounding box of its ink scaled (area
/// averaging) to fit a 20x20 box keeping its aspect ratio, then shifted whole pixels so its
/// centre of mass lands on the centre of the 28x28 field. A blank drawing stays blank.
pub fn to_mnist(ink: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; IMAGE_PIXELS];
    let Some((left, top, width, height)) = bounding_box(ink) else {
        return out;
    };
    let scale = DIGIT_BOX as f32 / width.max(height) as f32;
    let new_width = ((width as f32 * scale).round() as usize).clamp(1, DIGIT_BOX);
    let new_height = ((height as f32 * scale).round() as usize).clamp(1, DIGIT_BOX);
    let columns = area_weights(width, new_width);
    let rows = area_weights(height, new_height);
    let mut scaled = vec![0.0f32; new_width * new_height];
    for (v, row_weights) in rows.iter().enumerate() {
        for (u, col_weights) in columns.iter().enumerate() {
            let mut sum = 0.0;
            for &(i, wy) in row_weights {
                for &(j, wx) in col_weights {
                    sum += wy * wx * ink[(top + i) * IMAGE_SIDE + left + j];
                }
            }
            scaled[v * new_width + u] = sum.min(1.0);
        }
    }
    let (cx, cy) = centre_of_mass(&scaled, new_width);
    let centre = IMAGE_SIDE as f32 / 2.0;
    let shift_x = (centre - cx).round() as isize;
    let shift_y = (centre - cy).round() as isize;
    for v in 0..new_height {
        for u in 0..new_width {
            let (x, y) = (u as isize + shift_x, v as isize + shift_y);
            if (0..IMAGE_SIDE as isize).contains(&x) && (0..IMAGE_SIDE as isize).contains(&y) {
                out[y as usize * IMAGE_SIDE + x as usize] = scaled[v * new_width + u];
            }
        }
    }
    out
}

/// Left, top, width and height of the pixels holding ink.
fn bounding_box(ink: &[f32]) -> Option<(usize, usize, usize, usize)> {
    let inked = |i: usize| ink[i] >= INK_FLOOR;
    let pixels: Vec<(usize, usize)> = (0..IMAGE_PIXELS)
        .filter(|&i| inked(i))
        .map(|i| (i % IMAGE_SIDE, i / IMAGE_SIDE))
        .collect();
    let left = pixels.iter().map(|p| p.0).min()?;
    let right = pixels.iter().map(|p| p.0).max()?;
    let top = pixels.iter().map(|p| p.1).min()?;
    let bottom = pixels.iter().map(|p| p.1).max()?;
    Some((left, top, right - left + 1, bottom - top + 1))
}

/// For each of `to` output cells, the source cells it covers when `from` cells are stretched
/// over `to`, with the share of the output cell each one fills (they add up to 1).
fn area_weights(from: usize, to: usize) -> Vec<Vec<(usize, f32)>> {
    let ratio = from as f32 / to as f32;
    (0..to)
        .map(|u| {
            let (start, end) = (u as f32 * ratio, (u + 1) as f32 * ratio);
            (start.floor() as usize..(end.ceil() as usize).min(from))
                .filter_map(|i| {
                    let overlap = end.min(i as f32 + 1.0) - start.max(i as f32);
                    (overlap > 0.0).then_some((i, overlap / ratio))
                })
                .collect()
        })
        .collect()
}

/// The centre of mass of an image `width` pixels wide, in pixel-edge coordinates (the centre
/// of pixel `i` is at `i + 0.5`).
fn centre_of_mass(image: &[f32], width: usize) -> (f32, f32) {
    let mut total = 0.0;
    let (mut sx, mut sy) = (0.0, 0.0);
    for (i, &v) in image.iter().enumerate() {
        total += v;
        sx += v * ((i % width) as f32 + 0.5);
        sy += v * ((i / width) as f32 + 0.5);
    }
    if total == 0.0 {
        return (width as f32 / 2.0, image.len() as f32 / width as f32 / 2.0);
    }
    (sx / total, sy / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(left: usize, top: usize, width: usize, height: usize) -> Vec<f32> {
        let mut ink = vec![0.0; IMAGE_PIXELS];
        for y in top..top + height {
            for x in left..left + width {
                ink[y * IMAGE_SIDE + x] = 1.0;
            }
        }
        ink
    }

    fn at(image: &[f32], x: usize, y: usize) -> f32 {
        image[y * IMAGE_SIDE + x]
    }

    #[test]
    fn a_tall_block_is_scaled_to_twenty_rows_and_centred_by_mass() {
        // 4 wide, 8 tall, in a corner: scale 20/8 = 2.5 gives a 10x20 block of full ink,
        // whose centre of mass (5, 10) goes to (14, 14): columns 9..19, rows 4..24.
        let out = to_mnist(&block(1, 2, 4, 8));
        assert!((out.iter().sum::<f32>() - 200.0).abs() < 1e-3);
        assert!((at(&out, 9, 4) - 1.0).abs() < 1e-5);
        assert!((at(&out, 18, 23) - 1.0).abs() < 1e-5);
        assert_eq!(at(&out, 8, 4), 0.0);
        assert_eq!(at(&out, 19, 4), 0.0);
        assert_eq!(at(&out, 9, 3), 0.0);
        assert_eq!(at(&out, 9, 24), 0.0);
    }

    #[test]
    fn a_wide_block_fills_twenty_columns_and_keeps_its_aspect() {
        // 25 wide, 5 tall: scale 0.8 gives 20x4, centre of mass (10, 2) to (14, 14).
        let out = to_mnist(&block(0, 20, 25, 5));
        assert!((out.iter().sum::<f32>() - 80.0).abs() < 1e-3);
        assert!((at(&out, 4, 12) - 1.0).abs() < 1e-5);
        assert!((at(&out, 23, 15) - 1.0).abs() < 1e-5);
        assert_eq!(at(&out, 3, 12), 0.0);
        assert_eq!(at(&out, 24, 12), 0.0);
        assert_eq!(at(&out, 4, 16), 0.0);
    }

    #[test]
    fn mass_not_the_box_is_centred() {
        // An L: a 1x10 bar with a 5x1 foot. After scaling (x2), its mass sits left of the
        // box's middle, so the box lands right of centre.
        let mut ink = block(5, 5, 1, 10);
        for x in 5..10 {
            ink[14 * IMAGE_SIDE + x] = 1.0;
        }
        let out = to_mnist(&ink);
        let (cx, cy) = centre_of_mass(&out, IMAGE_SIDE);
        assert!(
            (cx - 14.0).abs() <= 0.5 && (cy - 14.0).abs() <= 0.5,
            "{cx} {cy}"
        );
        let first_column = (0..IMAGE_SIDE).find(|&x| (0..IMAGE_SIDE).any(|y| at(&out, x, y) > 0.0));
        assert!(first_column.unwrap() > 14 - 5, "{first_column:?}");
    }

    #[test]
    fn a_blank_canvas_stays_blank_and_values_stay_in_range() {
        assert!(to_mnist(&vec![0.0; IMAGE_PIXELS]).iter().all(|&v| v == 0.0));
        let mut canvas = Canvas::default();
        canvas.toggle_pen();
        canvas.move_cursor(0, 8);
        let out = canvas.as_mnist();
        assert!(out.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(out.iter().any(|&v| v > 0.5));
    }

    #[test]
    fn the_pen_draws_only_while_down_and_the_eraser_clears() {
        let mut canvas = Canvas::default();
        canvas.move_cursor(3, 0);
        assert!(canvas.is_blank(), "pen up: moving draws nothing");
        let before = canvas.version();
        canvas.toggle_pen();
        canvas.move_cursor(0, 5);
        assert!(canvas.version() > before);
        let (x, y) = canvas.cursor();
        assert_eq!((x, y), (17, 19));
        assert_eq!(canvas.ink()[y * IMAGE_SIDE + x], 1.0);
        assert_eq!(canvas.ink()[(y - 5) * IMAGE_SIDE + x], 1.0);
        canvas.stroke_to(x as f32 + 0.5, y as f32 + 0.5, Stroke::Erase);
        assert_eq!(canvas.ink()[y * IMAGE_SIDE + x], 0.0);
        canvas.clear();
        assert!(canvas.is_blank());
        canvas.move_cursor(-100, 100);
        assert_eq!(canvas.cursor(), (0, 27), "the cursor stays on the canvas");
    }
}
