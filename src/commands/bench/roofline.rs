//! The roofline of `digitdash bench`: how fast this machine multiplies f32 matrices with the
//! `gemm` crate the layers use, and how many floating-point operations each layer does, so
//! each timing becomes GFLOP/s and a share of that peak.
//!
//! FLOPs are counted from the shapes, two per multiply-add, as a direct computation does them:
//! - a 'SAME' convolution block from `I` to `O` channels with a `K x K` kernel on `H x W`
//!   planes: forward `2·B·H·W·O·I·K²` (every output sums `I·K²` products, the zero border
//!   included); backward the same for the filter gradient, and the same again for the input
//!   gradient when the layer passes one back (the first does not);
//! - a dense layer from `I` to `O`: forward `2·B·I·O`, backward `2·B·I·O` each for the weight
//!   and the input gradients;
//! - bias, ReLU, pooling, the loss and Adam: not counted (under 1% of the step's operations).
//!
//! A layer computed with fewer multiplications (Winograd) is credited with the direct count,
//! so its GFLOP/s are effective ones and may exceed the peak.

use std::time::Instant;

use gemm::Parallelism;

use crate::model::matmul::{matmul, MatRef};
use crate::model::{CLASSES, CONV1_CHANNELS, CONV2_CHANNELS, FLAT, HIDDEN, IMAGE_SIDE, KERNEL};

/// Side of the square matrices of the peak measurement.
const PEAK_SIDE: usize = 2048;
/// Products timed for the peak; the fastest counts.
const PEAK_REPEATS: usize = 5;

/// Operations of one layer's forward and backward pass at some batch size, in GFLOP.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerFlops {
    /// Forward pass.
    pub forward: f64,
    /// Backward pass.
    pub backward: f64,
}

impl LayerFlops {
    /// Both passes.
    pub fn total(&self) -> f64 {
        self.forward + self.backward
    }
}

/// A 'SAME' convolution block (see the module's counting rules).
fn conv(batch: usize, inputs: usize, outputs: usize, side: usize, input_grad: bool) -> LayerFlops {
    let forward = 2.0 * (batch * side * side * outputs * inputs * KERNEL * KERNEL) as f64 / 1e9;
    let passes = if input_grad { 2.0 } else { 1.0 };
    LayerFlops {
        forward,
        backward: passes * forward,
    }
}

/// A dense layer (see the module's counting rules).
fn dense(batch: usize, inputs: usize, outputs: usize) -> LayerFlops {
    let forward = 2.0 * (batch * inputs * outputs) as f64 / 1e9;
    LayerFlops {
        forward,
        backward: 2.0 * forward,
    }
}

/// The network's layers at `batch`, in the order `bench` times them: conv1, conv2, the
/// hidden dense layer, the output layer.
pub fn network_flops(batch: usize) -> [LayerFlops; 4] {
    [
        conv(batch, 1, CONV1_CHANNELS, IMAGE_SIDE, false),
        conv(batch, CONV1_CHANNELS, CONV2_CHANNELS, IMAGE_SIDE / 2, true),
        dense(batch, FLAT, HIDDEN),
        dense(batch, HIDDEN, CLASSES),
    ]
}

/// This machine's f32 matrix-multiply throughput in GFLOP/s: the fastest of a few products of
/// two 2048x2048 matrices by `gemm` on every rayon thread.
pub fn gemm_peak_gflops() -> f64 {
    let n = PEAK_SIDE;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 17) as f32 * 0.25 - 2.0).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 13) as f32 * 0.125 - 0.75).collect();
    let mut c = vec![0.0f32; n * n];
    let threads = Parallelism::Rayon(rayon::current_num_threads().max(1));
    let flops = 2.0 * (n * n * n) as f64;
    (0..PEAK_REPEATS)
        .map(|_| {
            let started = Instant::now();
            let (lhs, rhs) = (MatRef::row_major(&a, n, n), MatRef::row_major(&b, n, n));
            matmul(&mut c, lhs, rhs, false, threads);
            flops / started.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_at_batch_50_is_about_4_1_gflop() {
        let layers = network_flops(50);
        let step: f64 = layers.iter().map(LayerFlops::total).sum();
        assert!((step - 4.102).abs() < 0.01, "{step}");
        // conv2: 196 outputs of 64 channels, each 800 products, per image.
        assert!((layers[1].forward - 2.0 * 50.0 * 196.0 * 64.0 * 800.0 / 1e9).abs() < 1e-12);
        // conv1 passes no gradient back to the images.
        assert_eq!(layers[0].backward, layers[0].forward);
        assert_eq!(layers[2].backward, 2.0 * layers[2].forward);
    }
}
