//! The arithmetic of a stride-1 'SAME' convolution with fused bias and ReLU, on plain slices.
//!
//! Layouts are NCHW for activations and `[out, in, k, k]` for weights. Each image is turned
//! into a column matrix (im2col, `[in*k*k, h*w]`) so the convolution becomes one matrix
//! product per image; images run in parallel on rayon's pool, each product on one thread.

use gemm::Parallelism;
use rayon::prelude::*;

use super::matmul::{matmul, MatRef};
use super::pool::window_max;

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
    let per_chunk = images_per_chunk(g.batch);
    out.par_chunks_mut(per_chunk * g.output_image())
        .zip(input.par_chunks(per_chunk * g.input_image()))
        .for_each(|(out_chunk, input_chunk)| {
            let mut cols = vec![0.0f32; g.patch() * g.plane()];
            for (out_image, image) in out_chunk
                .chunks_mut(g.output_image())
                .zip(input_chunk.chunks(g.input_image()))
            {
                im2col(g, image, &mut cols);
                let cols = MatRef::row_major(&cols, g.patch(), g.plane());
                matmul(out_image, w, cols, false, Parallelism::None);
                bias_relu(out_image, bias, g.plane());
            }
        });
}

/// Images per parallel piece of work: one piece per thread, so each thread allocates its
/// scratch buffers once per call.
fn images_per_chunk(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(1)
}

/// `pooled = maxpool2x2(relu(conv(input, weight) + bias))` for a whole batch, without keeping
/// the full-size output: `argmax` records which of each 2x2 window's four pixels won (0
/// top-left, 1 top-right, 2 bottom-left, 3 bottom-right). Height and width must be even.
pub fn forward_pooled(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
    argmax: &mut [u8],
) {
    let pooled_image = g.output_image() / 4;
    assert_eq!(input.len(), g.batch * g.input_image());
    assert_eq!(pooled.len(), g.batch * pooled_image);
    assert_eq!(argmax.len(), pooled.len());
    assert_eq!(weight.len(), g.out_channels * g.patch());
    let w = MatRef::row_major(weight, g.out_channels, g.patch());
    let per_chunk = images_per_chunk(g.batch);
    pooled
        .par_chunks_mut(per_chunk * pooled_image)
        .zip(argmax.par_chunks_mut(per_chunk * pooled_image))
        .zip(input.par_chunks(per_chunk * g.input_image()))
        .for_each(|((pooled_chunk, argmax_chunk), input_chunk)| {
            let mut cols = vec![0.0f32; g.patch() * g.plane()];
            let mut conv = vec![0.0f32; g.output_image()];
            let images = pooled_chunk
                .chunks_mut(pooled_image)
                .zip(argmax_chunk.chunks_mut(pooled_image))
                .zip(input_chunk.chunks(g.input_image()));
            for ((pooled_image, argmax_image), image) in images {
                im2col(g, image, &mut cols);
                let cols = MatRef::row_major(&cols, g.patch(), g.plane());
                matmul(&mut conv, w, cols, false, Parallelism::None);
                pool_bias_relu(g, &conv, bias, pooled_image, argmax_image);
            }
        });
}

/// Max-pools each channel of one image's raw convolution output, then adds the channel's
/// bias and clamps at zero (the same as pooling after bias and ReLU, with a quarter of the
/// work).
fn pool_bias_relu(
    g: &ConvGeometry,
    conv: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
    argmax: &mut [u8],
) {
    let (w, ph, pw) = (g.width, g.height / 2, g.width / 2);
    for ((plane, &b), (out, arg)) in conv
        .chunks(g.plane())
        .zip(bias)
        .zip(pooled.chunks_mut(ph * pw).zip(argmax.chunks_mut(ph * pw)))
    {
        for py in 0..ph {
            let top = &plane[2 * py * w..(2 * py + 1) * w];
            let bottom = &plane[(2 * py + 1) * w..(2 * py + 2) * w];
            for px in 0..pw {
                let (max, winner) = window_max(top, bottom, px);
                out[py * pw + px] = (max + b).max(0.0);
                arg[py * pw + px] = winner;
            }
        }
    }
}

