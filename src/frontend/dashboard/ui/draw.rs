//! Page 3, Draw: a 28x28 pad, what the network is shown after MNIST's preprocessing, and its
//! answer.
//!
//! ```text
//! ┌ draw ─────────────┐┌ as the network sees it ┐┌ prediction D  P% ┐
//! │ 28x14 half blocks ││ 20x20 box, centred     ││ ten bars         │
//! └───────────────────┘└────────────────────────┘└──────────────────┘
//! ```

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::{digit, pixels, theme};
use crate::data::{CLASSES, IMAGE_SIDE};
use crate::frontend::dashboard::app::App;
use crate::train::evaluate::argmax;

/// Columns of a bordered 28-pixel-wide image.
const PAD_WIDTH: u16 = IMAGE_SIDE as u16 + 2;

/// The pad, the network's view and the answer.
fn areas(body: Rect) -> [Rect; 3] {
    let [top, _] =
        Layout::vertical([Constraint::Length(digit::HEIGHT + 1), Constraint::Fill(1)]).areas(body);
    Layout::horizontal([
        Constraint::Length(PAD_WIDTH),
        Constraint::Length(PAD_WIDTH),
        Constraint::Fill(1),
    ])
    .areas(top)
}

/// Draws the page into `body`.
pub fn render(app: &App, body: Rect, buf: &mut Buffer) {
    let [pad, seen, answer] = areas(body);
    render_pad(app, pad, buf);
    render_seen(app, seen, buf);
    render_answer(app, answer, buf);
    let [_, help] =
        Layout::vertical([Constraint::Length(digit::HEIGHT + 1), Constraint::Fill(1)]).areas(body);
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
    let inside = (inner.x..inner.x + IMAGE_SIDE as u16).contains(&x)
        && (inner.y..inner.y + IMAGE_SIDE as u16 / 2).contains(&y);
    inside.then(|| {
        (
            f32::from(x - inner.x) + 0.5,
            f32::from(y - inner.y) * 2.0 + 1.0,
        )
    })
}

fn render_pad(app: &App, area: Rect, buf: &mut Buffer) {
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
    pixels::paint(canvas.ink(), IMAGE_SIDE, inner, buf, |i, v| {
        if i == cursor {
            cursor_colour
        } else {
            pixels::grey(v)
        }
    });
}

fn render_seen(app: &App, area: Rect, buf: &mut Buffer) {
    let block = Block::bordered().title(Span::styled(" as the network sees it ", theme::title()));
    let inner = block.inner(area);
    block.render(area, buf);
    let seen = app.canvas().as_mnist();
    pixels::paint(&seen, IMAGE_SIDE, inner, buf, |_, v| pixels::grey(v));
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
                format!("prediction {best}  {:.0}%", a.probabilities[best] * 100.0),
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
            let stale = if a.version == canvas.version() {
                ""
            } else {
                " (updating)"
            };
            lines.push(Line::styled(
                format!("weights of step {}{stale}", a.step),
                theme::dim(),
            ));
        }
        None => {
            lines.push(Line::styled("prediction -", theme::dim()));
            lines.push(Line::styled("draw a digit on the pad", theme::dim()));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}
