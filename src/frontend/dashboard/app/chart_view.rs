//! How the Training page's charts are drawn: which steps, raw or smoothed (and how much), loss
//! on a log or linear scale, and a value cursor.

use super::series::Window;

use crate::run::smoothing::{DEFAULT_WEIGHT, MAX_WEIGHT};

/// TensorBoard's default smoothing weight.
pub const DEFAULT_SMOOTHING: f32 = DEFAULT_WEIGHT as f32;
/// The largest smoothing weight.
pub const MAX_SMOOTHING: f32 = MAX_WEIGHT as f32;
/// How much `[` and `]` change the smoothing weight.
pub const SMOOTHING_STEP: f32 = 0.05;
/// How far `<` and `>` move the cursor, as a fraction of the chart's width.
pub const CURSOR_STEP: f64 = 0.025;

/// The charts' settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartView {
    /// Recent steps or the whole run.
    pub window: Window,
    /// Whether a smoothed line is drawn over the (then faint) raw values.
    pub smoothed: bool,
    /// The smoothing weight, 0 to [`MAX_SMOOTHING`].
    pub weight: f32,
    /// Whether the loss is drawn on a log scale.
    pub log_loss: bool,
    /// Where the value cursor stands, as a fraction of the chart's width; `None` when off.
    pub cursor: Option<f64>,
}

impl Default for ChartView {
    fn default() -> Self {
        Self {
            window: Window::Recent,
            smoothed: true,
            weight: DEFAULT_SMOOTHING,
            log_loss: true,
            cursor: None,
        }
    }
}

impl ChartView {
    /// The smoothing weight in use, if smoothing is on.
    pub fn smoothing(&self) -> Option<f32> {
        self.smoothed.then_some(self.weight)
    }

    /// Raises (`more`) or lowers the smoothing weight by one notch, turning smoothing on.
    pub fn smooth(&mut self, more: bool) {
        let notches = (self.weight / SMOOTHING_STEP).round() + if more { 1.0 } else { -1.0 };
        self.weight = (notches * SMOOTHING_STEP).clamp(0.0, MAX_SMOOTHING);
        self.smoothed = true;
    }

    /// Shows the cursor (at the right end) or hides it.
    pub fn toggle_cursor(&mut self) {
        self.cursor = match self.cursor {
            Some(_) => None,
            None => Some(1.0),
        };
    }

    /// Moves the cursor left or right (showing it first if it is hidden).
    pub fn move_cursor(&mut self, right: bool) {
        let at = self.cursor.unwrap_or(1.0);
        let delta = if right { CURSOR_STEP } else { -CURSOR_STEP };
        self.cursor = Some((at + delta).clamp(0.0, 1.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_steps_by_notches_between_zero_and_the_maximum() {
        let mut view = ChartView::default();
        assert_eq!(view.smoothing(), Some(0.6));
        view.smooth(true);
        assert!((view.weight - 0.65).abs() < 1e-6);
        for _ in 0..20 {
            view.smooth(true);
        }
        assert_eq!(view.weight, MAX_SMOOTHING);
        view.smoothed = false;
        assert_eq!(view.smoothing(), None);
        for _ in 0..30 {
            view.smooth(false);
        }
        assert_eq!(view.smoothing(), Some(0.0));
    }

    #[test]
    fn the_cursor_appears_at_the_right_and_stays_on_the_chart() {
        let mut view = ChartView::default();
        view.move_cursor(true);
        assert_eq!(view.cursor, Some(1.0));
        view.move_cursor(false);
        assert!((view.cursor.unwrap() - (1.0 - CURSOR_STEP)).abs() < 1e-12);
        view.toggle_cursor();
        assert_eq!(view.cursor, None);
        for _ in 0..100 {
            view.move_cursor(false);
        }
        assert_eq!(view.cursor, Some(0.0));
    }
}
