//! The first layer's convolution computed directly: one input channel, a 5x5 'SAME'
//! kernel, bias, ReLU and 2x2 max-pooling, vectorised over the output channels.
//!
//! With one input channel, im2col's column matrix has only 25 rows: each output of the
//! matrix product sums 25 terms, too few to pay for the product's packing, and the column
//! matrix and the full-size output cost more memory traffic than the arithmetic. Here the
//! four pixels of each 2x2 pooling window are computed together, 16 output channels at a
//! time, with that block's 25 filter taps held in registers, and pooled before anything is
//! stored. The backward pass (filter and bias gradients; a first layer needs no input
//! gradient) walks the same windows with the block's 25 gradient taps in registers,
//! routing each window's gradient to its winner.

use super::conv_kernels::{
    backward_in_chunks, pooled_in_chunks, pooled_values_in_chunks, ConvGeometry, ConvGrads,
};
use super::pool::{channel_first_pooled, channel_last_gradients, pool_vectors, route_to_winner};
use pulp::Simd;
use seq_macro::seq;

use super::simd::{vectorized, AlignedBuf, Kernel, Vector, LANES};

/// Kernel side this algorithm handles.
const K: usize = 5;
/// Taps of the kernel.
const TAPS: usize = K * K;

/// Whether this algorithm handles `g` pooled, without an input gradient: one input
/// channel, a 5x5 kernel, even sides, output channels in whole lanes of 16.
pub fn supports(g: &ConvGeometry) -> bool {
    g.in_channels == 1
        && g.kernel == K
        && g.height.is_multiple_of(2)
        && g.width.is_multiple_of(2)
        && g.out_channels.is_multiple_of(LANES)
}

/// The filters `[out, 1, 5, 5]` as this algorithm reads them: `[out / 16][25][16]`, each
/// block of 16 output channels with its 25 taps together.
pub fn transpose_filters(g: &ConvGeometry, weight: &[f32]) -> Vec<f32> {
    assert_eq!(weight.len(), g.out_channels * TAPS, "filter size");
    let mut wt = vec![0.0f32; weight.len()];
    for (o, filter) in weight.chunks_exact(TAPS).enumerate() {
        let (block, i) = (o / LANES, o % LANES);
        for (tap, &v) in filter.iter().enumerate() {
            wt[(block * TAPS + tap) * LANES + i] = v;
        }
    }
    wt
}

/// Side of the zero-bordered plane.
fn padded_width(g: &ConvGeometry) -> usize {
    g.width + K - 1
}

/// Copies `image` (`[h, w]`) into the interior of `padded`, whose border stays zero.
#[inline(always)]
fn pad(g: &ConvGeometry, image: &[f32], padded: &mut [f32]) {
    let pw = padded_width(g);
    for (y, row) in image.chunks_exact(g.width).enumerate() {
        let start = (y + K / 2) * pw + K / 2;
        padded[start..start + g.width].copy_from_slice(row);
    }
}

/// Each 2x2 pooling window of `g`'s planes, row by row, with the offset of its top-left
/// pixel in the padded plane.
#[inline(always)]
fn windows(g: &ConvGeometry) -> impl Iterator<Item = (usize, usize)> {
    let (pwid, pw) = (g.width / 2, padded_width(g));
    (0..g.height / 2)
        .flat_map(move |py| (0..pwid).map(move |px| (py * pwid + px, 2 * py * pw + 2 * px)))
}

/// The four pixels of the pooling window whose top-left pixel is at `corner` in the padded
/// plane `pw` wide (top-left, top-right, bottom-left, bottom-right), for the filter vectors
/// `w`: each `Σ_tap w[tap] x`, taps in row order. Unrolled, so that the 25 filter vectors
/// and the four sums stay in registers (a loop over the taps kept them on the stack).
#[inline(always)]
// The unrolled indices are literals: some terms are `0 * pw` or `1 * pw`.
#[allow(clippy::erasing_op, clippy::identity_op)]
fn window_sums<S: Simd>(
    simd: S,
    w: &[Vector<S>; TAPS],
    padded: &[f32],
    corner: usize,
    pw: usize,
) -> [Vector<S>; 4] {
    let mut acc = [Vector::splat(simd, 0.0); 4];
    seq!(KY in 0..5 {
        let top = &padded[corner + KY * pw..][..K + 1];
        let bottom = &padded[corner + (KY + 1) * pw..][..K + 1];
        seq!(KX in 0..5 {
            let tap = w[KY * K + KX];
            acc[0] = tap.mul_add(Vector::splat(simd, top[KX]), acc[0]);
            acc[1] = tap.mul_add(Vector::splat(simd, top[KX + 1]), acc[1]);
            acc[2] = tap.mul_add(Vector::splat(simd, bottom[KX]), acc[2]);
            acc[3] = tap.mul_add(Vector::splat(simd, bottom[KX + 1]), acc[3]);
        });
    });
    acc
}

