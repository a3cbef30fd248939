//! Test-set evaluation: accuracy, loss and every image's class probabilities.

use dfdx::prelude::*;

use crate::data::Split;
use crate::model::{self, Network, CLASSES, IMAGE_PIXELS};

/// Accuracy, loss and probabilities of a model on a set of images.
#[derive(Debug, Clone)]
pub struct Scores {
    /// Fraction classified right.
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// Softmax probabilities, `CLASSES` per image.
    pub probabilities: Vec<f32>,
}

/// The model's logits for every image of `split`, computed `batch` images at a time without
/// a tape.
pub fn logits(model: &Network, device: &Cpu, split: &Split, batch: usize) -> Vec<f32> {
    let mut all = vec![0.0f32; split.len() * CLASSES];
    let indices: Vec<usize> = (0..split.len()).collect();
    for (chunk, out) in indices
        .chunks(batch.max(1))
        .zip(all.chunks_mut(batch.max(1) * CLASSES))
    {
        let mut pixels = vec![0.0f32; chunk.len() * IMAGE_PIXELS];
        split.fill_images(chunk, &mut pixels);
        let x = model::image_batch(device, pixels);
        model.forward(x).copy_into(out);
    }
    all
}

/// Scores the model on every image of `split`.
pub fn evaluate(model: &Network, device: &Cpu, split: &Split, batch: usize) -> Scores {
    let mut probabilities = logits(model, device, split, batch);
    let mut correct = 0usize;
    let mut loss = 0.0f64;
    for (i, row) in probabilities.chunks_mut(CLASSES).enumerate() {
        let label = split.label(i) as usize;
        let log_probs = log_softmax(row);
        loss -= log_probs[label] as f64;
        if argmax(row) == label {
            correct += 1;
        }
        for (p, lp) in row.iter_mut().zip(log_probs) {
            *p = lp.exp();
        }
    }
    let n = split.len().max(1) as f64;
    Scores {
        accuracy: correct as f64 / n,
        loss: loss / n,
        probabilities,
    }
}

/// Index of the largest value (the first one on ties).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Counts of (true class, predicted class) for rows of class scores (`CLASSES` per image,
/// probabilities or logits) against the images' labels: `matrix[truth][predicted]`.
pub fn confusion_matrix(scores: &[f32], labels: &[u8]) -> [[usize; CLASSES]; CLASSES] {
    let mut matrix = [[0usize; CLASSES]; CLASSES];
    for (row, &label) in scores.chunks(CLASSES).zip(labels) {
        matrix[usize::from(label)][argmax(row)] += 1;
    }
    matrix
}

/// Numerically stable log-softmax of one row of logits.
pub(crate) fn log_softmax(row: &[f32]) -> [f32; CLASSES] {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
    let log_sum = sum.ln();
    let mut out = [0.0f32; CLASSES];
    for (o, &v) in out.iter_mut().zip(row) {
        // Shifting by the max first keeps large logits exact.
        *o = (v - max) - log_sum;
    }
    out
}

/// Fraction of rows of `logits` whose largest entry is at the one-hot position.
pub fn batch_accuracy(logits: &[f32], one_hot: &[f32]) -> f32 {
    let rows = logits.len() / CLASSES;
    let correct = logits
        .chunks(CLASSES)
        .zip(one_hot.chunks(CLASSES))
        .filter(|(l, y)| argmax(l) == argmax(y))
        .count();
    correct as f32 / rows.max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_and_batch_accuracy() {
        assert_eq!(argmax(&[0.1, 3.0, -1.0, 3.0]), 1);
        let logits = [
            [5.0, 0., 0., 0., 0., 0., 0., 0., 0., 0.],
            [0., 0., 0., 0., 0., 0., 0., 0., 0., 2.0],
        ]
        .concat();
        let labels = [
            [1.0, 0., 0., 0., 0., 0., 0., 0., 0., 0.],
            [0., 1.0, 0., 0., 0., 0., 0., 0., 0., 0.],
        ]
        .concat();
        assert_eq!(batch_accuracy(&logits, &labels), 0.5);
    }

    #[test]
    fn log_softmax_is_normalised_and_stable() {
        let row = [1000.0, 1000.0, 0., 0., 0., 0., 0., 0., 0., 0.];
        let lp = log_softmax(&row);
        let total: f32 = lp.iter().map(|v| v.exp()).sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert!((lp[0] - (0.5f32).ln()).abs() < 1e-5);
    }
}
