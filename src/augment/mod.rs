//! Training-time augmentation: each training image is moved, turned, scaled and elastically
//! distorted at random before the network sees it, so the network learns digits as people
//! write them rather than the exact 60,000 images. Done on the CPU, per batch, from a random
//! stream fixed by the run's seed and the step, so a seed fixes the whole run, resumes
//! included.

mod affine;
mod elastic;
mod sample;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::data::{IMAGE_PIXELS, IMAGE_SIDE};
pub use affine::Affine;
pub use elastic::{gaussian_kernel, DisplacementField};
pub use sample::warp;

/// The `[train.augment]` settings; every transform is off at 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    /// Largest shift in pixels, drawn uniformly in each direction (0: none).
    pub shift: f32,
    /// Largest rotation in degrees, either way (0: none).
    pub rotate: f32,
    /// Largest change of size as a fraction: 0.1 draws a factor in 0.9..1.1 (0: none).
    pub scale: f32,
    /// Strength of the elastic distortion in pixels before smoothing (Simard et al.'s alpha;
    /// 0: none).
    pub elastic_alpha: f32,
    /// Smoothness of the elastic distortion: the standard deviation in pixels of the Gaussian
    /// that smooths the random displacement field (Simard et al.'s sigma).
    pub elastic_sigma: f32,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            shift: 0.0,
            rotate: 0.0,
            scale: 0.0,
            elastic_alpha: 0.0,
            elastic_sigma: 4.0,
        }
    }
}

/// The bounds of each setting: (dotted key, value, valid, rule), for config validation.
pub type Check = (&'static str, f32, bool, &'static str);

impl AugmentConfig {
    /// These settings with Simard et al.'s elastic distortion for MNIST added (alpha 34,
    /// sigma 4), the rest unchanged.
    pub fn with_simard_elastic(self) -> Self {
        Self {
            elastic_alpha: 34.0,
            elastic_sigma: 4.0,
            ..self
        }
    }

    /// Whether any transform is on.
    pub fn is_on(&self) -> bool {
        self.shift > 0.0 || self.rotate > 0.0 || self.scale > 0.0 || self.elastic_alpha > 0.0
    }

    /// Each setting with whether it is in range, and the rule it breaks if not.
    pub fn checks(&self) -> [Check; 5] {
        let within = |v: f32, max: f32| (0.0..=max).contains(&v);
        [
            (
                "train.augment.shift",
                self.shift,
                within(self.shift, 8.0),
                "it must be between 0 and 8 pixels",
            ),
            (
                "train.augment.rotate",
                self.rotate,
                within(self.rotate, 45.0),
                "it must be between 0 and 45 degrees",
            ),
            (
                "train.augment.scale",
                self.scale,
                within(self.scale, 0.5),
                "it must be between 0 and 0.5 (a factor of 0.5 to 1.5)",
            ),
            (
                "train.augment.elastic_alpha",
                self.elastic_alpha,
                within(self.elastic_alpha, 100.0),
                "it must be between 0 and 100 pixels",
            ),
            (
                "train.augment.elastic_sigma",
                self.elastic_sigma,
                (0.5..=10.0).contains(&self.elastic_sigma),
                "it must be between 0.5 and 10 pixels",
            ),
        ]
    }
}

/// Applies an [`AugmentConfig`] to batches, the images of a batch in parallel.
#[derive(Debug, Clone)]
pub struct Augmenter {
    config: AugmentConfig,
    kernel: Vec<f32>,
}

/// One worker's buffers, reused over the images it transforms.
struct Worker {
    field: DisplacementField,
    source: Vec<f32>,
}

impl Augmenter {
    /// An augmenter for `config`.
    pub fn new(config: AugmentConfig) -> Self {
        Self {
            kernel: gaussian_kernel(config.elastic_sigma),
            config,
        }
    }

    /// The settings it applies.
    pub fn config(&self) -> &AugmentConfig {
        &self.config
    }

    /// Replaces every image of `pixels` (a whole number of 28x28 images, values 0..1) by a
    /// randomly transformed copy. Image `i`'s random draws come from `seed`, `step` and `i`
    /// alone: the same triple gives the same image, however the work is split over threads.
    pub fn augment_batch(&self, pixels: &mut [f32], seed: u64, step: u64) {
        use rayon::prelude::*;
        if !self.config.is_on() {
            return;
        }
        pixels
            .par_chunks_exact_mut(IMAGE_PIXELS)
            .enumerate()
            .for_each_init(
                || Worker {
                    field: DisplacementField::zero(),
                    source: vec![0.0; IMAGE_PIXELS],
                },
                |worker, (i, image)| {
                    let mut rng = image_rng(seed, step, i);
                    self.augment_image(image, worker, &mut rng);
                },
            );
    }

    /// Transforms one image in place with draws from `rng`.
    fn augment_image(&self, image: &mut [f32], worker: &mut Worker, rng: &mut ChaCha8Rng) {
        let c = self.config;
        let mut symmetric = |max: f32| {
            if max > 0.0 {
                rng.gen_range(-max..=max)
            } else {
                0.0
            }
        };
        let affine = Affine {
            shift_x: symmetric(c.shift),
            shift_y: symmetric(c.shift),
            rotation: symmetric(c.rotate).to_radians(),
            scale: 1.0 + symmetric(c.scale),
        };
        if c.elastic_alpha > 0.0 {
            worker.field.randomise(rng, &self.kernel, c.elastic_alpha);
        } else {
            worker.field.clear();
        }
        worker.source.copy_from_slice(image);
        warp(&worker.source, image, &affine, &worker.field);
    }
}

/// The random stream of image `index` of the batch of `step` in a run seeded with `seed`:
/// a ChaCha8 stream of its own per step (apart from those of the data order and the
/// weights), and a window of 2^32 words of it per image.
fn image_rng(seed: u64, step: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5bd1_e995_9e37_79b9);
    rng.set_stream(step);
    rng.set_word_pos((index as u128) << 32);
    rng
}

/// The side of an image, as a float for coordinate arithmetic.
const SIDE: f32 = IMAGE_SIDE as f32;

/// The centre of an image in pixel coordinates (pixel centres at 0..27).
const CENTRE: f32 = (SIDE - 1.0) / 2.0;

#[cfg(test)]
mod tests;
