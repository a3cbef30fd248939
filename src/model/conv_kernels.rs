//! The arithmetic of a stride-1 'SAME' convolution with fused bias and ReLU, on plain slices.
//!
//! Layouts are NCHW for activations and `[out, in, k, k]` for weights. Each image is turned
//! into a column matrix (im2col, `[in*k*k, h*w]`) so the convolution becomes one matrix
//! product per image; images run in parallel on rayon's pool, each product on one thread.

use std::ops::Range;

use gemm::Parallelism;
use rayon::prelude::*;

use super::add_assign;
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

/// Unfolds one image `[in, h, w]` into `cols` `[in*k*k, h*w]`, zero outside the image.
///
/// Each channel is first copied into a zero-bordered plane, so every column row is `h` plain
/// row copies with no bounds to test and nothing to zero.
pub fn im2col(g: &ConvGeometry, image: &[f32], cols: &mut [f32]) {
    assert_eq!(image.len(), g.input_image(), "image size");
    assert_eq!(cols.len(), g.patch() * g.plane(), "column matrix size");
    let (h, w, k, pad) = (g.height, g.width, g.kernel, g.pad());
    let padded_w = w + 2 * pad;
    let mut padded = vec![0.0f32; (h + 2 * pad) * padded_w];
    for (c, plane) in image.chunks_exact(h * w).take(g.in_channels).enumerate() {
        for (y, src) in plane.chunks_exact(w).enumerate() {
            let start = (y + pad) * padded_w + pad;
            copy_row(&mut padded[start..start + w], src);
        }
        for ky in 0..k {
            for kx in 0..k {
                let row = ((c * k + ky) * k + kx) * h * w;
                for (oy, dst) in cols[row..row + h * w].chunks_exact_mut(w).enumerate() {
                    let start = (oy + ky) * padded_w + kx;
                    copy_row(dst, &padded[start..start + w]);
                }
            }
        }
    }
}

/// Copies a short row (an image row, a few dozen floats) with inline vector moves: a call to
/// `memcpy` per row costs more than the copy itself.
#[inline(always)]
fn copy_row(dst: &mut [f32], src: &[f32]) {
    const LANES: usize = 8;
    let n = dst.len();
    assert_eq!(n, src.len());
    if n < LANES {
        dst.copy_from_slice(src);
        return;
    }
    let (dst_chunks, _) = dst.as_chunks_mut::<LANES>();
    let (src_chunks, _) = src.as_chunks::<LANES>();
    for (d, s) in dst_chunks.iter_mut().zip(src_chunks) {
        *d = *s;
    }
    // The last LANES floats, overlapping the chunks already copied when n is not a multiple.
    let tail: &mut [f32; LANES] = (&mut dst[n - LANES..]).try_into().expect("LANES floats");
    *tail = src[n - LANES..].try_into().expect("LANES floats");
}

/// Folds column gradients `[in*k*k, h*w]` back onto an image gradient `[in, h, w]` (adds).
///
/// Sums land in a zero-bordered plane first, as in [`im2col`], so each column row adds `h`
/// whole rows; the border is dropped when the plane's interior is added to the image.
pub fn col2im_add(g: &ConvGeometry, cols: &[f32], image: &mut [f32]) {
    assert_eq!(image.len(), g.input_image(), "image size");
    assert_eq!(cols.len(), g.patch() * g.plane(), "column matrix size");
    let (h, w, k, pad) = (g.height, g.width, g.kernel, g.pad());
    let padded_w = w + 2 * pad;
    let mut padded = vec![0.0f32; (h + 2 * pad) * padded_w];
    for (c, plane) in image
        .chunks_exact_mut(h * w)
        .take(g.in_channels)
        .enumerate()
    {
        padded.fill(0.0);
        for ky in 0..k {
            for kx in 0..k {
                let row = ((c * k + ky) * k + kx) * h * w;
                for (oy, src) in cols[row..row + h * w].chunks_exact(w).enumerate() {
                    let start = (oy + ky) * padded_w + kx;
                    add_row(&mut padded[start..start + w], src);
                }
            }
        }
        for (y, dst) in plane.chunks_exact_mut(w).enumerate() {
            let start = (y + pad) * padded_w + pad;
            add_row(dst, &padded[start..start + w]);
        }
    }
}

