//! 2x2 max-pooling with stride 2, as a dfdx module on the public tape API.

use dfdx::prelude::*;
use rayon::prelude::*;

use super::simd::Vector;
use super::take_grad;
use super::transpose::transpose_into;

/// A compile-time side length that halves exactly: `Const<28>` to `Const<14>`, and so on.
///
/// Stable Rust cannot write `Const<{ N / 2 }>`, so each size the network uses is listed.
pub trait Halve {
    /// The halved dimension.
    type Half: ConstDim;
}

macro_rules! halves {
    ($($n:literal => $h:literal),*) => {
        $(impl Halve for Const<$n> { type Half = Const<$h>; })*
    };
}
halves!(56 => 28, 28 => 14, 16 => 8, 14 => 7, 12 => 6, 8 => 4, 6 => 3, 4 => 2, 2 => 1);

/// Max-pooling over 2x2 windows with stride 2; no parameters.
#[derive(Debug, Default, Clone, Copy)]
pub struct MaxPool2x2;

impl ZeroSizedModule for MaxPool2x2 {}
impl NonMutableModule for MaxPool2x2 {}

impl<B: Dim, C: ConstDim, H: ConstDim + Halve, W: ConstDim + Halve, T: Tape<f32, Cpu>>
    Module<Tensor<(B, C, H, W), f32, Cpu, T>> for MaxPool2x2
{
    type Output = Tensor<(B, C, H::Half, W::Half), f32, Cpu, T>;
    type Error = <Cpu as HasErr>::Err;

    fn try_forward(
        &self,
        x: Tensor<(B, C, H, W), f32, Cpu, T>,
    ) -> Result<Self::Output, Self::Error> {
        let (x, mut tape) = x.split_tape();
        let (batch, channels, height, width) = *x.shape();
        let planes = batch.size() * channels.size();
        let (height, width) = (height.size(), width.size());
        let mut input = vec![0.0f32; x.shape().num_elements()];
        x.copy_into(&mut input);
        let (pooled, argmax) = pool_forward(&input, planes, height, width);
        let shape = (batch, channels, H::Half::default(), W::Half::default());
        let out = x.device().tensor_from_vec(pooled, shape);
        if T::OWNS_TAPE {
            let (x_key, out_saved) = (x.ghost(), out.clone());
            tape.add_backward_op(move |grads| {
                let grad_out = take_grad(grads, &out_saved)?;
                let grad_in = grads.get_or_alloc_mut(&x_key)?;
                pool_backward(&grad_out, &argmax, grad_in, height, width);
                Ok(())
            });
        }
        Ok(out.put_tape(tape))
    }
}

/// Max of each 2x2 window of `planes` planes of `height x width`, and which of the four
/// (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) held it.
pub fn pool_forward(
    input: &[f32],
    planes: usize,
    height: usize,
    width: usize,
) -> (Vec<f32>, Vec<u8>) {
    let (oh, ow) = (height / 2, width / 2);
    let mut pooled = vec![0.0f32; planes * oh * ow];
    let mut argmax = vec![0u8; planes * oh * ow];
    pooled
        .par_chunks_mut(oh * ow)
        .zip(argmax.par_chunks_mut(oh * ow))
        .zip(input.par_chunks(height * width))
        .for_each(|((out, arg), plane)| {
            for oy in 0..oh {
                let top = &plane[2 * oy * width..];
                let bottom = &plane[(2 * oy + 1) * width..];
                for ox in 0..ow {
                    let (max, winner) = window_max(top, bottom, ox);
                    out[oy * ow + ox] = max;
                    arg[oy * ow + ox] = winner;
                }
            }
        });
    (pooled, argmax)
}

/// The largest of the 2x2 window at column pair `x` of two image rows, and which it was (0
/// top-left, 1 top-right, 2 bottom-left, 3 bottom-right; the first on ties).
///
/// Written as selects rather than branches: which pixel wins is data-dependent, and
/// mispredicted branches made pooling cost more than the convolution's own product for the
/// first layer.
#[inline]
pub fn window_max(top: &[f32], bottom: &[f32], x: usize) -> (f32, u8) {
    max_of_four(top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1])
}

