//! The help overlay: the open page's keys, then those that work on every page, from the same
//! table the key handler reads.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::theme;
use crate::frontend::dashboard::app::keys::Binding;
use crate::frontend::dashboard::app::{Page, BINDINGS};

/// Columns of the key names.
const KEY_WIDTH: usize = 13;
/// Columns of one column of keys, border excluded.
const COLUMN_WIDTH: u16 = 50;

/// The help's lines for `page`: a heading, its own keys, a heading, the keys of every page.
/// A dashboard that only watches (`acting` false) leaves out the keys that command a trainer.
fn lines(page: Page, acting: bool) -> Vec<Line<'static>> {
    let row = |b: &Binding| {
        Line::from(vec![
            Span::styled(format!(" {:<KEY_WIDTH$}", b.label), theme::key()),
            Span::raw(b.help),
        ])
    };
    let everywhere = |b: &&Binding| b.pages.len() == Page::ALL.len();
    let usable = |b: &&Binding| acting || !b.action.needs_trainer();
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

/// Draws the help box for `page` over the middle of `area`; `acting`: whether the keys that
/// command a trainer are there to use.
pub fn render(page: Page, acting: bool, area: Rect, buf: &mut Buffer) {
    let lines = lines(page, acting);
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

    #[test]
    fn each_page_lists_its_own_keys_and_the_common_ones_once() {
        for page in Page::ALL {
            let text: Vec<String> = lines(page, true).iter().map(|l| l.to_string()).collect();
            let own = BINDINGS.iter().filter(|b| b.pages.contains(&page)).count();
            assert_eq!(text.len(), own + 2, "{page:?}: two headings and every key");
            assert!(text.iter().any(|l| l.contains("quit")));
        }
        let draw: String = lines(Page::Draw, true)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert!(draw.contains("pen down or up") && !draw.contains("pause or resume"));
        let training: String = lines(Page::Training, true)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert!(training.contains("pause or resume") && !training.contains("occlusion"));
    }

    #[test]
    fn a_watching_dashboard_lists_no_key_that_commands_a_trainer() {
        for page in Page::ALL {
            let text: String = lines(page, false).iter().map(|l| l.to_string()).collect();
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
