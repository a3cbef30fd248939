//! Small images in the terminal: two pixel rows per character row (`▀` with the upper pixel
//! as foreground colour and the lower as background), in the 256-colour palette so any
//! modern terminal shows them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

/// How values become colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shade {
    /// 0 black to `max` white, on the grey ramp.
    Grey {
        /// The value drawn white.
        max: f32,
    },
    /// Negative red, positive blue, 0 black; `max` is the magnitude drawn brightest.
    Signed {
        /// The magnitude drawn brightest.
        max: f32,
    },
}

impl Shade {
    /// The colour of `value`.
    pub fn color(self, value: f32) -> Color {
        match self {
            Shade::Grey { max } => grey(value / max.max(f32::MIN_POSITIVE)),
            Shade::Signed { max } => {
                let level = (value.abs() / max.max(f32::MIN_POSITIVE)).clamp(0.0, 1.0);
                let step = (level * 5.0).round() as u8;
                if value < 0.0 {
                    Color::Indexed(16 + 36 * step)
                } else {
                    Color::Indexed(16 + step)
                }
            }
        }
    }
}

/// A grey from black (0) to white (1) on the palette's 24-step ramp, black itself below it.
pub fn grey(level: f32) -> Color {
    let level = if level.is_finite() {
        level.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if level < 0.5 / 25.0 {
        return Color::Indexed(16);
    }
    Color::Indexed(232 + ((level * 24.0).round() as u8).min(23))
}

/// Draws an image `width` pixels wide (rows after rows in `values`) at the top-left of `area`,
/// clipped to it, colouring each pixel with `color`.
pub fn paint(
    values: &[f32],
    width: usize,
    area: Rect,
    buf: &mut Buffer,
    color: impl Fn(usize, f32) -> Color,
) {
    let height = values.len() / width.max(1);
    for row in 0..height.div_ceil(2).min(usize::from(area.height)) {
        for col in 0..width.min(usize::from(area.width)) {
            let top = 2 * row * width + col;
            let bottom = top + width;
            let upper = color(top, values[top]);
            let lower = values
                .get(bottom)
                .filter(|_| 2 * row + 1 < height)
                .map_or(Color::Reset, |&v| color(bottom, v));
            let x = area.x + col as u16;
            let y = area.y + row as u16;
            buf[(x, y)]
                .set_symbol("▀")
                .set_style(Style::new().fg(upper).bg(lower));
        }
    }
}

/// The values of a `side` x `side` map averaged down by `factor` (a divisor of `side`).
pub fn shrink(map: &[f32], side: usize, factor: usize) -> Vec<f32> {
    let factor = factor.max(1);
    let small = side / factor;
    let mut out = vec![0.0f32; small * small];
    for (i, o) in out.iter_mut().enumerate() {
        let (y, x) = (i / small * factor, i % small * factor);
        let mut sum = 0.0;
        for dy in 0..factor {
            for dx in 0..factor {
                sum += map[(y + dy) * side + x + dx];
            }
        }
        *o = sum / (factor * factor) as f32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_are_red_below_zero_blue_above_and_black_at_zero() {
        let shade = Shade::Signed { max: 0.5 };
        assert_eq!(shade.color(0.0), Color::Indexed(16));
        assert_eq!(shade.color(0.5), Color::Indexed(16 + 5), "brightest blue");
        assert_eq!(
            shade.color(-0.5),
            Color::Indexed(16 + 36 * 5),
            "brightest red"
        );
        assert_eq!(
            shade.color(-5.0),
            shade.color(-0.5),
            "clamped at the maximum"
        );
        assert_eq!(
            shade.color(0.25),
            Color::Indexed(16 + 3),
            "half way rounds up"
        );
    }

    #[test]
    fn greys_run_from_black_to_white() {
        assert_eq!(grey(0.0), Color::Indexed(16));
        assert_eq!(grey(1.0), Color::Indexed(255));
        assert_eq!(grey(2.0), Color::Indexed(255));
        assert_eq!(grey(f32::NAN), Color::Indexed(16));
        assert_eq!(Shade::Grey { max: 4.0 }.color(2.0), Color::Indexed(244));
    }

    #[test]
    fn shrinking_averages_blocks() {
        let map: Vec<f32> = (0..16).map(|v| v as f32).collect();
        assert_eq!(shrink(&map, 4, 2), vec![2.5, 4.5, 10.5, 12.5]);
        assert_eq!(shrink(&map, 4, 1), map);
    }

    #[test]
    fn two_pixel_rows_share_a_cell() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 3, 2));
        paint(
            &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            3,
            buf.area,
            &mut buf,
            |_, v| grey(v),
        );
        assert_eq!(buf[(0, 0)].symbol(), "▀");
        assert_eq!(buf[(0, 0)].fg, Color::Indexed(255));
        assert_eq!(buf[(0, 0)].bg, Color::Indexed(16));
        assert_eq!(
            buf[(0, 1)].bg,
            Color::Reset,
            "an odd last row has no lower pixel"
        );
    }
}
