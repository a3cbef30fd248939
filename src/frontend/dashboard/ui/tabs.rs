//! The tab bar on the top line: one tab per page, the open one highlighted; a click on a tab
//! opens its page.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::theme;
use crate::frontend::dashboard::app::{App, Page};

/// Text before the first tab.
const LEAD: &str = " digitdash ";

/// The tab's label, e.g. ` 2 Inspect `.
fn label(page: Page) -> String {
    format!(" {} {} ", page.key(), page.title())
}

/// Draws the tab bar.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let mut spans = vec![Span::styled(LEAD, theme::title())];
    for page in app.pages() {
        let style = if page == app.page() {
            theme::selected()
        } else {
            theme::dim()
        };
        spans.push(Span::styled(label(page), style));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled("? keys", theme::dim()));
    Line::from(spans).render(area, buf);
}

/// The page whose tab covers column `x` of a tab bar of `pages` drawn at `area`.
pub fn tab_at(pages: &[Page], area: Rect, x: u16) -> Option<Page> {
    let mut start = area.x + LEAD.chars().count() as u16;
    for &page in pages {
        let width = label(page).chars().count() as u16;
        if (start..start + width).contains(&x) {
            return Some(page);
        }
        start += width + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clicks_land_on_the_tab_under_them() {
        let area = Rect::new(0, 0, 80, 1);
        let tab_at = |x| tab_at(&Page::ALL, area, x);
        // " digitdash " is 11 columns; " 1 Training " spans 11..23, then a gap.
        assert_eq!(tab_at(10), None);
        assert_eq!(tab_at(11), Some(Page::Training));
        assert_eq!(tab_at(22), Some(Page::Training));
        assert_eq!(tab_at(23), None);
        assert_eq!(tab_at(24), Some(Page::Inspect));
        assert_eq!(tab_at(36), Some(Page::Draw));
        assert_eq!(tab_at(60), Some(Page::Sweep));
        assert_eq!(tab_at(66), None);
    }
}
