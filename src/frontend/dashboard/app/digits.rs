//! The digit viewer's state: which test image is shown and what the model last said about it.

use std::sync::Arc;

use crate::data::{Split, CLASSES};
use crate::model::score::argmax;

/// Images skipped by the page keys.
pub const PAGE: isize = 100;

/// The test set, the latest predictions on it, and the image being looked at.
#[derive(Debug, Clone, Default)]
pub struct DigitViewer {
    test: Option<Arc<Split>>,
    probabilities: Option<Arc<Vec<f32>>>,
    evaluated_at: Option<u64>,
    mistakes: usize,
    index: usize,
}

/// One test image with what is known about it, for drawing.
#[derive(Debug, Clone, Copy)]
pub struct DigitView<'a> {
    /// Position in the test set.
    pub index: usize,
    /// Size of the test set.
    pub total: usize,
    /// The 784 pixels, row after row.
    pub pixels: &'a [u8],
    /// The true digit.
    pub label: u8,
    /// The latest class probabilities, if an evaluation has run.
    pub probabilities: Option<&'a [f32]>,
}

impl DigitView<'_> {
    /// The most probable class, if predicted.
    pub fn prediction(&self) -> Option<u8> {
        // A class index below CLASSES (10), so it fits a u8.
        self.probabilities.map(|p| argmax(p) as u8)
    }
}

impl DigitViewer {
    /// Takes the test set (at the start of training).
    pub fn set_test(&mut self, test: Arc<Split>) {
        self.index = self.index.min(test.len().saturating_sub(1));
        self.test = Some(test);
        self.refresh_mistakes();
    }

    /// Takes the probabilities of an evaluation after `step` (10 per test image).
    pub fn set_predictions(&mut self, step: u64, probabilities: Arc<Vec<f32>>) {
        self.probabilities = Some(probabilities);
        self.evaluated_at = Some(step);
        self.refresh_mistakes();
    }

    /// The step of the evaluation whose predictions are shown.
    pub fn evaluated_at(&self) -> Option<u64> {
        self.evaluated_at
    }

    /// How many test images the latest predictions get wrong.
    pub fn mistakes(&self) -> usize {
        self.mistakes
    }

    /// Whether the test set has arrived.
    pub fn has_data(&self) -> bool {
        self.test.as_ref().is_some_and(|t| !t.is_empty())
    }

    /// The image shown now, if the test set has arrived.
    pub fn current(&self) -> Option<DigitView<'_>> {
        self.view(self.index)
    }

    /// Test image `index` with what the latest evaluation said about it.
    pub fn view(&self, index: usize) -> Option<DigitView<'_>> {
        let test = self.test.as_deref().filter(|t| index < t.len())?;
        Some(DigitView {
            index,
            total: test.len(),
            pixels: test.image(index),
            label: test.label(index),
            probabilities: self.probabilities_of(index),
        })
    }

    /// The test set, once it has arrived.
    pub fn test(&self) -> Option<&Split> {
        self.test.as_deref()
    }

    /// Moves `delta` images on (or back), wrapping around the test set.
    pub fn move_by(&mut self, delta: isize) {
        let Some(len) = self.test.as_ref().map(|t| t.len()).filter(|&n| n > 0) else {
            return;
        };
        let len = len as isize;
        self.index = (self.index as isize + delta).rem_euclid(len) as usize;
    }

    /// Jumps to the next (or previous) image the model gets wrong. Returns false, leaving the
    /// view where it is, when there are no predictions or no mistakes.
    pub fn jump_to_mistake(&mut self, forward: bool) -> bool {
        let Some(len) = self.test.as_ref().map(|t| t.len()).filter(|&n| n > 0) else {
            return false;
        };
        let found = (1..=len)
            .map(|k| {
                if forward {
                    (self.index + k) % len
                } else {
                    (self.index + len - k % len) % len
                }
            })
            .find(|&i| self.is_mistake(i));
        if let Some(i) = found {
            self.index = i;
        }
        found.is_some()
    }

    fn is_mistake(&self, i: usize) -> bool {
        let (Some(test), Some(p)) = (self.test.as_deref(), self.probabilities_of(i)) else {
            return false;
        };
        argmax(p) != usize::from(test.label(i))
    }

    fn probabilities_of(&self, i: usize) -> Option<&[f32]> {
        self.probabilities
            .as_deref()
            .and_then(|p| p.get(i * CLASSES..(i + 1) * CLASSES))
    }

    fn refresh_mistakes(&mut self) {
        let len = self.test.as_ref().map_or(0, |t| t.len());
        self.mistakes = (0..len).filter(|&i| self.is_mistake(i)).count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGE_PIXELS;

    fn viewer(labels: &[u8]) -> DigitViewer {
        let images = vec![0u8; labels.len() * IMAGE_PIXELS];
        let split = Split::new(images, labels.to_vec()).expect("valid split");
        let mut v = DigitViewer::default();
        v.set_test(Arc::new(split));
        v
    }

    fn one_hot(classes: &[u8]) -> Arc<Vec<f32>> {
        let mut p = vec![0.0; classes.len() * CLASSES];
        for (i, &c) in classes.iter().enumerate() {
            p[i * CLASSES + usize::from(c)] = 1.0;
        }
        Arc::new(p)
    }

    #[test]
    fn nothing_to_show_or_move_before_data() {
        let mut v = DigitViewer::default();
        assert!(v.current().is_none());
        v.move_by(5);
        assert!(!v.jump_to_mistake(true));
        assert!(!v.has_data());
    }

    #[test]
    fn browsing_wraps_around() {
        let mut v = viewer(&[0, 1, 2]);
        v.move_by(-1);
        assert_eq!(v.current().map(|d| d.index), Some(2));
        v.move_by(PAGE);
        assert_eq!(v.current().map(|d| d.index), Some(0));
    }

    #[test]
    fn the_next_mistake_is_found_both_ways() {
        let mut v = viewer(&[0, 1, 2, 3, 4]);
        assert!(!v.jump_to_mistake(true), "no predictions yet");
        v.set_predictions(100, one_hot(&[0, 7, 2, 3, 9]));
        assert_eq!(v.mistakes(), 2);
        assert!(v.jump_to_mistake(true));
        assert_eq!(v.current().map(|d| d.index), Some(1));
        assert!(v.jump_to_mistake(true));
        assert_eq!(v.current().map(|d| d.index), Some(4));
        assert!(v.jump_to_mistake(true));
        assert_eq!(v.current().map(|d| d.index), Some(1), "wraps to the first");
        assert!(v.jump_to_mistake(false));
        assert_eq!(v.current().map(|d| d.index), Some(4));
        let current = v.current().expect("a digit");
        assert_eq!((current.label, current.prediction()), (4, Some(9)));
    }

    #[test]
    fn no_mistakes_leaves_the_view_alone() {
        let mut v = viewer(&[0, 1]);
        v.set_predictions(1, one_hot(&[0, 1]));
        v.move_by(1);
        assert!(!v.jump_to_mistake(true));
        assert_eq!(v.current().map(|d| d.index), Some(1));
    }

    #[test]
    fn short_probabilities_mean_no_prediction() {
        let mut v = viewer(&[0, 1]);
        v.set_predictions(1, Arc::new(vec![0.5; CLASSES]));
        v.move_by(1);
        assert!(v.current().and_then(|d| d.probabilities).is_none());
    }
}
