//! Page 3, Draw: a 28x28 pad, what the network is shown after MNIST's preprocessing, and its
//! answer.
//!
//! ```text
//! ┌ draw ─────────────┐┌ as the network sees it ┐┌ prediction D  P% ┐
//! │ 28x14 half blocks ││ 20x20 box, centred     ││ ten bars         │
//! │                   │└────────────────────────┘└──────────────────┘
//! │                   │┌ each run's best checkpoint ────────────────┐
//! │                   ││ this run, then each overlaid run          │
//! └───────────────────┘└────────────────────────────────────────────┘
//! ```
//!
//! The runs' box is there while runs are overlaid and the screen has room under the answer.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::charts::colour_of;
use super::{digit, format, pixels, theme};
use crate::data::{CLASSES, IMAGE_SIDE};
use crate::frontend::dashboard::app::App;
use crate::model::score::argmax;

/// Columns of a bordered 28-pixel-wide image at half-block size.
const PAD_WIDTH: u16 = IMAGE_SIDE as u16 + 2;
/// Rows of a bordered 28-pixel image at half-block size.
const PAD_HEIGHT: u16 = IMAGE_SIDE as u16 / 2 + 2;

/// How large the pad is drawn: 1, a pixel a half-block (28x14 cells), or 2, a pixel two
/// cells wide and one tall (56x28 cells), where the screen has room.
fn zoom(body: Rect) -> u16 {
    let big_w = 2 * IMAGE_SIDE as u16 + 2;
    let big_h = IMAGE_SIDE as u16 + 2;
    if body.width >= big_w + PAD_WIDTH + 20 && body.height >= big_h + 2 {
        2
    } else {
        1
    }
}

/// The pad, the network's view, the answer, the key help and the overlaid runs' answers.
fn areas(body: Rect) -> [Rect; 5] {
    let z = zoom(body);
    let pad_height = if z == 2 {
        IMAGE_SIDE as u16 + 2
    } else {
        PAD_HEIGHT
    };
    let [top, help] =
        Layout::vertical([Constraint::Length(pad_height + 1), Constraint::Fill(1)]).areas(body);
    let [pad, right] = Layout::horizontal([
        Constraint::Length(z * IMAGE_SIDE as u16 + 2),
        Constraint::Fill(1),
    ])
    .areas(top);
    let [images, runs] =
        Layout::vertical([Constraint::Length(PAD_HEIGHT), Constraint::Fill(1)]).areas(right);
    let [seen, answer] =
        Layout::horizontal([Constraint::Length(PAD_WIDTH), Constraint::Fill(1)]).areas(images);
    [pad, seen, answer, help, runs]
}

/// Draws the page into `body`.
pub fn render(app: &App, body: Rect, buf: &mut Buffer) {
    let [pad, seen, answer, help, runs] = areas(body);
    render_pad(app, pad, zoom(body), buf);
    render_seen(app, seen, buf);
    render_answer(app, answer, buf);
    if !app.compared().is_empty() && runs.height >= 3 {
        render_runs(app, runs, buf);
    }
    Paragraph::new(Line::from(vec![
        Span::styled(" mouse ", theme::key()),
        Span::styled("left draws, right erases  ", theme::dim()),
        Span::styled("←↑↓→ ", theme::key()),
        Span::styled("cursor  ", theme::dim()),
        Span::styled("space ", theme::key()),
        Span::styled("pen  ", theme::dim()),
        Span::styled("backspace ", theme::key()),
        Span::styled("clear  ", theme::dim()),
        Span::styled("s ", theme::key()),
        Span::styled("save PNG", theme::dim()),
    ]))
    .wrap(Wrap { trim: true })
    .render(help, buf);
}

/// The point of the pad under (`x`, `y`), in pixels, if the pointer is on it.
pub fn canvas_point(body: Rect, x: u16, y: u16) -> Option<(f32, f32)> {
    let [pad, ..] = areas(body);
    let inner = Block::bordered().inner(pad);
    let side = IMAGE_SIDE as u16;
    let (cell_w, cell_h) = if zoom(body) == 2 {
        (0.5, 1.0)
    } else {
        (1.0, 2.0)
    };
    let (width, height) = if zoom(body) == 2 {
        (2 * side, side)
    } else {
        (side, side / 2)
    };
    let inside =
        (inner.x..inner.x + width).contains(&x) && (inner.y..inner.y + height).contains(&y);
    inside.then(|| {
        (
            (f32::from(x - inner.x) + 0.5) * cell_w,
            (f32::from(y - inner.y) + 0.5) * cell_h,
        )
    })
}