/// The largest of a 2x2 window's values, top-left `a`, top-right `b`, bottom-left `c`,
/// bottom-right `d`, and which it was (0 to 3, the first on ties), as selects.
#[inline(always)]
pub fn max_of_four(a: f32, b: f32, c: f32, d: f32) -> (f32, u8) {
    let right_on_top = b > a;
    let top_max = if right_on_top { b } else { a };
    let right_below = d > c;
    let bottom_max = if right_below { d } else { c };
    let below = bottom_max > top_max;
    let max = if below { bottom_max } else { top_max };
    let winner = if below {
        2 + u8::from(right_below)
    } else {
        u8::from(right_on_top)
    };
    (max, winner)
}

/// For each of `n` channels whose 2x2 window is in `quad` (`[4][n]`: top-left, top-right,
/// bottom-left, bottom-right): the window's max plus the channel's bias, clamped at zero,
/// into `best`, and which pixel won into `winner`. Pooling before bias and ReLU gives the same
/// values as after, with a quarter of the work.
#[inline(always)]
pub fn pool_quad(quad: &[f32], bias: &[f32], best: &mut [f32], winner: &mut [u8]) {
    let n = best.len();
    let (a, rest) = quad.split_at(n);
    let (b, rest) = rest.split_at(n);
    let (c, d) = rest.split_at(n);
    let (d, bias, winner) = (&d[..n], &bias[..n], &mut winner[..n]);
    for o in 0..n {
        let (max, won) = max_of_four(a[o], b[o], c[o], d[o]);
        best[o] = (max + bias[o]).max(0.0);
        winner[o] = won;
    }
}

/// [`pool_quad`] for a vector of channels: the window's four pixels (in [`max_of_four`]'s
/// order) give the max plus `bias`, clamped at zero, and which pixel won, as a float 0.0 to
/// 3.0 (the first on ties). The same selects as the scalar form, lane by lane; the clamp
/// gives +0.0 for a sum of -0.0, where the scalar `max` may keep its sign.
#[inline(always)]
pub fn pool_vectors<S: pulp::Simd>(
    simd: S,
    [a, b, c, d]: [Vector<S>; 4],
    bias: Vector<S>,
) -> (Vector<S>, Vector<S>) {
    let number = |k: f32| Vector::splat(simd, k);
    let top = b.greater_select(a, b, a);
    let top_won = b.greater_select(a, number(1.0), number(0.0));
    let bottom = d.greater_select(c, d, c);
    let bottom_won = d.greater_select(c, number(3.0), number(2.0));
    let max = bottom.greater_select(top, bottom, top);
    let won = bottom.greater_select(top, bottom_won, top_won);
    let sum = max + bias;
    (sum.greater_select(number(0.0), sum, number(0.0)), won)
}

/// Writes one image's pooled values and winners for the channels `channels`, given
/// channel-last (`best[window * n + c]`, `won[window * n + c]` as 0.0 to 3.0, for the
/// `n = channels.len()` channels), into its `pooled` and `argmax`, `[channel][window]` with
/// `windows` windows a channel.
#[inline(always)]
pub fn channel_first_pooled(
    (best, won): (&[f32], &[f32]),
    windows: usize,
    channels: std::ops::Range<usize>,
    pooled: &mut [f32],
    argmax: &mut [u8],
) {
    let n = channels.len();
    let planes = channels.start * windows..channels.end * windows;
    let (pooled, argmax) = (&mut pooled[planes.clone()], &mut argmax[planes]);
    transpose_into(best, n, (windows, n), pooled, |d, s| *d = s);
    // Exactly 0.0 to 3.0.
    transpose_into(won, n, (windows, n), argmax, |d, s| *d = s as u8);
}

/// The gradients on one image's pooled outputs that pass their ReLU, and which pixel won
/// each window, for the channels `channels`, turned channel-last: `passed[window * n + c]`
/// and `winner[window * n + c]` (0.0 to 3.0, as [`max_of_four`] numbers them) for the
/// `n = channels.len()` channels. `pooled`, `argmax` and `grad` are the image's,
/// `[channel][window]` with `windows` windows a channel.
///
/// Laid out so, a kernel that works on a window for several channels at once loads each
/// with one vector load (see [`route_to_winner`]).
#[inline(always)]
pub fn channel_last_gradients(
    (pooled, argmax, grad): (&[f32], &[u8], &[f32]),
    windows: usize,
    channels: std::ops::Range<usize>,
    passed: &mut [f32],
    winner: &mut [f32],
) {
    let n = channels.len();
    let planes = channels.start * windows..channels.end * windows;
    let (pooled, argmax, grad) = (
        &pooled[planes.clone()],
        &argmax[planes.clone()],
        &grad[planes],
    );
    let (passed, winner) = (&mut passed[..n * windows], &mut winner[..n * windows]);
    // The pooled values go through `winner` on their way to masking the gradients.
    transpose_into(grad, windows, (n, windows), passed, |d, s| *d = s);
    transpose_into(pooled, windows, (n, windows), winner, |d, s| *d = s);
    for (gradient, &value) in passed.iter_mut().zip(winner.iter()) {
        // The gradient's bits where the ReLU passed, +0.0 where it did not: a mask, not a
        // branch, whose outcome would be data-dependent.
        let keep = 0u32.wrapping_sub(u32::from(value > 0.0));
        *gradient = f32::from_bits(gradient.to_bits() & keep);
    }
    transpose_into(argmax, windows, (n, windows), winner, |d, s| {
        *d = f32::from(s)
    });
}

