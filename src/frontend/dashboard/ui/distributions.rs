//! The Layers page's weight distributions over time, TensorBoard's distributions in a
//! terminal: for each layer a heat strip of a few rows, oldest sample on top and the newest
//! at the bottom, its columns the values from the lowest to the highest seen in those
//! samples, each cell shaded by the share of the weights in it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use super::theme;
use crate::run::layer_history::LayerHistory;
use crate::run::layers::{Histogram, LAYER_NAMES};

/// Shades from no weights to the most in a row.
const SHADES: [char; 5] = [' ', '░', '▒', '▓', '█'];
/// Columns of the layer's name before its strip.
const LABEL: usize = 7;

/// Draws the panel.
pub fn render(history: &LayerHistory, area: Rect, buf: &mut Buffer) {
    let rows_each = (usize::from(area.height.saturating_sub(2)) / LAYER_NAMES.len()).max(1);
    let title = if rows_each == 1 {
        " weight values now "
    } else {
        " weights over time, newest row last "
    };
    let block = Block::bordered()
        .title(Span::styled(title, theme::title()))
        .title_bottom(Span::styled(
            " healthy: smooth, changing slowly ",
            theme::dim(),
        ));
    let inner = block.inner(area);
    block.render(area, buf);
    let width = usize::from(inner.width).saturating_sub(LABEL);
    let samples: Vec<_> = history.samples().collect();
    let picked = spread(samples.len(), rows_each);
    let mut lines = Vec::new();
    for (index, name) in LAYER_NAMES.iter().enumerate() {
        let histograms: Vec<&Histogram> = picked
            .iter()
            .filter_map(|&i| samples[i].layer(name)?.weight.histogram.as_ref())
            .collect();
        let style = Style::new().fg(theme::layer(index));
        for (row, strip) in strips(&histograms, width).into_iter().enumerate() {
            let label = if row == 0 { *name } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{label:<LABEL$}"), style),
                Span::styled(strip, style),
            ]));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

/// Up to `rows` indices of `len` samples, evenly spread, the last always among them.
fn spread(len: usize, rows: usize) -> Vec<usize> {
    if len <= rows {
        return (0..len).collect();
    }
    (0..rows)
        .map(|r| (len - 1) - (rows - 1 - r) * (len - 1) / (rows - 1).max(1))
        .collect()
}

/// One row of `width` shaded cells a histogram, on one value axis from the lowest to the
/// highest value of them all.
fn strips(histograms: &[&Histogram], width: usize) -> Vec<String> {
    let lo = histograms
        .iter()
        .map(|h| h.lo)
        .fold(f32::INFINITY, f32::min);
    let hi = histograms
        .iter()
        .map(|h| h.hi)
        .fold(f32::NEG_INFINITY, f32::max);
    let cell = if hi > lo {
        (hi - lo) / width as f32
    } else {
        1.0
    };
    histograms
        .iter()
        .map(|h| {
            let masses: Vec<f32> = (0..width)
                .map(|c| {
                    let a = lo + cell * c as f32;
                    // The last cell takes the highest value in.
                    let b = if c + 1 == width { hi + cell } else { a + cell };
                    h.mass_between(a, b)
                })
                .collect();
            let most = masses.iter().copied().fold(0.0, f32::max);
            masses.iter().map(|&m| shade(m, most)).collect()
        })
        .collect()
}

/// The shade of a cell holding `mass` where the row's fullest holds `most`: blank only when
/// it holds nothing.
fn shade(mass: f32, most: f32) -> char {
    if mass <= 0.0 || most <= 0.0 {
        return SHADES[0];
    }
    let levels = (SHADES.len() - 1) as f32;
    let level = (mass / most * levels).ceil().clamp(1.0, levels);
    SHADES[level as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_spread_evenly_and_end_with_the_newest() {
        assert_eq!(spread(3, 5), [0, 1, 2]);
        assert_eq!(spread(10, 1), [9]);
        assert_eq!(spread(10, 4), [0, 3, 6, 9]);
    }

    #[test]
    fn cells_are_shaded_by_their_share_of_the_fullest() {
        let narrow = Histogram {
            lo: -1.0,
            hi: 1.0,
            counts: vec![0, 10, 10, 0],
        };
        let wide = Histogram {
            lo: -2.0,
            hi: 2.0,
            counts: vec![1, 0, 0, 4],
        };
        let rows = strips(&[&narrow, &wide], 8);
        assert_eq!(rows[0], "   ██   ");
        assert_eq!(rows[1], "░░    ██");
    }
}
