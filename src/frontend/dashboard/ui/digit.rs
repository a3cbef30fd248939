//! The digit viewer: a test image in half-block characters (two pixel rows per character row,
//! so pixels come out square: 28 columns by 14 rows), its true label, the model's prediction,
//! and the ten class probabilities as bars. The probabilities are the newest the inspector
//! computed from the current weights (the panel says at which step), or else those of the
//! latest evaluation. On the Inspect page the image is drawn in grey levels, with the
//! occlusion map laid over it in red when asked for.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use ratatui::style::Color;

use super::{pixels, theme};
use crate::data::{CLASSES, IMAGE_SIDE};
use crate::frontend::dashboard::app::{App, DigitView, Page};
use crate::model::score::argmax;

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
    if app.fed().is_on() && app.page() == Page::Training {
        return render_fed(app, area, buf);
    }
    let digits = app.digits();
    let inspecting = app.page() == Page::Inspect;
    let view = app.shown_digit();
    let set = digits.set().name();
    let title = view.map_or(format!(" {set} digits "), |d| {
        format!(" {set} digit {} / {} ", d.index + 1, d.total)
    });
    let mut block = Block::bordered().title(Span::styled(title, theme::title()));
    if inspecting {
        block = inspect_titles(app, block);
    } else if digits.evaluated_at().is_some() {
        block = block.title_top(
            Line::from(vec![
                Span::styled(format!(" {} wrong ", digits.mistakes()), theme::dim()),
                Span::styled("m ", theme::key()),
            ])
            .right_aligned(),
        );
    }
    if !inspecting {
        block = block.title_bottom(Line::from(vec![
            Span::styled(" ←→ ", theme::key()),
            Span::styled("browse ", theme::dim()),
        ]));
    }
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(view) = view else {
        let waiting = format!("the {set} digits appear when training starts");
        return render_waiting(&waiting, inner, buf);
    };
    let [image, side] = image_and_side(inner);
    let live = app.look().digit(view.reference());
    if inspecting {
        let overlay = live
            .and_then(|l| l.occlusion.as_deref())
            .filter(|_| app.look().saliency() || app.gallery_shown());
        render_shaded(view.pixels, overlay, image, buf);
    } else {
        render_image(view.pixels, image, buf);
    }
    let source = match live {
        Some(l) => Source::Live(&l.probabilities, l.step),
        None => match (view.probabilities, digits.evaluated_at()) {
            (Some(p), Some(step)) => Source::Evaluation(p, step),
            _ => Source::Nothing,
        },
    };
    render_side(app, &view, source, side, buf);
}