/// Adds to each tap's gradient `dw[tap]` the window's: `Σ_pixel dy[pixel] x`, `dy` the
/// gradients on the window's four pixels (in [`window_sums`]'s order), taps in row order,
/// unrolled as there.
#[inline(always)]
// The unrolled indices are literals: some terms are `0 * pw` or `1 * pw`.
#[allow(clippy::erasing_op, clippy::identity_op)]
fn add_window_gradients<S: Simd>(
    simd: S,
    dw: &mut [Vector<S>; TAPS],
    dy: &[Vector<S>; 4],
    padded: &[f32],
    corner: usize,
    pw: usize,
) {
    seq!(KY in 0..5 {
        let top = &padded[corner + KY * pw..][..K + 1];
        let bottom = &padded[corner + (KY + 1) * pw..][..K + 1];
        seq!(KX in 0..5 {
            let tap = &mut dw[KY * K + KX];
            *tap = dy[0].mul_add(Vector::splat(simd, top[KX]), *tap);
            *tap = dy[1].mul_add(Vector::splat(simd, top[KX + 1]), *tap);
            *tap = dy[2].mul_add(Vector::splat(simd, bottom[KX]), *tap);
            *tap = dy[3].mul_add(Vector::splat(simd, bottom[KX + 1]), *tap);
        });
    });
}

/// Where lane `channel % 16` of output channel block `channel / 16` of tap `tap` sits in
/// filters laid out as [`transpose_filters`] does.
fn tap_index(channel: usize, tap: usize) -> usize {
    ((channel / LANES) * TAPS + tap) * LANES + channel % LANES
}

/// The pooled outputs of a chunk of images.
struct ForwardChunk<'a> {
    g: &'a ConvGeometry,
    /// `[count, 1, h, w]`.
    images: &'a [f32],
    /// From [`transpose_filters`].
    wt: &'a [f32],
    bias: &'a [f32],
    out: PooledOut<'a>,
}

/// Where [`ForwardChunk`] writes the pooled outputs of its images.
enum PooledOut<'a> {
    /// `[image][channel][window]`, with each window's winner.
    ChannelFirst {
        pooled: &'a mut [f32],
        argmax: &'a mut [u8],
    },
    /// `[image][window][channel]`, without the winners: for inference.
    ChannelLast(&'a mut [f32]),
}

impl Kernel for ForwardChunk<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(mut self, simd: S) {
        let g = self.g;
        let (cout, pw, pooled_plane) = (g.out_channels, padded_width(g), g.plane() / 4);
        let pooled_image = cout * pooled_plane;
        let width = Vector::<S>::WIDTH;
        let mut padded = AlignedBuf::zeros((g.height + K - 1) * pw);
        // One image's pooled values and winners for a block of channels, channel-last.
        let mut best = AlignedBuf::zeros(pooled_plane * width);
        let mut won = AlignedBuf::zeros(pooled_plane * width);
        for (index, image) in self.images.chunks_exact(g.plane()).enumerate() {
            pad(g, image, &mut padded);
            let outputs = index * pooled_image..(index + 1) * pooled_image;
            for first in (0..cout).step_by(width) {
                // This vector of output channels' 25 taps, kept in registers over the image.
                let mut w = [Vector::splat(simd, 0.0); TAPS];
                for (tap, w) in w.iter_mut().enumerate() {
                    *w = Vector::load(simd, self.wt, tap_index(first, tap));
                }
                let bias = Vector::load(simd, self.bias, first);
                match &mut self.out {
                    PooledOut::ChannelFirst { pooled, argmax } => {
                        for (window_index, corner) in windows(g) {
                            let acc = window_sums(simd, &w, &padded, corner, pw);
                            let (max, winner) = pool_vectors(simd, acc, bias);
                            max.store(&mut best, window_index * width);
                            winner.store(&mut won, window_index * width);
                        }
                        channel_first_pooled(
                            (&best, &won),
                            pooled_plane,
                            first..first + width,
                            &mut pooled[outputs.clone()],
                            &mut argmax[outputs.clone()],
                        );
                    }
                    PooledOut::ChannelLast(pooled) => {
                        let pooled = &mut pooled[outputs.clone()];
                        for (window_index, corner) in windows(g) {
                            let acc = window_sums(simd, &w, &padded, corner, pw);
                            let (max, _) = pool_vectors(simd, acc, bias);
                            max.store(pooled, window_index * cout + first);
                        }
                    }
                }
            }
        }
    }
}