/// The gradients on a window's four pixels, in [`max_of_four`]'s order, for the gradient
/// `passed` on its max and the pixel that `won`, a vector of channels at a time: all of it
/// to the winner, zero to the others.
#[inline(always)]
pub fn route_to_winner<S: pulp::Simd>(passed: Vector<S>, won: Vector<S>) -> [Vector<S>; 4] {
    [
        won.where_equal(0.0, passed),
        won.where_equal(1.0, passed),
        won.where_equal(2.0, passed),
        won.where_equal(3.0, passed),
    ]
}

/// Routes each pooled gradient back to the input position that won its window (adds).
pub fn pool_backward(
    grad_out: &[f32],
    argmax: &[u8],
    grad_in: &mut [f32],
    height: usize,
    width: usize,
) {
    let ow = width / 2;
    let (in_plane, out_plane) = (height * width, (height / 2) * ow);
    grad_in
        .par_chunks_mut(in_plane)
        .zip(grad_out.par_chunks(out_plane))
        .zip(argmax.par_chunks(out_plane))
        .for_each(|((gin, gout), arg)| {
            for (i, (&g, &a)) in gout.iter().zip(arg).enumerate() {
                let (oy, ox) = (i / ow, i % ow);
                let (dy, dx) = (a as usize / 2, a as usize % 2);
                gin[(2 * oy + dy) * width + 2 * ox + dx] += g;
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::simd::{vectorized, Kernel, LANES};

    /// [`pool_vectors`] over `quad` (`[4][n]`, `n` a multiple of [`LANES`]).
    struct Pooled<'a> {
        quad: &'a [f32],
        bias: &'a [f32],
    }

    impl Kernel for Pooled<'_> {
        type Output = (Vec<f32>, Vec<u8>);

        #[inline(always)]
        fn run<S: pulp::Simd>(self, simd: S) -> (Vec<f32>, Vec<u8>) {
            let n = self.bias.len();
            let (mut best, mut won) = (vec![0.0f32; n], vec![0.0f32; n]);
            for at in (0..n).step_by(Vector::<S>::WIDTH) {
                let pixels = [0, 1, 2, 3].map(|k| Vector::load(simd, self.quad, k * n + at));
                let bias = Vector::load(simd, self.bias, at);
                let (max, winner) = pool_vectors(simd, pixels, bias);
                max.store(&mut best, at);
                winner.store(&mut won, at);
            }
            (best, won.iter().map(|&w| w as u8).collect())
        }
    }

    #[test]
    fn vector_pooling_gives_the_scalar_pooling_bits_ties_and_negatives_included() {
        let n = 4 * LANES;
        // Ties between every pair of pixels, all-negative windows, zeros of both signs.
        let choices = [-1.5f32, -0.0, 0.0, 0.25, 0.25, 2.0, -3.0];
        let quad: Vec<f32> = crate::model::test_values(4 * n, 11)
            .iter()
            .map(|r| choices[((r + 1.0) * 3.5) as usize % choices.len()])
            .collect();
        let bias: Vec<f32> = (0..n).map(|o| [0.5f32, -0.75, 0.0, 1.0][o % 4]).collect();
        let (mut best, mut winner) = (vec![0.0f32; n], vec![0u8; n]);
        pool_quad(&quad, &bias, &mut best, &mut winner);
        let (vector_best, vector_winner) = vectorized(Pooled {
            quad: &quad,
            bias: &bias,
        });
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&vector_best), bits(&best));
        assert_eq!(vector_winner, winner);
        assert!(winner.contains(&0) && winner.contains(&3), "{winner:?}");
    }
}