/// The training image the network was fed, with its label and how it was transformed.
fn render_fed(app: &App, area: Rect, buf: &mut Buffer) {
    let view = app.fed().current();
    let title = view.map_or(" training images ".into(), |v| {
        format!(" fed at step {}: {} / {} ", v.step, v.index + 1, v.total)
    });
    let block = Block::bordered()
        .title(Span::styled(title, theme::title()))
        .title_bottom(Line::from(vec![
            Span::styled(" ←→ ", theme::key()),
            Span::styled("browse ", theme::dim()),
            Span::styled("f ", theme::key()),
            Span::styled("test digits ", theme::dim()),
        ]));
    let inner = block.inner(area);
    block.render(area, buf);
    let Some(view) = view else {
        let waiting = "the images fed to the network appear after the next step";
        return render_waiting(waiting, inner, buf);
    };
    let [image, side] = image_and_side(inner);
    render_image(view.pixels, image, buf);
    let augment = &app.config().train.augment;
    let how = if augment.is_on() {
        format!(
            "augmented: shift ±{} px, turn ±{}°, size ±{}%, elastic {}",
            augment.shift,
            augment.rotate,
            augment.scale * 100.0,
            if augment.elastic_alpha > 0.0 {
                format!("α {} σ {}", augment.elastic_alpha, augment.elastic_sigma)
            } else {
                "off".into()
            }
        )
    } else {
        "as read: augmentation is off".into()
    };
    let lines = vec![
        Line::from(vec![
            Span::styled("label ", theme::dim()),
            Span::styled(view.label.to_string(), theme::good()),
        ]),
        Line::default(),
        Line::styled(how, theme::dim()),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(side, buf);
}

/// Splits the panel's inside into the image's columns and the text beside it, a column apart.
fn image_and_side(inner: Rect) -> [Rect; 2] {
    let [image, _, side] = Layout::horizontal([
        Constraint::Length(IMAGE_SIDE as u16),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(inner);
    [image, side]
}

/// What the panel says while it has no image to show.
fn render_waiting(text: &str, inner: Rect, buf: &mut Buffer) {
    Paragraph::new(text)
        .style(theme::dim())
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

/// Where the probabilities shown come from.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    /// Computed from the weights of a step by the inspector.
    Live(&'a [f32], u64),
    /// From the evaluation after a step.
    Evaluation(&'a [f32], u64),
    /// None yet.
    Nothing,
}

impl<'a> Source<'a> {
    fn probabilities(self) -> Option<&'a [f32]> {
        match self {
            Source::Live(p, _) | Source::Evaluation(p, _) => Some(p),
            Source::Nothing => None,
        }
    }
}

/// The Inspect page's titles: which gallery image or which cell is browsed, and its keys.
fn inspect_titles<'a>(app: &App, block: Block<'a>) -> Block<'a> {
    let look = app.look();
    if app.gallery_shown() {
        let gallery = look.gallery();
        let place = gallery.selected_image().map_or(String::new(), |r| {
            format!(" #{}, loss {:.2} ", gallery.selected() + 1, r.loss)
        });
        return block
            .title_top(Line::from(Span::styled(place, theme::dim())).right_aligned())
            .title_bottom(Line::from(Span::styled(" occlusion map ", theme::dim())));
    }
    let (truth, predicted) = look.cell();
    let count = look.confusion().map_or(0, |c| c.count(truth, predicted));
    let position = if count == 0 {
        "none".to_string()
    } else {
        format!("{} of {count}", look.cell_position() + 1)
    };
    let saliency = if look.saliency() { "on" } else { "off" };
    block
        .title_top(
            Line::from(Span::styled(
                format!(" {truth}→{predicted}: {position} "),
                theme::dim(),
            ))
            .right_aligned(),
        )
        .title_bottom(Line::from(vec![
            Span::styled(" o ", theme::key()),
            Span::styled(format!("occlusion {saliency} "), theme::dim()),
        ]))
}

/// Draws 28x28 pixels in grey levels, red where `overlay` (0..1 per pixel) is high.
fn render_shaded(pixels: &[u8], overlay: Option<&[f32]>, area: Rect, buf: &mut Buffer) {
    let values: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    pixels::paint(&values, IMAGE_SIDE, area, buf, |i, v| {
        match overlay.map(|o| o[i]).filter(|&heat| heat > 0.25) {
            // Red, brighter with the heat, over the grey of the ink.
            Some(heat) => {
                Color::Indexed(16 + 36 * (1 + (heat * 4.0).round() as u8).min(5) + (v * 2.0) as u8)
            }
            None => pixels::grey(v),
        }
    });
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
fn render_side(app: &App, view: &DigitView, source: Source, area: Rect, buf: &mut Buffer) {
    // A class as the text says it: its digit, and its name where the digits are not the
    // classes (Fashion-MNIST, KMNIST).
    let named = |class: u8| match app.class_name(usize::from(class)) {
        Some(name) => format!("{class} {name}"),
        None => class.to_string(),
    };
    let probabilities = source.probabilities();
    // A class index below CLASSES (10), so it fits a u8.
    let prediction = probabilities.map(|p| argmax(p) as u8);
    let bar_width = usize::from(area.width).saturating_sub(7);
    let mut lines: Vec<Line> = (0..CLASSES)
        .map(|class| {
            let p = probabilities
                .and_then(|p| p.get(class).copied())
                .unwrap_or(0.0);
            let style = class_style(class as u8, view.label, prediction);
            probability_line(class, p, bar_width, style)
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled("true ", theme::dim()),
        Span::styled(named(view.label), theme::good()),
    ]));
    lines.push(match prediction {
        Some(p) if p == view.label => Line::from(vec![
            Span::styled("pred ", theme::dim()),
            Span::styled(format!("{} right", named(p)), theme::good()),
        ]),
        Some(p) => Line::from(vec![
            Span::styled("pred ", theme::dim()),
            Span::styled(format!("{} wrong", named(p)), theme::bad()),
        ]),
        None => Line::styled("pred -", theme::dim()),
    });
    lines.push(match source {
        Source::Live(_, step) => Line::styled(format!("live @{step}"), theme::dim()),
        Source::Evaluation(_, step) => {
            Line::styled(format!("{} @{step}", view.set.name()), theme::dim())
        }
        Source::Nothing => Line::styled("not scored yet", theme::dim()),
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
pub fn probability_line(class: usize, p: f32, width: usize, style: Style) -> Line<'static> {
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
