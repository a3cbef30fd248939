//! The arithmetic of a stride-1 'SAME' convolution with fused bias and ReLU, on plain slices.
//!
//! Layouts are NCHW for activations and `[out, in, k, k]` for weights. Each image is turned
//! into a column matrix (im2col, `[in*k*k, h*w]`) so the convolution becomes one matrix
//! product per image; images run in parallel on rayon's pool, each product on one thread.

use gemm::Parallelism;
use rayon::prelude::*;

use super::matmul::{matmul, MatRef};

/// The sizes of one convolution call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel side (odd, so 'SAME' padding is symmetric).
    pub kernel: usize,
    /// Image height (input and output).
    pub height: usize,
    /// Image width (input and output).
    pub width: usize,
}

impl ConvGeometry {
    /// Pixels in one channel plane.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }
    /// Rows of the column matrix: one per (input channel, kernel row, kernel column).
    pub fn patch(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }
    /// Elements of one input image.
    pub fn input_image(&self) -> usize {
        self.in_channels * self.plane()
    }
    /// Elements of one output image.
    pub fn output_image(&self) -> usize {
        self.out_channels * self.plane()
    }
    fn pad(&self) -> usize {
        self.kernel / 2
    }
}

/// For kernel offset `k` and padding `pad`, the output positions `lo..hi` whose input position
/// `o + k - pad` lies inside `0..len`.
fn valid_range(k: usize, pad: usize, len: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(k);
    let hi = (len + pad).saturating_sub(k).min(len);
    (lo, hi.max(lo))
}

/// Unfolds one image `[in, h, w]` into `cols` `[in*k*k, h*w]`, zero outside the image.
pub fn im2col(g: &ConvGeometry, image: &[f32], cols: &mut [f32]) {
    let (h, w, k, pad) = (g.height, g.width, g.kernel, g.pad());
    for c in 0..g.in_channels {
        let plane = &image[c * h * w..(c + 1) * h * w];
        for ky in 0..k {
            let (y_lo, y_hi) = valid_range(ky, pad, h);
            for kx in 0..k {
                let (x_lo, x_hi) = valid_range(kx, pad, w);
                let row = ((c * k + ky) * k + kx) * h * w;
                let dst = &mut cols[row..row + h * w];
                dst[..y_lo * w].fill(0.0);
                dst[y_hi * w..].fill(0.0);
                for oy in y_lo..y_hi {
                    let iy = oy + ky - pad;
                    let out_row = &mut dst[oy * w..(oy + 1) * w];
                    out_row[..x_lo].fill(0.0);
                    out_row[x_hi..].fill(0.0);
                    let src = &plane[iy * w + x_lo + kx - pad..iy * w + x_hi + kx - pad];
                    out_row[x_lo..x_hi].copy_from_slice(src);
                }
            }
        }
    }
}

/// Folds column gradients `[in*k*k, h*w]` back onto an image gradient `[in, h, w]` (adds).
pub fn col2im_add(g: &ConvGeometry, cols: &[f32], image: &mut [f32]) {
    let (h, w, k, pad) = (g.height, g.width, g.kernel, g.pad());
    for c in 0..g.in_channels {
        let plane = &mut image[c * h * w..(c + 1) * h * w];
        for ky in 0..k {
            let (y_lo, y_hi) = valid_range(ky, pad, h);
            for kx in 0..k {
                let (x_lo, x_hi) = valid_range(kx, pad, w);
                let row = ((c * k + ky) * k + kx) * h * w;
                for oy in y_lo..y_hi {
                    let iy = oy + ky - pad;
                    let src = &cols[row + oy * w + x_lo..row + oy * w + x_hi];
                    let dst = &mut plane[iy * w + x_lo + kx - pad..iy * w + x_hi + kx - pad];
                    for (d, s) in dst.iter_mut().zip(src) {
                        *d += s;
                    }
                }
            }
        }
    }
}

/// `out = relu(conv(input, weight) + bias)` for a whole batch.
pub fn forward(g: &ConvGeometry, input: &[f32], weight: &[f32], bias: &[f32], out: &mut [f32]) {
    assert_eq!(input.len(), g.batch * g.input_image());
    assert_eq!(out.len(), g.batch * g.output_image());
    assert_eq!(weight.len(), g.out_channels * g.patch());
    assert_eq!(bias.len(), g.out_channels);
    let w = MatRef::row_major(weight, g.out_channels, g.patch());
    out.par_chunks_mut(g.output_image())
        .zip(input.par_chunks(g.input_image()))
        .for_each_init(
            || vec![0.0f32; g.patch() * g.plane()],
            |cols, (out_image, image)| {
                im2col(g, image, cols);
                let cols = MatRef::row_major(cols, g.patch(), g.plane());
                matmul(out_image, w, cols, false, Parallelism::None);
                bias_relu(out_image, bias, g.plane());
            },
        );
}