fn render_pad(app: &App, area: Rect, zoom: u16, buf: &mut Buffer) {
    let canvas = app.canvas();
    let pen = if canvas.pen_down() {
        "pen down"
    } else {
        "pen up"
    };
    let block = Block::bordered()
        .title(Span::styled(" draw ", theme::title()))
        .title_bottom(Span::styled(format!(" {pen} "), theme::dim()));
    let inner = block.inner(area);
    block.render(area, buf);
    let (cx, cy) = canvas.cursor();
    let cursor = cy * IMAGE_SIDE + cx;
    let cursor_colour = if canvas.pen_down() {
        Color::Red
    } else {
        Color::Yellow
    };
    let colour = |i: usize, v: f32| {
        if i == cursor {
            cursor_colour
        } else {
            pixels::grey(v)
        }
    };
    if zoom == 1 {
        pixels::paint(canvas.ink(), IMAGE_SIDE, inner, buf, colour);
        return;
    }
    for (i, &v) in canvas.ink().iter().enumerate() {
        let (x, y) = ((i % IMAGE_SIDE) as u16 * 2, (i / IMAGE_SIDE) as u16);
        for dx in 0..2 {
            let cell = (inner.x + x + dx, inner.y + y);
            if inner.contains(cell.into()) {
                buf[cell]
                    .set_symbol(" ")
                    .set_style(Style::new().bg(colour(i, v)));
            }
        }
    }
}

fn render_seen(app: &App, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered().title(Span::styled(" as the network sees it ", theme::title()));
    let inner = block.inner(area);
    block.render(area, buf);
    let seen = app.canvas().as_mnist();
    pixels::paint(seen, IMAGE_SIDE, inner, buf, |_, v| pixels::grey(v));
}

fn render_answer(app: &App, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered();
    let inner = block.inner(area);
    block.render(area, buf);
    let canvas = app.canvas();
    let answer = app.look().drawing().filter(|_| !canvas.is_blank());
    let mut lines = Vec::new();
    match answer {
        Some(a) => {
            let best = argmax(&a.probabilities);
            lines.push(Line::styled(
                format!("prediction {}", verdict(app, Ok(&a.probabilities))),
                theme::good(),
            ));
            let width = usize::from(inner.width).saturating_sub(7);
            for class in 0..CLASSES {
                let style = if class == best {
                    theme::good()
                } else {
                    Style::new()
                };
                lines.push(digit::probability_line(
                    class,
                    a.probabilities[class],
                    width,
                    style,
                ));
            }
            // An answer about an older drawing, or from weights older than the newest
            // (another checkpoint chosen), is about to be replaced.
            let newer_weights = app.look().weights_step().is_some_and(|s| s != a.step);
            let stale = if a.version == canvas.version() && !newer_weights {
                ""
            } else {
                " (updating)"
            };
            // A watched run's weights come from a checkpoint: the page names it.
            let weights = app
                .look()
                .checkpoint()
                .unwrap_or_else(|| format!("weights of step {}", a.step));
            lines.push(Line::styled(format!("{weights}{stale}"), theme::dim()));
        }
        None => {
            lines.push(Line::styled("prediction -", theme::dim()));
            lines.push(Line::styled("draw a digit on the pad", theme::dim()));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

/// Each run's answer on one line: this run's weights first, then each overlaid run's best
/// checkpoint in its chart colour.
fn render_runs(app: &App, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered().title(Span::styled(
        " each run's prediction (overlaid: best checkpoint) ",
        theme::title(),
    ));
    let inner = block.inner(area);
    block.render(area, buf);
    let answer = app.look().drawing().filter(|_| !app.canvas().is_blank());
    let Some(answer) = answer else {
        Paragraph::new(Line::styled("draw a digit on the pad", theme::dim())).render(inner, buf);
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled("━━ ", theme::good()),
        Span::raw(format!("{:<24}", "this run")),
        Span::styled(verdict(app, Ok(&answer.probabilities)), theme::good()),
    ])];
    for run in app.compared() {
        let colour = Style::new().fg(colour_of(run));
        let said = answer
            .compared
            .iter()
            .find(|c| c.run == run.path)
            .map_or_else(
                || "(updating)".to_string(),
                |c| verdict(app, c.probabilities.as_deref().map_err(String::as_str)),
            );
        let name: String = format::shown(&run.name).chars().take(23).collect();
        lines.push(Line::from(vec![
            Span::styled("━━ ", colour),
            Span::raw(format!("{name:<24}")),
            Span::styled(said, colour),
        ]));
    }
    Paragraph::new(lines).render(inner, buf);
}

/// `1  95%` (with the class's name where the dataset has them), or why there is no answer.
fn verdict(app: &App, probabilities: Result<&[f32], &str>) -> String {
    match probabilities {
        Ok(p) => {
            let best = argmax(p);
            let name = app
                .class_name(best)
                .map_or(String::new(), |n| format!(" {n}"));
            format!("{best}{name}  {:.0}%", p[best] * 100.0)
        }
        Err(why) => format!("no prediction: {why}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_cells_map_to_pad_pixels_at_both_sizes() {
        // 80x20 body: half-block pad, inner area from (1, 1); a cell is 1x2 pixels.
        let small = Rect::new(0, 0, 80, 20);
        assert_eq!(zoom(small), 1);
        assert_eq!(canvas_point(small, 1, 1), Some((0.5, 1.0)));
        assert_eq!(canvas_point(small, 28, 14), Some((27.5, 27.0)));
        assert_eq!(canvas_point(small, 29, 5), None);
        // 120x36 body: a pixel is two cells wide and one tall.
        let large = Rect::new(0, 3, 120, 36);
        assert_eq!(zoom(large), 2);
        assert_eq!(canvas_point(large, 1, 4), Some((0.25, 0.5)));
        assert_eq!(canvas_point(large, 56, 31), Some((27.75, 27.5)));
        assert_eq!(canvas_point(large, 57, 10), None);
    }
}