/// Adds each channel's bias to its plane and clamps at zero.
fn bias_relu(out_image: &mut [f32], bias: &[f32], plane: usize) {
    for (channel, &b) in out_image.chunks_mut(plane).zip(bias) {
        for v in channel {
            *v = (*v + b).max(0.0);
        }
    }
}

/// Weight and bias gradients of one batch.
pub struct ConvGrads {
    /// d loss / d weight, `[out, in, k, k]`.
    pub weight: Vec<f32>,
    /// d loss / d bias, `[out]`.
    pub bias: Vec<f32>,
}

/// What the backward pass knows of the layer's output and the gradient arriving on it.
#[derive(Clone, Copy)]
pub enum Upstream<'a> {
    /// From [`forward`]: the output after ReLU and its gradient, both full size.
    Relu {
        /// The forward output.
        out: &'a [f32],
        /// The gradient on it.
        grad: &'a [f32],
    },
    /// From [`forward_pooled`]: the pooled output, the window winners, and the gradient on
    /// the pooled output.
    Pooled {
        /// The pooled output.
        pooled: &'a [f32],
        /// Which pixel of each window won.
        argmax: &'a [u8],
        /// The gradient on the pooled output.
        grad: &'a [f32],
    },
}

impl Upstream<'_> {
    /// The gradient on image `index`'s convolution output before bias and ReLU, `[out, h*w]`.
    fn conv_grad(&self, g: &ConvGeometry, index: usize, dst: &mut [f32]) {
        match *self {
            Upstream::Relu { out, grad } => {
                let range = index * g.output_image()..(index + 1) * g.output_image();
                relu_mask(&out[range.clone()], &grad[range], dst);
            }
            Upstream::Pooled {
                pooled,
                argmax,
                grad,
            } => {
                let n = g.output_image() / 4;
                let range = index * n..(index + 1) * n;
                unpool(
                    g,
                    &pooled[range.clone()],
                    &argmax[range.clone()],
                    &grad[range],
                    dst,
                );
            }
        }
    }
}

/// Routes each pooled gradient to the pixel that won its window, where the pooled value
/// passed the ReLU; everything else gets zero.
fn unpool(g: &ConvGeometry, pooled: &[f32], argmax: &[u8], grad: &[f32], dst: &mut [f32]) {
    dst.fill(0.0);
    let (w, pw) = (g.width, g.width / 2);
    let pooled_plane = g.plane() / 4;
    for (c, plane) in dst.chunks_mut(g.plane()).enumerate() {
        let range = c * pooled_plane..(c + 1) * pooled_plane;
        for (i, ((&p, &a), &gr)) in pooled[range.clone()]
            .iter()
            .zip(&argmax[range.clone()])
            .zip(&grad[range])
            .enumerate()
        {
            // A select, not a branch: whether the ReLU passed is data-dependent.
            let (py, px) = (i / pw, i % pw);
            let (dy, dx) = (a as usize / 2, a as usize % 2);
            plane[(2 * py + dy) * w + 2 * px + dx] = if p > 0.0 { gr } else { 0.0 };
        }
    }
}

/// Backward pass of [`forward`] or [`forward_pooled`], as `upstream` says. The input's
/// gradient is added into `grad_input` (`[batch, in, h, w]`) when one is given.
pub fn backward(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    upstream: Upstream<'_>,
    grad_input: Option<&mut [f32]>,
) -> ConvGrads {
    let chunks = chunk_count(g.batch);
    let per_chunk = g.batch.div_ceil(chunks);
    let ranges: Vec<_> = (0..g.batch)
        .step_by(per_chunk.max(1))
        .map(|first| first..(first + per_chunk).min(g.batch))
        .collect();
    let run = |range, grad_input_chunk| {
        backward_chunk(g, input, weight, upstream, range, grad_input_chunk)
    };
    let partials: Vec<(Vec<f32>, Vec<f32>)> = if let Some(grad_input) = grad_input {
        assert_eq!(grad_input.len(), g.batch * g.input_image());
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
        weight: grad_weight,
        bias: grad_bias,
    }
}

/// How many pieces to split a batch into for the backward pass: one per thread, so each
/// thread allocates its scratch and weight-gradient buffers once.
fn chunk_count(batch: usize) -> usize {
    rayon::current_num_threads().clamp(1, batch.max(1))
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
    upstream: Upstream<'_>,
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
        upstream.conv_grad(g, image_index, &mut masked);
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
