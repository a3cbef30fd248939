//! The digit viewer: a test image in half-block characters (two pixel rows per character row,
//! so pixels come out square: 28 columns by 14 rows), its true label, the model's prediction,
//! and the ten class probabilities as bars.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::theme;
use crate::data::{CLASSES, IMAGE_SIDE};
use crate::frontend::dashboard::app::{App, DigitView};

/// Rows of the panel: the image's 14 rows and the border.
pub const HEIGHT: u16 = IMAGE_SIDE as u16 / 2 + 2;
/// Columns of the panel besides the bars: border, image and a gap.
pub const WIDTH_WITHOUT_BARS: u16 = IMAGE_SIDE as u16 + 3;
/// Pixels at least this bright are ink.
const INK: u8 = 96;
/// Eighths of a block, for bar ends.
const EIGHTHS: [&str; 8] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/// Draws the digit panel.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let digits = app.digits();
    let view = digits.current();
    let title = view.map_or(" test digits ".into(), |d| {
        format!(" test digit {} / {} ", d.index + 1, d.total)
    });
    let mut block = Block::bordered().title(Span::styled(title, theme::title()));
    if digits.evaluated_at().is_some() {
        block = block.title_top(
            Line::from(vec![
                Span::styled(format!(" {} wrong ", digits.mistakes()), theme::dim()),
                Span::styled("m ", theme::key()),
            ])
            .right_aligned(),
        );
    }
    block = block.title_bottom(Line::from(vec![
        Span::styled(" ←→ ", theme::key()),
        Span::styled("browse ", theme::dim()),
    ]));
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(view) = view else {
        Paragraph::new("the test digits appear when training starts")
            .style(theme::dim())
            .wrap(Wrap { trim: true })
            .render(inner, buf);
        return;
    };
    let [image, _, side] = Layout::horizontal([
        Constraint::Length(IMAGE_SIDE as u16),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    render_image(view.pixels, image, buf);
    render_side(&view, digits.evaluated_at(), side, buf);
}

/// Draws 28x28 pixels as 14 rows of half blocks in the default foreground colour.
pub fn render_image(pixels: &[u8], area: Rect, buf: &mut Buffer) {
    let lines: Vec<Line> = image_rows(pixels).into_iter().map(Line::from).collect();
    Paragraph::new(lines).render(area, buf);
}

/// The image as text: one string per pair of pixel rows.
pub fn image_rows(pixels: &[u8]) -> Vec<String> {
    let ink = |row: usize, col: usize| {
        pixels
            .get(row * IMAGE_SIDE + col)
            .is_some_and(|&p| p >= INK)
    };
    (0..IMAGE_SIDE / 2)
        .map(|pair| {
            (0..IMAGE_SIDE)
                .map(|col| match (ink(2 * pair, col), ink(2 * pair + 1, col)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                })
                .collect()
        })
        .collect()
}

/// The probability bars, then the true label and the prediction.
fn render_side(view: &DigitView, evaluated_at: Option<u64>, area: Rect, buf: &mut Buffer) {
    let prediction = view.prediction();
    let bar_width = usize::from(area.width).saturating_sub(7);
    let mut lines: Vec<Line> = (0..CLASSES)
        .map(|class| {
            let p = view
                .probabilities
                .and_then(|p| p.get(class).copied())
                .unwrap_or(0.0);
            let style = class_style(class as u8, view.label, prediction);
            probability_line(class, p, bar_width, style)
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("true ", theme::dim()),
        Span::styled(view.label.to_string(), theme::good()),
    ]));
    lines.push(match prediction {
        Some(p) if p == view.label => Line::from(vec![
            Span::styled("pred ", theme::dim()),
            Span::styled(format!("{p} right"), theme::good()),
        ]),
        Some(p) => Line::from(vec![
            Span::styled("pred ", theme::dim()),
            Span::styled(format!("{p} wrong"), theme::bad()),
        ]),
        None => Line::styled("pred -", theme::dim()),
    });
    lines.push(match evaluated_at {
        Some(step) => Line::styled(format!("step {step}"), theme::dim()),
        None => Line::styled("not tested", theme::dim()),
    });
    Paragraph::new(lines).render(area, buf);
}

/// Green for the true class, red for a wrong prediction, plain otherwise.
fn class_style(class: u8, label: u8, prediction: Option<u8>) -> Style {
    if class == label {
        theme::good()
    } else if prediction == Some(class) {
        theme::bad()
    } else {
        Style::new()
    }
}

/// `7 ████▌   97%`: the class, a bar `width` cells long at most, the percentage.
fn probability_line(class: usize, p: f32, width: usize, style: Style) -> Line<'static> {
    let p = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (f64::from(p) * width as f64 * 8.0).round() as usize;
    let mut bar = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        bar.push_str(EIGHTHS[eighths % 8]);
    }
    let pad = width.saturating_sub(bar.chars().count());
    Line::from(vec![
        Span::styled(format!("{class} "), style),
        Span::styled(bar, style),
        Span::raw(" ".repeat(pad)),
        Span::styled(format!(" {:>3.0}%", p * 100.0), style),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGE_PIXELS;

    #[test]
    fn half_blocks_pair_pixel_rows() {
        let mut pixels = vec![0u8; IMAGE_PIXELS];
        pixels[0] = 255; // row 0, col 0: upper half
        pixels[IMAGE_SIDE + 1] = 255; // row 1, col 1: lower half
        pixels[2] = 255; // rows 0 and 1 of col 2: full
        pixels[IMAGE_SIDE + 2] = 200;
        let rows = image_rows(&pixels);
        assert_eq!(rows.len(), 14);
        assert!(rows.iter().all(|r| r.chars().count() == 28));
        assert!(rows[0].starts_with("▀▄█ "));
        assert_eq!(image_rows(&[]).len(), 14, "short input draws blank");
    }

    #[test]
    fn bars_are_clamped_and_sized() {
        let width = |l: &Line| l.width();
        let full = probability_line(3, 1.0, 10, Style::new());
        assert_eq!(width(&full), 2 + 10 + 5);
        assert!(full.to_string().contains("100%"));
        let over = probability_line(3, 7.0, 10, Style::new());
        assert_eq!(over.to_string(), full.to_string());
        let nan = probability_line(3, f32::NAN, 10, Style::new());
        assert!(nan.to_string().ends_with("  0%"));
        let half = probability_line(0, 0.5, 3, Style::new());
        assert_eq!(half.to_string(), "0 █▌   50%");
        assert_eq!(width(&probability_line(1, 0.5, 0, Style::new())), 7);
    }
}
