//! Computing the layer statistics of one training step ([`LayerStats`]): what is seen before
//! the update ([`Before`]: the parameters' values and the dead ReLUs over the step's batch),
//! the gradients between the backward pass and the update ([`GradientRms`]), and the rest
//! after it ([`Before::finish`]).
//!
//! Everything is read through the network's tensors and dfdx's `Gradients`; the update's size
//! is the difference of the weights before and after it, so it does not depend on how Adam is
//! implemented.

use dfdx::prelude::*;
use rayon::prelude::*;

use crate::model::{self, contents, Layers, Network, FLAT};
use crate::run::layers::{Histogram, LayerSample, LayerStats, TensorSample, LAYER_NAMES};

/// Parameter tensors of the network: a weight and a bias for each of [`LAYER_NAMES`].
const TENSORS: usize = 2 * LAYER_NAMES.len();

/// The values of every parameter tensor, in the order weight, bias of each layer of
/// [`LAYER_NAMES`].
fn values(model: &Network) -> [Vec<f32>; TENSORS] {
    [
        contents(&model.conv1().weight),
        contents(&model.conv1().bias),
        contents(&model.conv2().weight),
        contents(&model.conv2().bias),
        contents(&model.hidden().weight),
        contents(&model.hidden().bias),
        contents(&model.output().weight),
        contents(&model.output().bias),
    ]
}

/// What a step's statistics need from before its update.
#[derive(Debug, Clone)]
pub struct Before {
    /// The parameters' values, as [`values`] lists them.
    values: [Vec<f32>; TENSORS],
    /// The dead-ReLU fraction of conv1, conv2 and the hidden layer.
    dead: [f32; 3],
}

/// The root mean square of each parameter tensor's gradient, as [`values`] lists them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientRms(pub [f32; TENSORS]);

impl Before {
    /// Takes the parameters' values before the update, and runs the layers with ReLU forward
    /// (no tape, so nothing trains) on the step's batch, `pixels` (784 values an image), to
    /// find the units that never fired. Dropout comes after the hidden layer's ReLU, so the
    /// units seen here are those the training pass saw.
    pub fn take(model: &Network, device: &Cpu, pixels: &[f32]) -> Self {
        Self {
            values: values(model),
            dead: dead_relu(model, device, pixels),
        }
    }

    /// The step's statistics, from the weights after the update (`model`) and the gradients.
    pub fn finish(self, model: &Network, gradients: GradientRms, step: u64) -> LayerStats {
        let after = values(model);
        let mut tensors = self
            .values
            .iter()
            .zip(&after)
            .zip(gradients.0)
            .enumerate()
            .map(|(i, ((before, after), grad_rms))| TensorSample {
                rms: rms(after),
                grad_rms,
                update_ratio: update_ratio(before, after),
                // Weights are the even ones.
                histogram: (i % 2 == 0).then(|| Histogram::of(after)),
            });
        let layers = LAYER_NAMES
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                Some(LayerSample {
                    name: (*name).to_string(),
                    dead_relu: self.dead.get(i).copied(),
                    weight: tensors.next()?,
                    bias: tensors.next()?,
                })
            })
            .collect();
        for copy in self.values.into_iter().chain(after) {
            model::recycle(copy);
        }
        LayerStats { step, layers }
    }
}

impl GradientRms {
    /// Reads the gradient of every parameter tensor of `model` from `grads` (as the backward
    /// pass left them, before the update).
    pub fn read(model: &Network, grads: &mut Gradients<f32, Cpu>) -> Self {
        Self([
            grad_rms(grads, &model.conv1().weight),
            grad_rms(grads, &model.conv1().bias),
            grad_rms(grads, &model.conv2().weight),
            grad_rms(grads, &model.conv2().bias),
            grad_rms(grads, &model.hidden().weight),
            grad_rms(grads, &model.hidden().bias),
            grad_rms(grads, &model.output().weight),
            grad_rms(grads, &model.output().bias),
        ])
    }
}

/// The root mean square of the gradient of `t` (`NaN` when it has none).
fn grad_rms<S: Shape>(grads: &mut Gradients<f32, Cpu>, t: &Tensor<S, f32, Cpu>) -> f32 {
    grads.get_or_alloc_mut(t).map_or(f32::NAN, |g| rms(g))
}

/// The root mean square of `values` (0 for none).
pub fn rms(values: &[f32]) -> f32 {
    let sum: f64 = values.par_chunks(PIECE).map(sum_of_squares).sum();
    (sum / values.len().max(1) as f64).sqrt() as f32
}

/// `|after - before| / |before|` (Frobenius norms); 0 when nothing moved, infinite when
/// something moved away from all zeros.
pub fn update_ratio(before: &[f32], after: &[f32]) -> f32 {
    let (moved, size) = before
        .par_chunks(PIECE)
        .zip(after.par_chunks(PIECE))
        .map(|(b, a)| {
            let mut difference = [0.0f32; PIECE_CAP];
            let difference = &mut difference[..b.len().min(a.len())];
            for ((d, &b), &a) in difference.iter_mut().zip(b).zip(a) {
                *d = a - b;
            }
            (sum_of_squares(difference), sum_of_squares(b))
        })
        .reduce(|| (0.0, 0.0), |x, y| (x.0 + y.0, x.1 + y.1));
    if moved == 0.0 {
        0.0
    } else {
        (moved.sqrt() / size.sqrt()) as f32
    }
}

