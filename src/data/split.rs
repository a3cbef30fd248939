//! The dataset in memory: a [`Split`] of images and labels, the [`Mnist`] pair of splits, and
//! filling `f32` batch buffers from them.
//!
//! A split keeps its pixels as `u8` and converts only the examples a batch asks for.

use std::path::Path;

use super::error::DataError;
use super::files::{raw_name, MNIST_FILE_NAMES};
use super::idx;
use super::shape::{CLASSES, IMAGE_PIXELS, IMAGE_SIDE};

/// One half of MNIST (training or test): images and their labels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    /// `len() * IMAGE_PIXELS` pixels, image after image, row after row.
    images: Vec<u8>,
    /// One label 0..=9 per image.
    labels: Vec<u8>,
}

/// The whole dataset: 60,000 training and 10,000 test examples for the real MNIST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mnist {
    /// The training split.
    pub train: Split,
    /// The test split.
    pub test: Split,
}

impl Split {
    /// Builds a split from raw pixels (784 per image) and labels; `None` if the lengths disagree
    /// or a label is above 9.
    pub fn new(images: Vec<u8>, labels: Vec<u8>) -> Option<Self> {
        let sizes_agree = Some(images.len()) == labels.len().checked_mul(IMAGE_PIXELS);
        let labels_ok = labels.iter().all(|&l| usize::from(l) < CLASSES);
        (sizes_agree && labels_ok).then_some(Self { images, labels })
    }

    /// Builds a split from pixels and labels the caller has already checked as [`Split::new`]
    /// would (the loader does, with errors that name the file).
    pub(super) fn from_checked(images: Vec<u8>, labels: Vec<u8>) -> Self {
        debug_assert_eq!(images.len(), labels.len() * IMAGE_PIXELS);
        debug_assert!(labels.iter().all(|&l| usize::from(l) < CLASSES));
        Self { images, labels }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The 784 pixels of image `i`, row after row. Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }

