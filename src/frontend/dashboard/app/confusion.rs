//! The confusion matrix of the latest evaluation, and which test images fall in each cell.

use crate::data::{Split, CLASSES};
use crate::model::score::{argmax, confusion_matrix};

/// Counts of (true class, predicted class) over the test set after one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Confusion {
    step: u64,
    counts: [[usize; CLASSES]; CLASSES],
    /// Test-set indices per cell, row-major (true class, then predicted).
    cells: Vec<Vec<usize>>,
}

impl Confusion {
    /// The matrix of an evaluation after `step`: `probabilities` holds `CLASSES` values per
    /// image of `test`, in order.
    pub fn new(step: u64, probabilities: &[f32], test: &Split) -> Self {
        let labels = test.labels();
        let mut cells = vec![Vec::new(); CLASSES * CLASSES];
        for (i, row) in probabilities.chunks(CLASSES).enumerate().take(labels.len()) {
            cells[usize::from(labels[i]) * CLASSES + argmax(row)].push(i);
        }
        Self {
            step,
            counts: confusion_matrix(probabilities, labels),
            cells,
        }
    }

    /// The step of the evaluation.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Images of class `truth` predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        self.counts[truth][predicted]
    }

    /// The largest count in the matrix (for shading).
    pub fn max_count(&self) -> usize {
        self.counts.iter().flatten().copied().max().unwrap_or(0)
    }

    /// The fraction of class `truth` predicted right.
    pub fn class_accuracy(&self, truth: usize) -> f64 {
        let total: usize = self.counts[truth].iter().sum();
        self.counts[truth][truth] as f64 / total.max(1) as f64
    }

    /// The test-set indices of the images in a cell, in test-set order.
    pub fn images(&self, truth: usize, predicted: usize) -> &[usize] {
        &self.cells[truth * CLASSES + predicted]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGE_PIXELS;

    fn one_hot(class: usize) -> [f32; CLASSES] {
        let mut p = [0.0; CLASSES];
        p[class] = 1.0;
        p
    }

    #[test]
    fn cells_hold_exactly_the_images_of_their_true_and_predicted_class() {
        let labels = vec![3u8, 3, 5, 3, 5, 0];
        let predicted = [3usize, 5, 5, 5, 3, 0];
        let test = Split::new(vec![0; labels.len() * IMAGE_PIXELS], labels).unwrap();
        let probabilities: Vec<f32> = predicted.iter().flat_map(|&c| one_hot(c)).collect();
        let confusion = Confusion::new(4, &probabilities, &test);
        assert_eq!(confusion.step(), 4);
        assert_eq!(confusion.images(3, 5), &[1, 3]);
        assert_eq!(confusion.count(3, 5), 2);
        assert_eq!(confusion.images(5, 3), &[4]);
        assert_eq!(confusion.images(3, 3), &[0]);
        assert!(confusion.images(0, 3).is_empty());
        assert!((confusion.class_accuracy(3) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(confusion.class_accuracy(7), 0.0, "a class with no images");
        assert_eq!(confusion.max_count(), 2);
        let total: usize = (0..CLASSES)
            .flat_map(|t| (0..CLASSES).map(move |p| (t, p)))
            .map(|(t, p)| confusion.count(t, p))
            .sum();
        assert_eq!(total, 6);
    }
}