/// Values handled as one piece by one thread.
const PIECE: usize = 4096;
/// [`PIECE`], as the size of a buffer on the stack.
const PIECE_CAP: usize = PIECE;

/// The sum of the squares, in `f64` over blocks of 256 summed in `f32` in eight lanes (short
/// enough for `f32`, and the compiler vectorises the lanes).
fn sum_of_squares(values: &[f32]) -> f64 {
    let mut total = 0.0f64;
    for block in values.chunks(256) {
        let mut lanes = [0.0f32; 8];
        let mut eights = block.chunks_exact(8);
        for e in &mut eights {
            for (lane, &v) in lanes.iter_mut().zip(e) {
                *lane += v * v;
            }
        }
        for (lane, &v) in lanes.iter_mut().zip(eights.remainder()) {
            *lane += v * v;
        }
        total += lanes.iter().map(|&l| f64::from(l)).sum::<f64>();
    }
    total
}

/// The fraction of conv1's, conv2's and the hidden layer's units that are 0 for every image
/// of `pixels` after their ReLU. A convolution unit is a feature map, and the maps seen are
/// pooled: a pooled value is 0 exactly when every value of its window was, so a map is 0
/// everywhere after pooling exactly when it was before.
pub fn dead_relu(model: &Network, device: &Cpu, pixels: &[f32]) -> [f32; 3] {
    let x = model::image_batch(device, pixels.to_vec());
    let pooled1 = model.conv1().forward(x);
    let pooled2 = model.conv2().forward(pooled1.clone());
    let batch = pooled2.shape().0;
    let flat: Tensor<(usize, Const<FLAT>), f32, Cpu> =
        pooled2.clone().reshape_like(&(batch, Const));
    let hidden = model.hidden().forward(flat);
    let fraction = |t: Vec<f32>, units: usize, per_image: usize| {
        let dead = dead_units(&t, units, per_image);
        model::recycle(t);
        dead
    };
    let c1 = model::CONV1_CHANNELS;
    let c2 = model::CONV2_CHANNELS;
    let side1 = model::IMAGE_SIDE / 2;
    let side2 = model::IMAGE_SIDE / 4;
    [
        fraction(contents(&pooled1), c1, side1 * side1),
        fraction(contents(&pooled2), c2, side2 * side2),
        fraction(contents(&hidden), model::HIDDEN, 1),
    ]
}

/// The fraction of `units` that are 0 everywhere in `values`: images one after another, each
/// unit's `per_image` values together within an image.
pub fn dead_units(values: &[f32], units: usize, per_image: usize) -> f32 {
    let mut fired = vec![false; units];
    for image in values.chunks(units * per_image) {
        for (unit, block) in image.chunks(per_image).enumerate() {
            fired[unit] |= block.iter().any(|&v| v != 0.0);
        }
    }
    let dead = fired.iter().filter(|&&f| !f).count();
    dead as f32 / units.max(1) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{build, Init, IMAGE_PIXELS};

    #[test]
    fn the_update_ratio_is_the_moved_norm_over_the_norm_before() {
        assert_eq!(update_ratio(&[3.0, 4.0], &[3.0, 4.0]), 0.0);
        let r = update_ratio(&[3.0, 4.0], &[3.0, 4.5]);
        assert!((r - 0.1).abs() < 1e-7, "{r}");
        assert_eq!(update_ratio(&[0.0], &[1.0]), f32::INFINITY);
        assert!((rms(&[3.0, 4.0]) - 12.5f32.sqrt()).abs() < 1e-6);
        assert_eq!(rms(&[]), 0.0);
        let long: Vec<f32> = vec![2.0; 1000];
        assert_eq!(rms(&long), 2.0);
    }

    #[test]
    fn dead_units_never_fire_in_any_image() {
        // Two images, three units of two values each: unit 1 fires in the second image only,
        // unit 2 never.
        let values = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0];
        assert_eq!(dead_units(&values, 3, 2), 1.0 / 3.0);
    }

    #[test]
    fn a_hand_built_network_has_exactly_the_dead_relus_it_was_built_with() {
        let device = Cpu::seed_from_u64(7);
        let mut model = build(&device, Init::FanIn);
        // conv1: no weights; the first 8 of 32 maps get a negative bias, so they never fire,
        // the others a positive one, so they always do.
        let mut bias = vec![0.5f32; model::CONV1_CHANNELS];
        bias[..8].fill(-1.0);
        let zeros = vec![0.0f32; contents(&model.conv1().weight).len()];
        model.conv1_mut().weight.copy_from(&zeros);
        model.conv1_mut().bias.copy_from(&bias);
        // conv2 fires everywhere: no weights, positive biases. The hidden layer: no weights,
        // a negative bias for 256 of its 1024 units.
        let zeros = vec![0.0f32; contents(&model.conv2().weight).len()];
        model.conv2_mut().weight.copy_from(&zeros);
        model
            .conv2_mut()
            .bias
            .copy_from(&[0.25f32; model::CONV2_CHANNELS]);
        let zeros = vec![0.0f32; contents(&model.hidden().weight).len()];
        let mut bias = vec![0.1f32; model::HIDDEN];
        bias[..256].fill(-0.1);
        model.hidden_mut().weight.copy_from(&zeros);
        model.hidden_mut().bias.copy_from(&bias);
        let pixels: Vec<f32> = (0..3 * IMAGE_PIXELS)
            .map(|i| (i % 7) as f32 / 7.0)
            .collect();
        assert_eq!(dead_relu(&model, &device, &pixels), [0.25, 0.0, 0.25]);
    }
}
