//! The footer row: the answer to the last key if there is one, else the main keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{format, theme};
use crate::frontend::dashboard::app::{App, Page, RunState};

/// Draws the footer.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let line = match app.flash() {
        Some(text) => Line::from(Span::styled(
            format!(" {}", format::shown(text)),
            theme::flash(),
        )),
        None => hints(app, area.width),
    };
    line.render(area, buf);
}

/// The keys most worth knowing now, on the open page; where they are wider than `width`,
/// the page keys go first (the tabs show the pages).
fn hints(app: &App, width: u16) -> Line<'static> {
    let mut pairs = vec![("?", "help")];
    let pause = if app.state() == RunState::Paused {
        "resume"
    } else {
        "pause"
    };
    match app.page() {
        Page::Training => {
            if app.accepts_commands() {
                pairs.extend([("space", pause), ("+-", "change")]);
            }
            pairs.extend([("←→", "digits"), ("m", "next wrong")]);
        }
        Page::Inspect => {
            if app.accepts_commands() {
                pairs.push(("space", pause));
            }
            if app.gallery_shown() {
                pairs.extend([("←↑↓→", "pick"), ("g", "matrix")]);
            } else {
                pairs.extend([
                    ("←↑↓→", "cell"),
                    ("n", "digits"),
                    ("g", "worst"),
                    ("o", "occlusion"),
                ]);
            }
        }
        Page::Draw => pairs.extend([("space", "pen"), ("⌫", "clear"), ("s", "save")]),
        Page::Layers => {
            if app.accepts_commands() {
                pairs.push(("space", pause));
            }
        }
        Page::Sweep => pairs.extend([("↑↓", "trial"), ("space", "overlay"), ("s", "sort")]),
    }
    if app.read_only().is_some() && app.page() != Page::Sweep {
        pairs.push(("k", "checkpoint"));
    }
    let pages = if app.sweep().is_some() { "1-5" } else { "1-4" };
    pairs.extend([(pages, "pages"), ("q", "quit")]);
    let wide = |pairs: &[(&str, &str)]| -> usize {
        1 + pairs
            .iter()
            .map(|(key, what)| key.chars().count() + what.chars().count() + 3)
            .sum::<usize>()
    };
    if wide(&pairs) > usize::from(width) {
        pairs.retain(|(key, _)| *key != pages);
    }
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in pairs {
        spans.push(Span::styled(key, theme::key()));
        spans.push(Span::styled(format!(" {what}  "), theme::dim()));
    }
    Line::from(spans)
}
