//! The help overlay: the open page's keys, then those that work on every page, from the same
//! table the key handler reads.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::theme;
use crate::frontend::dashboard::app::keys::{Action, Binding};
use crate::frontend::dashboard::app::{Page, BINDINGS};

/// Columns of the key names.
const KEY_WIDTH: usize = 13;
/// Columns of one column of keys, border excluded.
const COLUMN_WIDTH: u16 = 50;

/// What the help lists besides the open page's keys.
#[derive(Debug, Clone, Copy)]
pub struct HelpFor {
    /// Whether the keys that command a trainer are there to use (not while only watching).
    pub acting: bool,
    /// Whether a sweep is followed (its page's key is listed).
    pub sweeping: bool,
}

/// The help's lines for `page`: a heading, its own keys, a heading, the keys of every page.
/// A dashboard that only watches leaves out the keys that command a trainer, one without a
/// sweep the key of the Sweep page.
fn lines(page: Page, help: HelpFor) -> Vec<Line<'static>> {
    let HelpFor { acting, sweeping } = help;
    let row = |b: &Binding| {
        Line::from(vec![
            Span::styled(format!(" {:<KEY_WIDTH$}", b.label), theme::key()),
            Span::raw(b.help),
        ])
    };
    let everywhere = |b: &&Binding| b.pages.len() == Page::ALL.len();
    let usable = |b: &&Binding| {
        (acting || !b.action.needs_trainer())
            && (sweeping || b.action != Action::ShowPage(Page::Sweep))
    };
    let mut lines = vec![Line::styled(
        format!("{} {} page", page.key(), page.title()),
        theme::title(),
    )];
    lines.extend(
        BINDINGS
            .iter()
            .filter(|b| b.pages.contains(&page) && !everywhere(b))
            .filter(usable)
            .map(row),
    );
    lines.push(Line::styled("every page", theme::title()));
    lines.extend(BINDINGS.iter().filter(everywhere).filter(usable).map(row));
    lines
}

/// Draws the help box for `page` over the middle of `area`.
pub fn render(page: Page, help: HelpFor, area: Rect, buf: &mut Buffer) {
    let lines = lines(page, help);
    let rows = area.height.saturating_sub(2).max(1);
    let columns = lines.len().div_ceil(usize::from(rows)).max(1) as u16;
    let height = (lines.len() as u16).div_ceil(columns) + 2;
    let width = (COLUMN_WIDTH * columns + 2).min(area.width);
    let popup = area.centered(Constraint::Length(width), Constraint::Length(height));
    Clear.render(popup, buf);
    let block = Block::bordered()
        .title(Span::styled(" keys ", theme::title()))
        .title_bottom(Line::from(vec![
            Span::styled(" esc ", theme::key()),
            Span::styled("or ", theme::dim()),
            Span::styled("? ", theme::key()),
            Span::styled("closes ", theme::dim()),
        ]));
    let inner = block.inner(popup);
    block.render(popup, buf);
    let areas = Layout::horizontal(vec![Constraint::Fill(1); usize::from(columns)]).split(inner);
    let per_column = usize::from(height - 2);
    for (chunk, column) in lines.chunks(per_column.max(1)).zip(areas.iter()) {
        Paragraph::new(chunk.to_vec()).render(*column, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_KEYS: HelpFor = HelpFor {
        acting: true,
        sweeping: true,
    };

    #[test]
    fn the_sweep_page_key_is_listed_only_with_a_sweep() {
        let text = |sweeping| -> String {
            let help = HelpFor {
                acting: true,
                sweeping,
            };
            lines(Page::Training, help)
                .iter()
                .map(|l| l.to_string())
                .collect()
        };
        assert!(text(true).contains("page 5"));
        assert!(!text(false).contains("page 5"));
    }

    #[test]
    fn each_page_lists_its_own_keys_and_the_common_ones_once() {
        for page in Page::ALL {
            let text: Vec<String> = lines(page, ALL_KEYS)
                .iter()
                .map(|l| l.to_string())
                .collect();
            let own = BINDINGS.iter().filter(|b| b.pages.contains(&page)).count();
            assert_eq!(text.len(), own + 2, "{page:?}: two headings and every key");
            assert!(text.iter().any(|l| l.contains("quit")));
        }
        let draw: String = lines(Page::Draw, ALL_KEYS)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert!(draw.contains("pen down or up") && !draw.contains("pause or resume"));
        let training: String = lines(Page::Training, ALL_KEYS)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert!(training.contains("pause or resume") && !training.contains("occlusion"));
    }

    #[test]
    fn a_watching_dashboard_lists_no_key_that_commands_a_trainer() {
        for page in Page::ALL {
            let watching = HelpFor {
                acting: false,
                sweeping: true,
            };
            let text: String = lines(page, watching)
                .iter()
                .map(|l| l.to_string())
                .collect();
            for gone in [
                "pause or resume",
                "evaluate now",
                "save a checkpoint",
                "roll back",
            ] {
                assert!(!text.contains(gone), "{page:?}: {gone}");
            }
            assert!(text.contains("quit"));
        }
    }
}
