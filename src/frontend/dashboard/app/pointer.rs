//! Mouse input, after the screen layout has said what is under the pointer: the app never
//! sees screen coordinates, only what was hit.

use super::canvas::Stroke;
use super::page::Page;

/// What the pointer is over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hit {
    /// A page's tab.
    Tab(Page),
    /// A cell of the confusion matrix: (true class, predicted class).
    Cell(usize, usize),
    /// A tile of the worst-loss gallery: its place in the ranking.
    GalleryTile(usize),
    /// A point of the draw pad, in pixels (0..28 each way).
    Canvas(f32, f32),
    /// A trial's row on the Sweep page, by the trial's number.
    Trial(usize),
}

/// A mouse action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pointer {
    /// A button pressed (left: draw or select; right: erase) or dragged over `Hit`.
    Press(Hit, Stroke),
    /// The button released.
    Release,
}
