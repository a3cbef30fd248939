//! The dashboard's pages, switched with `1` to `5` or by clicking their tabs. The Sweep page
//! is there only while the dashboard follows a sweep.

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
    /// Per layer: the update-to-weight ratio, dead ReLUs, weight and gradient sizes, and the
    /// weights' distributions over the steps.
    Layers,
    /// A sweep's trials, ranked, to overlay on the charts (`digitdash watch SWEEP_DIR`).
    Sweep,
}

impl Page {
    /// Every page, in tab order.
    pub const ALL: [Page; 5] = [
        Page::Training,
        Page::Inspect,
        Page::Draw,
        Page::Layers,
        Page::Sweep,
    ];

    /// The tab's name.
    pub fn title(self) -> &'static str {
        match self {
            Page::Training => "Training",
            Page::Inspect => "Inspect",
            Page::Draw => "Draw",
            Page::Layers => "Layers",
            Page::Sweep => "Sweep",
        }
    }

    /// The key that opens the page.
    pub fn key(self) -> char {
        match self {
            Page::Training => '1',
            Page::Inspect => '2',
            Page::Draw => '3',
            Page::Layers => '4',
            Page::Sweep => '5',
        }
    }
}
