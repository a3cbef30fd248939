//! What the network's outputs mean: the class with the highest score, probabilities from
//! logits, a batch of images classified, a set of images scored (accuracy, loss, every
//! image's probabilities) and the confusion matrix. No tape: nothing here trains.

use dfdx::prelude::*;

use super::conv_kernels::Layout;
use super::{Layers, Network, CLASSES, IMAGE_PIXELS, IMAGE_SIDE};
use crate::data::Split;

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

/// Numerically stable log-softmax of one row of logits.
pub fn log_softmax(row: &[f32]) -> [f32; CLASSES] {
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

/// Turns each row of `CLASSES` logits into probabilities, in place.
pub fn softmax_rows(values: &mut [f32]) {
    for row in values.chunks_mut(CLASSES) {
        let log_probs = log_softmax(row);
        for (p, lp) in row.iter_mut().zip(log_probs) {
            *p = lp.exp();
        }
    }
}

/// The model's logits for images given as `IMAGE_PIXELS` values each (0..1, white digit on
/// black), in one forward pass: `CLASSES` an image. The layers pass plain values along, the
/// bits of `model.forward` without a dfdx tensor between them (reading one is a copy; at a
/// batch of 1,000 that was 40 MB a pass). Dropout passes everything at inference.
pub fn logits_of(model: &Network, _device: &Cpu, pixels: &[f32]) -> Vec<f32> {
    let images = pixels.len() / IMAGE_PIXELS;
    if images == 0 {
        return Vec::new();
    }
    let side = IMAGE_SIDE;
    let pixels = &pixels[..images * IMAGE_PIXELS];
    // The first block's output goes to the second channel-last, as both kernels take it;
    // the second's is the dense layer's input, channel-first as the network flattens it.
    let (first, last) = (Layout::ChannelFirst, Layout::ChannelLast);
    let pooled = model
        .conv1()
        .pooled_values(pixels, (images, side, side), (first, last));
    let second = model
        .conv2()
        .pooled_values(&pooled, (images, side / 2, side / 2), (last, first));
    let hidden = model.hidden().values(&second, images);
    model.output().values(&hidden, images)
}

/// Class probabilities for images given as `IMAGE_PIXELS` values each: `CLASSES` an image.
pub fn classify(model: &Network, device: &Cpu, pixels: &[f32]) -> Vec<f32> {
    let mut values = logits_of(model, device, pixels);
    softmax_rows(&mut values);
    values
}

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

/// The model's logits for every image of `split`, computed `batch` images at a time.
pub fn logits(model: &Network, device: &Cpu, split: &Split, batch: usize) -> Vec<f32> {
    let batch = batch.max(1);
    let mut all = Vec::with_capacity(split.len() * CLASSES);
    let indices: Vec<usize> = (0..split.len()).collect();
    let mut pixels = Vec::with_capacity(batch * IMAGE_PIXELS);
    for chunk in indices.chunks(batch) {
        #[cfg(test)]
        scored::note(split);
        pixels.resize(chunk.len() * IMAGE_PIXELS, 0.0);
        split.fill_images(chunk, &mut pixels);
        all.extend(logits_of(model, device, &pixels));
    }
    all
}

/// Scores the model on every image of `split`, `batch` images at a time.
pub fn evaluate(model: &Network, device: &Cpu, split: &Split, batch: usize) -> Scores {
    let mut probabilities = logits(model, device, split, batch);
    let mut correct = 0usize;
    let mut loss = 0.0f64;
    for (i, row) in probabilities.chunks(CLASSES).enumerate() {
        let label = split.label(i) as usize;
        loss -= f64::from(log_softmax(row)[label]);
        if argmax(row) == label {
            correct += 1;
        }
    }
    softmax_rows(&mut probabilities);
    let n = split.len().max(1) as f64;
    Scores {
        accuracy: correct as f64 / n,
        loss: loss / n,
        probabilities,
    }
}

/// Mean cross-entropy of the model on the images `indices` of `split`, in one forward pass.
pub fn mean_loss(model: &Network, device: &Cpu, split: &Split, indices: &[usize]) -> f64 {
    let mut pixels = vec![0.0f32; indices.len() * IMAGE_PIXELS];
    split.fill_images(indices, &mut pixels);
    let logits = logits_of(model, device, &pixels);
    let total: f64 = logits
        .chunks(CLASSES)
        .zip(indices)
        .map(|(row, &i)| -f64::from(log_softmax(row)[usize::from(split.label(i))]))
        .sum();
    total / indices.len().max(1) as f64
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

/// The unit tests' instrument: every batch of a split scored, by the split's first image, so
/// a test can count what was passed through the network.
#[cfg(test)]
pub(crate) mod scored {
    use std::sync::Mutex;

    use crate::data::Split;

    static BATCHES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

    /// Notes one batch of `split` scored.
    pub fn note(split: &Split) {
        if !split.is_empty() {
            let first = split.image(0).to_vec();
            BATCHES
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(first);
        }
    }

    /// Batches scored so far of the split whose first image is `first`.
    pub fn batches_of(first: &[u8]) -> usize {
        let batches = BATCHES.lock().unwrap_or_else(|p| p.into_inner());
        batches.iter().filter(|b| b.as_slice() == first).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{build, image_batch, Init};

    #[test]
    fn logits_passed_as_values_are_the_bits_of_the_networks_forward() {
        for (seed, images) in [(1u64, 7usize), (2, 64)] {
            let device = Cpu::seed_from_u64(seed);
            let mut model = build(&device, Init::FanIn);
            crate::model::set_dropout(&mut model, 0.5);
            let pixels: Vec<f32> = (0..images * IMAGE_PIXELS)
                .map(|i| ((i * 37 + seed as usize) % 256) as f32 / 255.0)
                .collect();
            let mut want = vec![0.0f32; images * CLASSES];
            model
                .forward(image_batch(&device, pixels.clone()))
                .copy_into(&mut want);
            let got = logits_of(&model, &device, &pixels);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{images} images");
        }
        assert!(logits_of(&build(&Cpu::default(), Init::FanIn), &Cpu::default(), &[]).is_empty());
    }

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
        let mut rows = [row, row].concat();
        softmax_rows(&mut rows);
        assert!((rows[10] - 0.5).abs() < 1e-6 && rows[12] < 1e-30);
    }

    #[test]
    fn a_batch_is_classified_as_one_image_at_a_time() {
        let device = Cpu::seed_from_u64(1);
        let model = build(&device, Init::FanIn);
        let mut pixels = vec![0.0f32; 2 * IMAGE_PIXELS];
        pixels[300..320].fill(1.0);
        pixels[IMAGE_PIXELS + 500..IMAGE_PIXELS + 510].fill(1.0);
        let both = classify(&model, &device, &pixels);
        let second = classify(&model, &device, &pixels[IMAGE_PIXELS..]);
        assert_eq!(both.len(), 2 * CLASSES);
        for (a, b) in both[CLASSES..].iter().zip(&second) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        assert!((both[..CLASSES].iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