    /// The label (0..=9) of example `i`. Panics if `i >= len()`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// All labels, in order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// How many examples of each digit the split holds.
    pub fn class_counts(&self) -> [usize; CLASSES] {
        let mut counts = [0; CLASSES];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// Takes the first `n` examples out (all of them if `n >= len()`) and returns them; the
    /// rest stay, in order.
    pub fn split_off_front(&mut self, n: usize) -> Split {
        let n = n.min(self.len());
        let rest_images = self.images.split_off(n * IMAGE_PIXELS);
        let rest_labels = self.labels.split_off(n);
        Split {
            images: std::mem::replace(&mut self.images, rest_images),
            labels: std::mem::replace(&mut self.labels, rest_labels),
        }
    }

    /// A copy of the first `n` examples (all of them if `n >= len()`).
    pub fn first(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            images: self.images[..n * IMAGE_PIXELS].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// Writes the pixels of the images at `indices`, in order, scaled to 0..=1 (`x / 255`).
    ///
    /// # Panics
    /// If `out.len() != indices.len() * IMAGE_PIXELS` or an index is out of range.
    pub fn fill_images(&self, indices: &[usize], out: &mut [f32]) {
        assert_eq!(
            out.len(),
            indices.len() * IMAGE_PIXELS,
            "fill_images: buffer must hold {IMAGE_PIXELS} floats per index"
        );
        for (&i, row) in indices.iter().zip(out.chunks_exact_mut(IMAGE_PIXELS)) {
            for (dst, &src) in row.iter_mut().zip(self.image(i)) {
                *dst = f32::from(src) / 255.0;
            }
        }
    }

    /// Writes one-hot rows of [`CLASSES`] floats for the labels at `indices`, in order.
    ///
    /// # Panics
    /// If `out.len() != indices.len() * CLASSES` or an index is out of range.
    pub fn fill_one_hot(&self, indices: &[usize], out: &mut [f32]) {
        assert_eq!(
            out.len(),
            indices.len() * CLASSES,
            "fill_one_hot: buffer must hold {CLASSES} floats per index"
        );
        out.fill(0.0);
        for (&i, row) in indices.iter().zip(out.chunks_exact_mut(CLASSES)) {
            row[usize::from(self.label(i))] = 1.0;
        }
    }

    /// Writes this split's two IDX files as `images` and `labels`, gzipped if `gzipped`.
    fn save(&self, images: &Path, labels: &Path, gzipped: bool) -> Result<(), DataError> {
        let side = IMAGE_SIDE as u32;
        idx::write_file(
            images,
            &idx::encode_images(side, side, &self.images),
            gzipped,
        )?;
        idx::write_file(labels, &idx::encode_labels(&self.labels), gzipped)
    }
}

impl Mnist {
    /// Holds out the first `n` training images as the validation split and returns it: the
    /// same images whatever the seed, none of them left to train on. `dir` names the data
    /// folder in the error when `n` leaves no training images.
    pub fn hold_out_validation(&mut self, n: usize, dir: &Path) -> Result<Split, DataError> {
        if n > 0 && n >= self.train.len() {
            return Err(DataError::ValidationTooLarge {
                dir: dir.to_path_buf(),
                requested: n,
                available: self.train.len(),
            });
        }
        Ok(self.train.split_off_front(n))
    }

    /// Writes the four files under their standard names into the existing folder `dir`
    /// (`.gz` names and gzipped if `gzipped`, raw names otherwise), so
    /// [`load`](crate::data::load) reads them back. Meant for tests and tools that need a small
    /// MNIST-shaped folder.
    pub fn save(&self, dir: &Path, gzipped: bool) -> Result<(), DataError> {
        let path = |name: &str| {
            let name = if gzipped { name } else { raw_name(name) };
            dir.join(name)
        };
        let [train_images, train_labels, test_images, test_labels] = MNIST_FILE_NAMES.map(path);
        self.train.save(&train_images, &train_labels, gzipped)?;
        self.test.save(&test_images, &test_labels, gzipped)
    }
}

/// Small MNIST-shaped data for the data module's unit tests.
#[cfg(test)]
pub(super) mod fixtures {
    use super::*;

    /// A split of `n` images whose pixels encode their index, labelled `i % 10`.
    pub fn split(n: usize, salt: u8) -> Split {
        let images = (0..n * IMAGE_PIXELS)
            .map(|p| ((p / IMAGE_PIXELS) as u8).wrapping_mul(31) ^ (p as u8) ^ salt)
            .collect();
        let labels = (0..n).map(|i| (i % CLASSES) as u8).collect();
        Split::new(images, labels).unwrap()
    }

    /// Three training and two test examples.
    pub fn small_mnist() -> Mnist {
        Mnist {
            train: split(3, 1),
            test: split(2, 2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::split;
    use super::*;

    #[test]
    fn the_validation_split_is_the_first_images_and_leaves_the_rest_to_train_on() {
        let mut data = Mnist {
            train: split(10, 1),
            test: split(2, 2),
        };
        let whole = data.train.clone();
        let validation = data.hold_out_validation(3, Path::new("d")).unwrap();
        assert_eq!(validation, whole.first(3));
        assert_eq!(data.train.len(), 7);
        for i in 0..7 {
            assert_eq!(data.train.image(i), whole.image(i + 3));
            assert_eq!(data.train.label(i), whole.label(i + 3));
        }
        assert!(data
            .hold_out_validation(0, Path::new("d"))
            .unwrap()
            .is_empty());
        let err = data.hold_out_validation(7, Path::new("d")).unwrap_err();
        assert!(err.to_string().contains("hold 7"), "{err}");
    }

    #[test]
    fn split_new_checks_lengths_and_labels() {
        assert!(Split::new(vec![0; 2 * IMAGE_PIXELS], vec![0, 9]).is_some());
        assert!(Split::new(vec![0; 2 * IMAGE_PIXELS - 1], vec![0, 9]).is_none());
        assert!(Split::new(vec![0; 2 * IMAGE_PIXELS], vec![0, 10]).is_none());
    }

    #[test]
    fn fill_images_scales_to_unit_range_in_order() {
        let mut images = vec![0u8; 3 * IMAGE_PIXELS];
        images[IMAGE_PIXELS] = 255;
        images[IMAGE_PIXELS + 1] = 51;
        images[2 * IMAGE_PIXELS + 783] = 102;
        let split = Split::new(images, vec![0, 1, 2]).unwrap();
        let mut out = vec![-1.0; 2 * IMAGE_PIXELS];
        split.fill_images(&[2, 1], &mut out);
        assert_eq!(out[783], 0.4);
        assert_eq!(out[IMAGE_PIXELS], 1.0);
        assert_eq!(out[IMAGE_PIXELS + 1], 0.2);
        assert_eq!(out.iter().filter(|&&x| x != 0.0).count(), 3);
    }

    #[test]
    fn fill_one_hot_rows() {
        let split = split(12, 0);
        let mut out = vec![7.0; 3 * CLASSES];
        split.fill_one_hot(&[11, 0, 9], &mut out);
        let hot: Vec<usize> = out
            .chunks(CLASSES)
            .map(|row| row.iter().position(|&x| x == 1.0).unwrap())
            .collect();
        assert_eq!(hot, [1, 0, 9]);
        assert_eq!(out.iter().sum::<f32>(), 3.0);
    }

    #[test]
    #[should_panic(expected = "fill_images")]
    fn fill_images_checks_buffer_length() {
        split(2, 0).fill_images(&[0, 1], &mut [0.0; IMAGE_PIXELS]);
    }

    #[test]
    #[should_panic(expected = "fill_one_hot")]
    fn fill_one_hot_checks_buffer_length() {
        split(2, 0).fill_one_hot(&[0], &mut [0.0; 11]);
    }

    #[test]
    fn first_and_class_counts() {
        let split = split(25, 0);
        assert_eq!(split.class_counts(), [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]);
        let head = split.first(4);
        assert_eq!(head.len(), 4);
        assert_eq!(head.image(3), split.image(3));
        assert_eq!(split.first(100), split);
    }
}
