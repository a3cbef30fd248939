//! The digit viewer's state: the held-out images it can show (the validation split and the
//! test set), which one and which image is shown, and what the model last said about them.

use std::sync::Arc;

use super::inspection::DigitRef;
use crate::data::{Split, CLASSES};
use crate::model::score::argmax;
use crate::run::record::EvalSplit;

/// Images skipped by the page keys.
pub const PAGE: isize = 100;

/// One set of images, its latest predictions, and the image being looked at.
#[derive(Debug, Clone, Default)]
struct Shelf {
    images: Option<Arc<Split>>,
    probabilities: Option<Arc<Vec<f32>>>,
    evaluated_at: Option<u64>,
    mistakes: usize,
    index: usize,
}

/// The validation split and the test set, each with its latest predictions; one is shown.
#[derive(Debug, Clone, Default)]
pub struct DigitViewer {
    validation: Shelf,
    test: Shelf,
    shown: ShownSet,
}

/// Which set the viewer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ShownSet {
    Validation,
    #[default]
    Test,
}

/// One image with what is known about it, for drawing.
#[derive(Debug, Clone, Copy)]
pub struct DigitView<'a> {
    /// The set it belongs to.
    pub set: EvalSplit,
    /// Position in its set.
    pub index: usize,
    /// Size of its set.
    pub total: usize,
    /// The 784 pixels, row after row.
    pub pixels: &'a [u8],
    /// The true digit.
    pub label: u8,
    /// The latest class probabilities, if an evaluation of the set has run.
    pub probabilities: Option<&'a [f32]>,
}

impl DigitView<'_> {
    /// Which image it is.
    pub fn reference(&self) -> DigitRef {
        DigitRef {
            set: self.set,
            index: self.index,
        }
    }

    /// The most probable class, if predicted.
    pub fn prediction(&self) -> Option<u8> {
        // A class index below CLASSES (10), so it fits a u8.
        self.probabilities.map(|p| argmax(p) as u8)
    }
}

impl DigitViewer {
    /// Takes the sets (at the start of training): the validation split, shown first when it
    /// has images, and the test set.
    pub fn set_images(&mut self, validation: Arc<Split>, test: Arc<Split>) {
        self.shown = if validation.is_empty() {
            ShownSet::Test
        } else {
            ShownSet::Validation
        };
        for (shelf, images) in [(&mut self.validation, validation), (&mut self.test, test)] {
            shelf.index = shelf.index.min(images.len().saturating_sub(1));
            shelf.images = Some(images);
            shelf.refresh_mistakes();
        }
    }

    /// Takes the probabilities of an evaluation of `set` after `step` (10 per image).
    pub fn set_predictions(&mut self, set: EvalSplit, step: u64, probabilities: Arc<Vec<f32>>) {
        let Some(shelf) = self.shelf_mut(set) else {
            return;
        };
        shelf.probabilities = Some(probabilities);
        shelf.evaluated_at = Some(step);
        shelf.refresh_mistakes();
    }

    /// The set shown.
    pub fn set(&self) -> EvalSplit {
        match self.shown {
            ShownSet::Validation => EvalSplit::Validation,
            ShownSet::Test => EvalSplit::Test,
        }
    }

    /// Whether `set` has images to show.
    pub fn has(&self, set: EvalSplit) -> bool {
        self.shelf(set).is_some_and(Shelf::has_data)
    }

    /// Shows `set`; false, changing nothing, when it has no images.
    pub fn show(&mut self, set: EvalSplit) -> bool {
        let shown = match set {
            EvalSplit::Validation => ShownSet::Validation,
            EvalSplit::Test => ShownSet::Test,
            EvalSplit::Train => return false,
        };
        if !self.has(set) {
            return false;
        }
        self.shown = shown;
        true
    }

    /// The step of the evaluation whose predictions of the shown set are there.
    pub fn evaluated_at(&self) -> Option<u64> {
        self.current_shelf().evaluated_at
    }

    /// The step of the latest evaluation of `set`, if there was one.
    pub fn evaluated_at_of(&self, set: EvalSplit) -> Option<u64> {
        self.shelf(set).and_then(|s| s.evaluated_at)
    }

    /// How many images of the shown set the latest predictions get wrong.
    pub fn mistakes(&self) -> usize {
        self.current_shelf().mistakes
    }

    /// Whether the shown set has arrived.
    pub fn has_data(&self) -> bool {
        self.current_shelf().has_data()
    }