/// `dst += src` for a short row, eight lanes at a time.
#[inline(always)]
fn add_row(dst: &mut [f32], src: &[f32]) {
    const LANES: usize = 8;
    assert_eq!(dst.len(), src.len());
    let (dst_chunks, dst_rest) = dst.as_chunks_mut::<LANES>();
    let (src_chunks, src_rest) = src.as_chunks::<LANES>();
    for (d, s) in dst_chunks.iter_mut().zip(src_chunks) {
        for (d, s) in d.iter_mut().zip(s) {
            *d += s;
        }
    }
    for (d, s) in dst_rest.iter_mut().zip(src_rest) {
        *d += s;
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

/// How a batch of feature maps lies in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[image][channel][y][x]`, as the network's tensors hold them.
    ChannelFirst,
    /// `[image][y][x][channel]`: a pixel's channels side by side, as the vectorised kernels
    /// read and write them.
    ChannelLast,
}

/// `values`, images of `channels` planes of `plane` pixels laid out as `from`, laid out as
/// `to` (a copy when the two are the same).
pub fn relayout(
    values: &[f32],
    (from, to): (Layout, Layout),
    channels: usize,
    plane: usize,
) -> Vec<f32> {
    if from == to {
        return values.to_vec();
    }
    let mut out = vec![0.0f32; values.len()];
    let image = channels * plane;
    for (src, dst) in values.chunks_exact(image).zip(out.chunks_exact_mut(image)) {
        for c in 0..channels {
            for p in 0..plane {
                let (first, last) = (c * plane + p, p * channels + c);
                match from {
                    Layout::ChannelFirst => dst[last] = src[first],
                    Layout::ChannelLast => dst[first] = src[last],
                }
            }
        }
    }
    out
}

/// Images per parallel piece of work: one piece per thread, so each thread allocates its
/// scratch buffers once per call.
pub(crate) fn images_per_chunk(batch: usize) -> usize {
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
    assert_eq!(weight.len(), g.out_channels * g.patch());
    let w = MatRef::row_major(weight, g.out_channels, g.patch());
    let pooled_image = g.output_image() / 4;
    pooled_in_chunks(g, input, pooled, argmax, |images, pooled, argmax| {
        let mut cols = vec![0.0f32; g.patch() * g.plane()];
        let mut conv = vec![0.0f32; g.output_image()];
        let images = pooled
            .chunks_mut(pooled_image)
            .zip(argmax.chunks_mut(pooled_image))
            .zip(images.chunks(g.input_image()));
        for ((pooled_image, argmax_image), image) in images {
            im2col(g, image, &mut cols);
            let cols = MatRef::row_major(&cols, g.patch(), g.plane());
            matmul(&mut conv, w, cols, false, Parallelism::None);
            pool_bias_relu(g, &conv, bias, pooled_image, argmax_image);
        }
    });
}

/// Runs `chunk(images, pooled, argmax)` on one piece of the batch per thread, in parallel,
/// with the pooled outputs and window winners of those images.
pub(crate) fn pooled_in_chunks<F>(
    g: &ConvGeometry,
    input: &[f32],
    pooled: &mut [f32],
    argmax: &mut [u8],
    chunk: F,
) where
    F: Fn(&[f32], &mut [f32], &mut [u8]) + Sync,
{
    let pooled_image = g.output_image() / 4;
    assert_eq!(input.len(), g.batch * g.input_image(), "input size");
    assert_eq!(pooled.len(), g.batch * pooled_image, "pooled size");
    assert_eq!(argmax.len(), pooled.len(), "argmax size");
    let per_chunk = images_per_chunk(g.batch);
    pooled
        .par_chunks_mut(per_chunk * pooled_image)
        .zip(argmax.par_chunks_mut(per_chunk * pooled_image))
        .zip(input.par_chunks(per_chunk * g.input_image()))
        .for_each(|((pooled, argmax), images)| chunk(images, pooled, argmax));
}

/// Runs `chunk(images, pooled)` on one piece of the batch per thread, in parallel, with the
/// pooled values of those images alone (no winners): for inference.
pub(crate) fn pooled_values_in_chunks<F>(
    g: &ConvGeometry,
    input: &[f32],
    pooled: &mut [f32],
    chunk: F,
) where
    F: Fn(&[f32], &mut [f32]) + Sync,
{
    let pooled_image = g.output_image() / 4;
    assert_eq!(input.len(), g.batch * g.input_image(), "input size");
    assert_eq!(pooled.len(), g.batch * pooled_image, "pooled size");
    let per_chunk = images_per_chunk(g.batch);
    pooled
        .par_chunks_mut(per_chunk * pooled_image)
        .zip(input.par_chunks(per_chunk * g.input_image()))
        .for_each(|(pooled, images)| chunk(images, pooled));
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
    let (weight, bias) = backward_in_chunks(
        g,
        grad_input,
        (g.out_channels * g.patch(), g.out_channels),
        |range, grad_input| backward_chunk(g, input, weight, upstream, range, grad_input),
    );
    ConvGrads { weight, bias }
}

/// Runs `chunk` over the batch in one piece of images per thread (handing it the piece's
/// images and their part of `grad_input`), and sums the pieces' weight and bias gradients,
/// of `lens` values, in order: the thread count alone decides how they are grouped.
pub(crate) fn backward_in_chunks<F>(
    g: &ConvGeometry,
    grad_input: Option<&mut [f32]>,
    (weight_len, bias_len): (usize, usize),
    chunk: F,
) -> (Vec<f32>, Vec<f32>)
where
    F: Fn(Range<usize>, Option<&mut [f32]>) -> (Vec<f32>, Vec<f32>) + Sync,
{
    let per_chunk = images_per_chunk(g.batch);
    let ranges: Vec<_> = (0..g.batch)
        .step_by(per_chunk)
        .map(|first| first..(first + per_chunk).min(g.batch))
        .collect();
    let partials: Vec<(Vec<f32>, Vec<f32>)> = match grad_input {
        Some(grad_input) => {
            assert_eq!(
                grad_input.len(),
                g.batch * g.input_image(),
                "input gradient size"
            );
            grad_input
                .par_chunks_mut(per_chunk * g.input_image())
                .zip(ranges.into_par_iter())
                .map(|(piece, range)| chunk(range, Some(piece)))
                .collect()
        }
        None => ranges
            .into_par_iter()
            .map(|range| chunk(range, None))
            .collect(),
    };
    let mut weight = vec![0.0f32; weight_len];
    let mut bias = vec![0.0f32; bias_len];
    for (w, b) in partials {
        add_assign(&mut weight, &w);
        add_assign(&mut bias, &b);
    }
    (weight, bias)
}

/// The backward pass over images `range`, returning this chunk's weight and bias gradients
/// and writing the input gradient of those images into `grad_input` when given.
fn backward_chunk(
    g: &ConvGeometry,
    input: &[f32],
    weight: &[f32],
    upstream: Upstream<'_>,
    range: Range<usize>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relayout_moves_each_value_to_its_place_and_back() {
        // Two images of three channels of four pixels: value = 100 image + 10 channel + pixel.
        let first: Vec<f32> = (0..2)
            .flat_map(|i| {
                (0..3).flat_map(move |c| (0..4).map(move |p| (100 * i + 10 * c + p) as f32))
            })
            .collect();
        let last = relayout(&first, (Layout::ChannelFirst, Layout::ChannelLast), 3, 4);
        assert_eq!(&last[..6], &[0.0, 10.0, 20.0, 1.0, 11.0, 21.0]);
        assert_eq!(last[12], 100.0);
        assert_eq!(
            relayout(&last, (Layout::ChannelLast, Layout::ChannelFirst), 3, 4),
            first
        );
        assert_eq!(
            relayout(&first, (Layout::ChannelFirst, Layout::ChannelFirst), 3, 4),
            first
        );
    }

    fn geometry(in_channels: usize, kernel: usize, height: usize, width: usize) -> ConvGeometry {
        ConvGeometry {
            batch: 1,
            in_channels,
            out_channels: 1,
            kernel,
            height,
            width,
        }
    }

    /// The column matrix element by element, from its definition.
    fn im2col_by_definition(g: &ConvGeometry, image: &[f32]) -> Vec<f32> {
        let (h, w, k) = (g.height as isize, g.width as isize, g.kernel as isize);
        let pad = k / 2;
        let mut cols = Vec::new();
        for c in 0..g.in_channels as isize {
            for ky in 0..k {
                for kx in 0..k {
                    for oy in 0..h {
                        for ox in 0..w {
                            let (iy, ix) = (oy + ky - pad, ox + kx - pad);
                            let inside = (0..h).contains(&iy) && (0..w).contains(&ix);
                            let at = ((c * h + iy) * w + ix) as usize;
                            cols.push(if inside { image[at] } else { 0.0 });
                        }
                    }
                }
            }
        }
        cols
    }

    /// Widths below, at and above the eight-lane row copies, and not multiples of them.
    const SHAPES: [(usize, usize, usize, usize); 6] = [
        (2, 5, 4, 3),
        (1, 5, 6, 8),
        (3, 3, 5, 11),
        (2, 5, 14, 14),
        (1, 5, 28, 28),
        (2, 1, 3, 9),
    ];

    #[test]
    fn im2col_matches_its_definition_for_every_width() {
        for (c, k, h, w) in SHAPES {
            let g = geometry(c, k, h, w);
            let image: Vec<f32> = (0..g.input_image()).map(|i| i as f32 + 1.0).collect();
            let mut cols = vec![f32::NAN; g.patch() * g.plane()];
            im2col(&g, &image, &mut cols);
            assert_eq!(
                cols,
                im2col_by_definition(&g, &image),
                "shape {c}x{k}x{h}x{w}"
            );
        }
    }

    #[test]
    fn col2im_adds_the_transpose_of_im2col() {
        for (c, k, h, w) in SHAPES {
            let g = geometry(c, k, h, w);
            let cols: Vec<f32> = (0..g.patch() * g.plane()).map(|i| (i % 7) as f32).collect();
            let mut image = vec![1.0f32; g.input_image()];
            col2im_add(&g, &cols, &mut image);
            // Pixel p collects every column entry that im2col copies from p.
            let mut want = vec![1.0f32; g.input_image()];
            for p in 0..g.input_image() {
                let mut unit = vec![0.0f32; g.input_image()];
                unit[p] = 1.0;
                let picked = im2col_by_definition(&g, &unit);
                want[p] += picked.iter().zip(&cols).map(|(u, v)| u * v).sum::<f32>();
            }
            assert_eq!(image, want, "shape {c}x{k}x{h}x{w}");
        }
    }
}