/// `pooled = maxpool2x2(relu(conv(input, weight) + bias))` for a batch of one-channel
/// images, and each window's winner, as [`super::conv_kernels::forward_pooled`] gives them;
/// `wt` the filters from [`transpose_filters`].
pub fn forward_pooled(
    g: &ConvGeometry,
    input: &[f32],
    wt: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
    argmax: &mut [u8],
) {
    assert!(supports(g), "the direct kernel does not handle {g:?}");
    assert_eq!(wt.len(), g.out_channels * TAPS, "filter size");
    assert_eq!(bias.len(), g.out_channels, "bias size");
    pooled_in_chunks(g, input, pooled, argmax, |images, pooled, argmax| {
        vectorized(ForwardChunk {
            g,
            images,
            wt,
            bias,
            out: PooledOut::ChannelFirst { pooled, argmax },
        });
    });
}

/// [`forward_pooled`]'s values laid out channel-last (`[image][window][channel]`), without
/// the winners: what inference hands the next layer.
pub fn forward_pooled_channel_last(
    g: &ConvGeometry,
    input: &[f32],
    wt: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
) {
    assert!(supports(g), "the direct kernel does not handle {g:?}");
    assert_eq!(wt.len(), g.out_channels * TAPS, "filter size");
    assert_eq!(bias.len(), g.out_channels, "bias size");
    pooled_values_in_chunks(g, input, pooled, |images, pooled| {
        vectorized(ForwardChunk {
            g,
            images,
            wt,
            bias,
            out: PooledOut::ChannelLast(pooled),
        });
    });
}

/// The filter and bias gradients of images `range`, laid out as [`transpose_filters`] does,
/// and `[out]`.
struct BackwardChunk<'a> {
    g: &'a ConvGeometry,
    /// The whole batch's input.
    input: &'a [f32],
    pooled: &'a [f32],
    argmax: &'a [u8],
    grad: &'a [f32],
    range: std::ops::Range<usize>,
}

impl Kernel for BackwardChunk<'_> {
    type Output = (Vec<f32>, Vec<f32>);

    #[inline(always)]
    fn run<S: Simd>(self, simd: S) -> (Vec<f32>, Vec<f32>) {
        let g = self.g;
        let (cout, pw, pooled_plane) = (g.out_channels, padded_width(g), g.plane() / 4);
        let pooled_image = cout * pooled_plane;
        let width = Vector::<S>::WIDTH;
        let mut grad_wt = vec![0.0f32; TAPS * cout];
        let mut grad_bias = vec![0.0f32; cout];
        let mut padded = AlignedBuf::zeros((g.height + K - 1) * pw);
        // One image's gradients that pass the ReLU, and the windows' winners, for this
        // block of channels, channel-last.
        let mut passed = AlignedBuf::zeros(pooled_plane * width);
        let mut won = AlignedBuf::zeros(pooled_plane * width);
        for first in (0..cout).step_by(width) {
            // This vector of output channels' 25 tap gradients, kept in registers over the
            // chunk's images, and their bias gradients.
            let mut dw = [Vector::splat(simd, 0.0); TAPS];
            let mut bias = Vector::splat(simd, 0.0);
            for index in self.range.clone() {
                pad(
                    g,
                    &self.input[index * g.plane()..][..g.plane()],
                    &mut padded,
                );
                let image = index * pooled_image..(index + 1) * pooled_image;
                channel_last_gradients(
                    (
                        &self.pooled[image.clone()],
                        &self.argmax[image.clone()],
                        &self.grad[image],
                    ),
                    pooled_plane,
                    first..first + width,
                    &mut passed,
                    &mut won,
                );
                for (window_index, corner) in windows(g) {
                    // The gradient on each of the four pixels: the window's, at its winner.
                    let gr = Vector::load(simd, &passed, window_index * width);
                    let dy = route_to_winner(gr, Vector::load(simd, &won, window_index * width));
                    bias = bias + gr;
                    add_window_gradients(simd, &mut dw, &dy, &padded, corner, pw);
                }
            }
            for (tap, dw) in dw.iter().enumerate() {
                dw.store(&mut grad_wt, tap_index(first, tap));
            }
            bias.store(&mut grad_bias, first);
        }
        (grad_wt, grad_bias)
    }
}

