//! The dashboard's pages, switched with `1`, `2`, `3` or by clicking their tabs.

/// A page of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Page {
    /// Charts, live settings, the digit viewer and the event log.
    #[default]
    Training,
    /// The confusion matrix, the first layer's filters and the shown digit's activations.
    Inspect,
    /// A pad to draw a digit and see what the network makes of it.
    Draw,
}

impl Page {
    /// Every page, in tab order.
    pub const ALL: [Page; 3] = [Page::Training, Page::Inspect, Page::Draw];

    /// The tab's name.
    pub fn title(self) -> &'static str {
        match self {
            Page::Training => "Training",
            Page::Inspect => "Inspect",
            Page::Draw => "Draw",
        }
    }

    /// The key that opens the page.
    pub fn key(self) -> char {
        match self {
            Page::Training => '1',
            Page::Inspect => '2',
            Page::Draw => '3',
        }
    }
}