    /// The image shown now, if the set has arrived.
    pub fn current(&self) -> Option<DigitView<'_>> {
        self.view(self.current_shelf().index)
    }

    /// Image `index` of the shown set with what the latest evaluation said about it.
    pub fn view(&self, index: usize) -> Option<DigitView<'_>> {
        let shelf = self.current_shelf();
        let images = shelf.images.as_deref().filter(|t| index < t.len())?;
        Some(DigitView {
            set: self.set(),
            index,
            total: images.len(),
            pixels: images.image(index),
            label: images.label(index),
            probabilities: shelf.probabilities_of(index),
        })
    }

    /// The shown set's images, once they have arrived.
    pub fn images(&self) -> Option<&Split> {
        self.current_shelf().images.as_deref()
    }

    /// The shown set's latest probabilities, with the step they are of.
    pub fn predictions(&self) -> Option<(u64, &Arc<Vec<f32>>)> {
        let shelf = self.current_shelf();
        Some((shelf.evaluated_at?, shelf.probabilities.as_ref()?))
    }

    /// Moves `delta` images on (or back), wrapping around the shown set.
    pub fn move_by(&mut self, delta: isize) {
        let shelf = self.current_shelf_mut();
        let Some(len) = shelf.len().filter(|&n| n > 0) else {
            return;
        };
        let len = len as isize;
        shelf.index = (shelf.index as isize + delta).rem_euclid(len) as usize;
    }

    /// Jumps to the next (or previous) image the model gets wrong. Returns false, leaving the
    /// view where it is, when there are no predictions or no mistakes.
    pub fn jump_to_mistake(&mut self, forward: bool) -> bool {
        let shelf = self.current_shelf_mut();
        let Some(len) = shelf.len().filter(|&n| n > 0) else {
            return false;
        };
        let found = (1..=len)
            .map(|k| {
                if forward {
                    (shelf.index + k) % len
                } else {
                    (shelf.index + len - k % len) % len
                }
            })
            .find(|&i| shelf.is_mistake(i));
        if let Some(i) = found {
            shelf.index = i;
        }
        found.is_some()
    }

    fn shelf(&self, set: EvalSplit) -> Option<&Shelf> {
        match set {
            EvalSplit::Validation => Some(&self.validation),
            EvalSplit::Test => Some(&self.test),
            EvalSplit::Train => None,
        }
    }

    fn shelf_mut(&mut self, set: EvalSplit) -> Option<&mut Shelf> {
        match set {
            EvalSplit::Validation => Some(&mut self.validation),
            EvalSplit::Test => Some(&mut self.test),
            EvalSplit::Train => None,
        }
    }

    fn current_shelf(&self) -> &Shelf {
        match self.shown {
            ShownSet::Validation => &self.validation,
            ShownSet::Test => &self.test,
        }
    }

    fn current_shelf_mut(&mut self) -> &mut Shelf {
        match self.shown {
            ShownSet::Validation => &mut self.validation,
            ShownSet::Test => &mut self.test,
        }
    }
}

impl Shelf {
    fn has_data(&self) -> bool {
        self.images.as_ref().is_some_and(|t| !t.is_empty())
    }

    fn len(&self) -> Option<usize> {
        self.images.as_ref().map(|t| t.len())
    }

    fn is_mistake(&self, i: usize) -> bool {
        let (Some(images), Some(p)) = (self.images.as_deref(), self.probabilities_of(i)) else {
            return false;
        };
        argmax(p) != usize::from(images.label(i))
    }

    fn probabilities_of(&self, i: usize) -> Option<&[f32]> {
        self.probabilities
            .as_deref()
            .and_then(|p| p.get(i * CLASSES..(i + 1) * CLASSES))
    }

    fn refresh_mistakes(&mut self) {
        let len = self.len().unwrap_or(0);
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
        v.set_images(Arc::default(), Arc::new(split));
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
        v.set_predictions(EvalSplit::Test, 100, one_hot(&[0, 7, 2, 3, 9]));
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
        v.set_predictions(EvalSplit::Test, 1, one_hot(&[0, 1]));
        v.move_by(1);
        assert!(!v.jump_to_mistake(true));
        assert_eq!(v.current().map(|d| d.index), Some(1));
    }

    #[test]
    fn short_probabilities_mean_no_prediction() {
        let mut v = viewer(&[0, 1]);
        v.set_predictions(EvalSplit::Test, 1, Arc::new(vec![0.5; CLASSES]));
        v.move_by(1);
        assert!(v.current().and_then(|d| d.probabilities).is_none());
    }
}

#[cfg(test)]
mod two_sets {
    use super::*;
    use crate::data::IMAGE_PIXELS;

    #[test]
    fn the_validation_split_shows_first_and_each_set_keeps_its_own_place() {
        let split = |labels: &[u8]| {
            Arc::new(Split::new(vec![0u8; labels.len() * IMAGE_PIXELS], labels.to_vec()).unwrap())
        };
        let mut v = DigitViewer::default();
        v.set_images(split(&[1, 2, 3]), split(&[7, 8]));
        assert_eq!(v.set(), EvalSplit::Validation);
        v.move_by(2);
        assert_eq!(v.current().map(|d| (d.label, d.index)), Some((3, 2)));
        assert!(v.show(EvalSplit::Test));
        assert_eq!(
            v.current().map(|d| (d.set, d.label)),
            Some((EvalSplit::Test, 7))
        );
        v.set_predictions(EvalSplit::Validation, 5, Arc::new(vec![0.1; 3 * CLASSES]));
        assert_eq!(v.evaluated_at(), None, "the test set has no predictions");
        assert!(v.show(EvalSplit::Validation));
        assert_eq!(
            (v.evaluated_at(), v.current().map(|d| d.index)),
            (Some(5), Some(2))
        );
        let mut without = DigitViewer::default();
        without.set_images(Arc::default(), split(&[7]));
        assert!(!without.show(EvalSplit::Validation));
        assert_eq!(without.set(), EvalSplit::Test);
    }
}