/// Adds each channel's bias to its plane and clamps at zero.
fn bias_relu(out_image: &mut [f32], bias: &[f32], plane: usize) {
    for (channel, &b) in out_image.chunks_mut(plane).zip(bias) {
        for v in channel {
            *v = (*v + b).max(0.0);
        }
    }
}

/// Gradients of one batch: input (if asked), weight and bias.
pub struct ConvGrads {
    /// d loss / d input, `[batch, in, h, w]`; empty when not asked for.
    pub input: Vec<f32>,
    /// d loss / d weight, `[out, in, k, k]`.
    pub weight: Vec<f32>,
    /// d loss / d bias, `[out]`.
    pub bias: Vec<f32>,
}

/// Backward pass of [`forward`]. `out` is the forward output (after ReLU), `grad_out` the
/// gradient flowing into it. The input gradient is skipped when `want_input` is false.
pub fn backward(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    out: &[f32],
    grad_out: &[f32],
    want_input: bool,
) -> ConvGrads {
    let chunks = chunk_count(g.batch);
    let per_chunk = g.batch.div_ceil(chunks);
    let mut grad_input = if want_input {
        vec![0.0f32; g.batch * g.input_image()]
    } else {
        Vec::new()
    };
    let ranges: Vec<_> = (0..g.batch)
        .step_by(per_chunk.max(1))
        .map(|first| first..(first + per_chunk).min(g.batch))
        .collect();
    let run = |range, grad_input_chunk| {
        backward_chunk(g, input, weight, out, grad_out, range, grad_input_chunk)
    };
    let partials: Vec<(Vec<f32>, Vec<f32>)> = if want_input {
        grad_input
            .par_chunks_mut(per_chunk * g.input_image())
            .zip(ranges.into_par_iter())
            .map(|(chunk, range)| run(range, Some(chunk)))
            .collect()
    } else {
        ranges
            .into_par_iter()
            .map(|range| run(range, None))
            .collect()
    };
    let mut grad_weight = vec![0.0f32; g.out_channels * g.patch()];
    let mut grad_bias = vec![0.0f32; g.out_channels];
    for (w, b) in partials {
        add_into(&mut grad_weight, &w);
        add_into(&mut grad_bias, &b);
    }
    ConvGrads {
        input: grad_input,
        weight: grad_weight,
        bias: grad_bias,
    }
}

/// How many pieces to split a batch into for the backward pass: enough to keep every thread
/// busy, few enough that the per-piece weight-gradient buffers stay cheap to sum.
fn chunk_count(batch: usize) -> usize {
    (rayon::current_num_threads() * 2).clamp(1, batch.max(1))
}

fn add_into(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// The backward pass over images `range`, returning this chunk's weight and bias gradients
/// and writing the input gradient of those images into `grad_input` when given.
fn backward_chunk(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    out: &[f32],
    grad_out: &[f32],
    range: std::ops::Range<usize>,
    mut grad_input: Option<&mut [f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let (plane, patch) = (g.plane(), g.patch());
    let mut grad_weight = vec![0.0f32; g.out_channels * patch];
    let mut grad_bias = vec![0.0f32; g.out_channels];
    let mut cols = vec![0.0f32; patch * plane];
    let mut grad_cols = vec![0.0f32; patch * plane];
    let mut masked = vec![0.0f32; g.output_image()];
    let w = MatRef::row_major(weight, g.out_channels, patch);
    for (local, image_index) in range.enumerate() {
        let o = image_index * g.output_image()..(image_index + 1) * g.output_image();
        relu_mask(&out[o.clone()], &grad_out[o], &mut masked);
        for (gb, channel) in grad_bias.iter_mut().zip(masked.chunks(plane)) {
            *gb += channel.iter().sum::<f32>();
        }
        let image = &input[image_index * g.input_image()..(image_index + 1) * g.input_image()];
        im2col(g, image, &mut cols);
        let masked_ref = MatRef::row_major(&masked, g.out_channels, plane);
        let cols_ref = MatRef::row_major(&cols, patch, plane);
        matmul(
            &mut grad_weight,
            masked_ref,
            cols_ref.t(),
            true,
            Parallelism::None,
        );
        if let Some(grad_input) = grad_input.as_deref_mut() {
            matmul(&mut grad_cols, w.t(), masked_ref, false, Parallelism::None);
            let dst = &mut grad_input[local * g.input_image()..(local + 1) * g.input_image()];
            col2im_add(g, &grad_cols, dst);
        }
    }
    (grad_weight, grad_bias)
}

/// The gradient through ReLU: `grad` where the output was positive, zero elsewhere.
fn relu_mask(out: &[f32], grad: &[f32], masked: &mut [f32]) {
    for ((m, &o), &g) in masked.iter_mut().zip(out).zip(grad) {
        *m = if o > 0.0 { g } else { 0.0 };
    }
}