/// Filter and bias gradients of [`forward_pooled`] for the gradient `grad` on its pooled
/// output (`pooled` and `argmax` what it returned). The input gets no gradient.
pub fn backward(
    g: &ConvGeometry,
    input: &[f32],
    pooled: &[f32],
    argmax: &[u8],
    grad: &[f32],
) -> ConvGrads {
    assert!(supports(g), "the direct kernel does not handle {g:?}");
    assert_eq!(input.len(), g.batch * g.input_image(), "input size");
    let pooled_len = g.batch * g.output_image() / 4;
    assert_eq!(pooled.len(), pooled_len, "pooled size");
    assert_eq!(argmax.len(), pooled_len, "argmax size");
    assert_eq!(grad.len(), pooled_len, "gradient size");
    let (grad_wt, grad_bias) = backward_in_chunks(
        g,
        None,
        (TAPS * g.out_channels, g.out_channels),
        |range, _| {
            vectorized(BackwardChunk {
                g,
                input,
                pooled,
                argmax,
                grad,
                range,
            })
        },
    );
    // Back to `[out, 1, 5, 5]`.
    let mut weight = vec![0.0f32; grad_wt.len()];
    for (o, filter) in weight.chunks_exact_mut(TAPS).enumerate() {
        let (block, i) = (o / LANES, o % LANES);
        for (tap, v) in filter.iter_mut().enumerate() {
            *v = grad_wt[(block * TAPS + tap) * LANES + i];
        }
    }
    ConvGrads {
        weight,
        bias: grad_bias,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::conv_kernels::{self, Upstream};

    use crate::model::test_values as random;

    #[test]
    fn pooled_forward_and_gradients_match_im2col() {
        // The first layer's shape, and a small one.
        for (batch, cout, k, h, w) in [(5, 32, 5, 28, 28), (3, 16, 5, 6, 10)] {
            let g = ConvGeometry {
                batch,
                in_channels: 1,
                out_channels: cout,
                kernel: k,
                height: h,
                width: w,
            };
            let input: Vec<f32> = random(batch * g.input_image(), 1)
                .iter()
                .map(|v| v.abs())
                .collect();
            let weight: Vec<f32> = random(cout * k * k, 2).iter().map(|v| v * 0.2).collect();
            let bias: Vec<f32> = random(cout, 3).iter().map(|v| v * 0.1).collect();
            let n = g.batch * g.output_image() / 4;
            let (mut p1, mut a1) = (vec![0.0f32; n], vec![0u8; n]);
            let (mut p2, mut a2) = (vec![0.0f32; n], vec![0u8; n]);
            let wt = transpose_filters(&g, &weight);
            forward_pooled(&g, &input, &wt, &bias, &mut p1, &mut a1);
            conv_kernels::forward_pooled(&g, &input, &weight, &bias, &mut p2, &mut a2);
            for (x, y) in p1.iter().zip(&p2) {
                assert!((x - y).abs() <= 1e-5, "{x} vs {y}");
            }
            let grad = random(n, 4);
            let w1 = backward(&g, &input, &p2, &a2, &grad);
            let upstream = Upstream::Pooled {
                pooled: &p2,
                argmax: &a2,
                grad: &grad,
            };
            let w2 = conv_kernels::backward(&g, &input, &weight, upstream, None);
            for (a, b) in [(&w1.weight, &w2.weight), (&w1.bias, &w2.bias)] {
                let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (x, y) in a.iter().zip(b.iter()) {
                    assert!((x - y).abs() <= 1e-5 * scale, "{x} vs {y}");
                }
            }
        }
    }
}
