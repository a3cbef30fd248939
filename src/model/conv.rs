//! 'SAME' 2-D convolution with bias, ReLU and optionally 2x2 max-pooling fused in, as a dfdx
//! module.
//!
//! dfdx 0.13's own `Conv2D` sits behind its `nightly` feature, which no current toolchain
//! builds, so this layer is written on dfdx's public tape API: the forward pass runs the
//! kernels and records a backward op that writes the input, weight and bias gradients.
//! `TensorCollection` makes the weights visible to Adam, `zero_grads` and safetensors.
//!
//! Four algorithms: Winograd F(4x4, 5x5) or F(2x2, 5x5) ([`winograd`](super::winograd)),
//! whichever does fewer products over the plane, for 5x5 kernels over enough input channels
//! (the second layer); a direct kernel vectorised over output channels
//! ([`direct`](super::direct)) for a pooled first layer with one input channel; in passes
//! that record no backward pass on AVX2, that layer by Winograd F(4x4, 5x5) instead
//! ([`one_channel`](super::winograd::one_channel)), which finds no window winners; im2col
//! and one matrix product per image ([`conv_kernels`](super::conv_kernels)) for everything
//! else.

use dfdx::prelude::*;
use num_traits::Float;
use rand_distr::uniform::SampleUniform;

use super::conv_kernels::{self, relayout, ConvGeometry, ConvGrads, Layout, Upstream};
use super::direct;
use super::init::fan_in_uniform;
use super::lent::Weights;
use super::pool::Halve;
use super::winograd::{self, one_channel};
use super::{add_assign, contents, recycle, take_grad};

/// Builder types, used in the network's type to say what to build.
pub mod builder {
    /// A `K x K` 'SAME' convolution from `I` to `O` channels, with bias and ReLU, and 2x2
    /// max-pooling when `POOL`. `INPUT_GRAD = false` skips the input's gradient: for a first
    /// layer fed with data.
    #[derive(Debug, Clone, Copy)]
    pub struct ConvSameRelu<
        const I: usize,
        const O: usize,
        const K: usize,
        const INPUT_GRAD: bool = true,
        const POOL: bool = false,
    >;
}

impl<const I: usize, const O: usize, const K: usize, const G: bool, const P: bool, E, D>
    BuildOnDevice<D, E> for builder::ConvSameRelu<I, O, K, G, P>
where
    E: Dtype,
    D: Device<E>,
    ConvSameRelu<I, O, K, E, D, G, P>: BuildModule<D, E>,
{
    type Built = ConvSameRelu<I, O, K, E, D, G, P>;
    fn try_build_on_device(device: &D) -> Result<Self::Built, D::Err> {
        Self::Built::try_build(device)
    }
}

/// `relu(conv2d_same(x, weight) + bias)`, stride 1, kernel `K` (odd), `I` to `O` channels,
/// followed by 2x2 max-pooling when `POOL`. With `INPUT_GRAD = false` the backward pass
/// leaves the input's gradient alone.
///
/// Pooling inside the layer means the full-size output never becomes a tensor: the forward
/// pass keeps only the pooled values and which pixel won each window, and the backward pass
/// routes gradients through those.
#[derive(Debug, Clone)]
pub struct ConvSameRelu<
    const I: usize,
    const O: usize,
    const K: usize,
    E: Dtype,
    D: Storage<E>,
    const INPUT_GRAD: bool = true,
    const POOL: bool = false,
> {
    /// Filters, `[out, in, k, k]`.
    pub weight: Tensor<Rank4<O, I, K, K>, E, D>,
    /// One bias per output channel.
    pub bias: Tensor<Rank1<O>, E, D>,
}

impl<const I: usize, const O: usize, const K: usize, E, D, const G: bool, const P: bool>
    NonMutableModule for ConvSameRelu<I, O, K, E, D, G, P>
where
    E: Dtype,
    D: Storage<E>,
{
}

impl<const I: usize, const O: usize, const K: usize, E, D, const G: bool, const P: bool>
    TensorCollection<E, D> for ConvSameRelu<I, O, K, E, D, G, P>
where
    E: Dtype + Float + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = ConvSameRelu<I, O, K, E2, D2, G, P>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        // Fan-in scaled uniform, as dfdx's `Linear` and PyTorch's `Conv2d` start.
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(|t| {
                        t.try_fill_with_distr(fan_in_uniform::<E>(I * K * K))
                    }),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_with(|t| {
                        t.try_fill_with_distr(fan_in_uniform::<E>(I * K * K))
                    }),
                ),
            ),
            |(weight, bias)| ConvSameRelu { weight, bias },
        )
    }
}

impl<const I: usize, const O: usize, const K: usize, const G: bool, const P: bool>
    ConvSameRelu<I, O, K, f32, Cpu, G, P>
{
    /// The sizes of a call on `batch` images of `height x width`.
    fn geometry(batch: usize, height: usize, width: usize) -> ConvGeometry {
        const { assert!(K % 2 == 1, "'SAME' padding needs an odd kernel") };
        ConvGeometry {
            batch,
            in_channels: I,
            out_channels: O,
            kernel: K,
            height,
            width,
        }
    }

    /// Runs `kernel` on copies of the input, filters and biases, makes its output a tensor of
    /// `out_shape` and records the backward pass. `kernel` returns the output values and, when
    /// it pools, each window's winner.
    fn run<S: Shape, Out: Shape, T: Tape<f32, Cpu>>(
        &self,
        x: Tensor<S, f32, Cpu, T>,
        (batch, height, width): (usize, usize, usize),
        out_shape: Out,
        kernel: impl FnOnce(&ConvGeometry, &[f32], &Filters, &[f32]) -> (Vec<f32>, Option<Vec<u8>>),
    ) -> Tensor<Out, f32, Cpu, T> {
        let (x, mut tape) = x.split_tape();
        let geometry = Self::geometry(batch, height, width);
        let input = contents(&x);
        // During a training step the optimizer lends its copy of the weights (see `lent`).
        let uses = Uses {
            pooled: P,
            input_grad: G,
            backward: T::OWNS_TAPE,
        };
        let weight = Filters::new(&geometry, Weights::of(&self.weight), uses);
        let (values, argmax) = kernel(&geometry, &input, &weight, &Weights::of(&self.bias));
        let out = x.device().tensor_from_vec(values, out_shape);
        let saved = Saved {
            geometry,
            input,
            weight,
            argmax,
        };
        self.record_backward(&mut tape, &x, &out, saved);
        out.put_tape(tape)
    }

    /// Records the backward pass of either forward pass on `tape`; without a tape, hands the
    /// copies made for it back at once.
    fn record_backward<S: Shape, Out: Shape, T: Tape<f32, Cpu>>(
        &self,
        tape: &mut T,
        x: &Tensor<S, f32, Cpu>,
        out: &Tensor<Out, f32, Cpu>,
        saved: Saved,
    ) {
        if !T::OWNS_TAPE {
            recycle(saved.input);
            saved.weight.recycle();
            return;
        }
        let keys = (x.ghost(), self.weight.ghost(), self.bias.ghost());
        let out = out.clone();
        tape.add_backward_op(move |grads| {
            let grad = take_grad(grads, &out)?;
            let out_values = contents(&out);
            let upstream = match &saved.argmax {
                Some(argmax) => Upstream::Pooled {
                    pooled: &out_values,
                    argmax,
                    grad: &grad,
                },
                None => Upstream::Relu {
                    out: &out_values,
                    grad: &grad,
                },
            };
            let grad_input = if G {
                Some(&mut grads.get_or_alloc_mut(&keys.0)?[..])
            } else {
                None
            };
            let g = saved
                .weight
                .backward(&saved.geometry, &saved.input, upstream, grad_input);
            add_assign(grads.get_or_alloc_mut(&keys.1)?, &g.weight);
            add_assign(grads.get_or_alloc_mut(&keys.2)?, &g.bias);
            recycle(saved.input);
            saved.weight.recycle();
            recycle(out_values);
            Ok(())
        });
    }
}

/// The filters of one call, in the form its algorithm takes them.
enum Filters {
    /// `[out, in, k, k]`, for im2col.
    Im2col(Vec<f32>),
    /// Transformed for the Winograd tiling with the fewest products for the plane.
    Winograd(winograd::Transformed),
    /// For the direct one-channel kernel: `[k*k][out]`; pooled layers without an input
    /// gradient only.
    Direct(Vec<f32>),
    /// For the one-channel Winograd kernel, `[positions][out]`: pooled layers without an
    /// input gradient, in passes that record no backward pass (it finds no winners).
    OneChannel(Vec<f32>),
}

/// What a call needs of its algorithm.
#[derive(Clone, Copy)]
struct Uses {
    /// The layer pools its output.
    pooled: bool,
    /// The layer passes a gradient to its input.
    input_grad: bool,
    /// The pass records its backward pass.
    backward: bool,
}

/// Why a direct kernel met a call it was not chosen for.
const DIRECT_POOLED_ONLY: &str = "the direct kernel is chosen only for pooled layers";
/// Why the one-channel Winograd kernel met a call it was not chosen for.
const ONE_CHANNEL_INFERENCE_ONLY: &str =
    "the one-channel Winograd kernel is chosen only for pooled layers without a backward pass";

impl Filters {
    /// The algorithm for `g` and what the call `uses`, with `weight` (`[out, in, k, k]`) in
    /// its form.
    fn new(g: &ConvGeometry, weight: Weights, uses: Uses) -> Self {
        // The first layer's kernels: pooled, with no gradient for the input.
        let first_layer = uses.pooled && !uses.input_grad;
        let filters = if winograd::supports(g) {
            let tile = winograd::Tile::for_geometry(g);
            Filters::Winograd(winograd::transform_filters(tile, g, &weight))
        } else if first_layer
            && !uses.backward
            && one_channel::supports(g)
            && one_channel::beats_direct()
        {
            Filters::OneChannel(one_channel::transform_filters(g, &weight))
        } else if first_layer && direct::supports(g) {
            Filters::Direct(direct::transpose_filters(g, &weight))
        } else {
            return Filters::Im2col(weight.into_vec());
        };
        weight.release();
        filters
    }

    /// `out = relu(conv(input) + bias)`.
    fn forward(&self, g: &ConvGeometry, input: &[f32], bias: &[f32], out: &mut [f32]) {
        match self {
            Filters::Im2col(w) => conv_kernels::forward(g, input, w, bias, out),
            Filters::Winograd(u) => winograd::forward(g, input, u, bias, out),
            Filters::Direct(_) => unreachable!("{DIRECT_POOLED_ONLY}"),
            Filters::OneChannel(_) => unreachable!("{ONE_CHANNEL_INFERENCE_ONLY}"),
        }
    }

    /// `maxpool2x2(relu(conv(input) + bias))` and each window's winner, where the algorithm
    /// finds them (all but the one for inference).
    fn forward_pooled(
        &self,
        g: &ConvGeometry,
        input: &[f32],
        bias: &[f32],
    ) -> (Vec<f32>, Option<Vec<u8>>) {
        let mut pooled = vec![0.0f32; g.batch * g.output_image() / 4];
        if let Filters::OneChannel(u) = self {
            one_channel::pooled_values(g, input, u, bias, &mut pooled);
            let layouts = (Layout::ChannelLast, Layout::ChannelFirst);
            return (
                relayout(&pooled, layouts, g.out_channels, g.plane() / 4),
                None,
            );
        }
        let mut argmax = vec![0u8; pooled.len()];
        match self {
            Filters::Im2col(w) => {
                conv_kernels::forward_pooled(g, input, w, bias, &mut pooled, &mut argmax)
            }
            Filters::Winograd(u) => {
                winograd::forward_pooled(g, input, u, bias, &mut pooled, &mut argmax)
            }
            Filters::Direct(wt) => {
                direct::forward_pooled(g, input, wt, bias, &mut pooled, &mut argmax)
            }
            Filters::OneChannel(_) => unreachable!("handled above"),
        }
        (pooled, Some(argmax))
    }

    /// [`Self::forward_pooled`]'s values from an input laid out as `from`, laid out as `to`.
    fn pooled_values(
        &self,
        g: &ConvGeometry,
        input: &[f32],
        bias: &[f32],
        (from, to): (Layout, Layout),
    ) -> Vec<f32> {
        let pooled_plane = g.plane() / 4;
        let outputs = g.batch * g.out_channels * pooled_plane;
        let (pooled, produced) = match self {
            // One input channel: both layouts are the same.
            Filters::Direct(wt) if to == Layout::ChannelLast => {
                let mut pooled = vec![0.0f32; outputs];
                direct::forward_pooled_channel_last(g, input, wt, bias, &mut pooled);
                (pooled, Layout::ChannelLast)
            }
            // One input channel, so either layout; the output comes channel-last.
            Filters::OneChannel(u) => {
                let mut pooled = vec![0.0f32; outputs];
                one_channel::pooled_values(g, input, u, bias, &mut pooled);
                (pooled, Layout::ChannelLast)
            }
            Filters::Winograd(u) => {
                let mut pooled = vec![0.0f32; outputs];
                winograd::pooled_values_from((input, from), g, u, bias, &mut pooled);
                (pooled, Layout::ChannelFirst)
            }
            _ => {
                let layouts = (from, Layout::ChannelFirst);
                let first = relayout(input, layouts, g.in_channels, g.plane());
                (self.forward_pooled(g, &first, bias).0, Layout::ChannelFirst)
            }
        };
        if produced == to {
            return pooled;
        }
        relayout(&pooled, (produced, to), g.out_channels, pooled_plane)
    }

    /// Filter and bias gradients; the input's is added into `grad_input` when given.
    fn backward(
        &self,
        g: &ConvGeometry,
        input: &[f32],
        upstream: Upstream<'_>,
        grad_input: Option<&mut [f32]>,
    ) -> ConvGrads {
        match (self, upstream) {
            (Filters::Im2col(w), _) => conv_kernels::backward(g, input, w, upstream, grad_input),
            (Filters::Winograd(u), _) => winograd::backward(g, input, u, upstream, grad_input),
            (
                Filters::Direct(_),
                Upstream::Pooled {
                    pooled,
                    argmax,
                    grad,
                },
            ) => direct::backward(g, input, pooled, argmax, grad),
            (Filters::Direct(_), Upstream::Relu { .. }) => unreachable!("{DIRECT_POOLED_ONLY}"),
            (Filters::OneChannel(_), _) => unreachable!("{ONE_CHANNEL_INFERENCE_ONLY}"),
        }
    }

    /// Hands the buffer back for reuse.
    fn recycle(self) {
        match self {
            Filters::Im2col(v) | Filters::Direct(v) | Filters::OneChannel(v) => recycle(v),
            Filters::Winograd(transformed) => recycle(transformed.u),
        }
    }
}

/// What a forward pass keeps for its backward pass.
struct Saved {
    /// The call's sizes.
    geometry: ConvGeometry,
    /// A copy of the input.
    input: Vec<f32>,
    /// The filters, as the algorithm uses them.
    weight: Filters,
    /// With pooling: which pixel won each window.
    argmax: Option<Vec<u8>>,
}

impl<B, const I: usize, const O: usize, const K: usize, const G: bool, H, W, T>
    Module<Tensor<(B, Const<I>, H, W), f32, Cpu, T>> for ConvSameRelu<I, O, K, f32, Cpu, G, false>
where
    B: Dim,
    H: ConstDim,
    W: ConstDim,
    T: Tape<f32, Cpu>,
{
    type Output = Tensor<(B, Const<O>, H, W), f32, Cpu, T>;
    type Error = <Cpu as HasErr>::Err;

    fn try_forward(
        &self,
        x: Tensor<(B, Const<I>, H, W), f32, Cpu, T>,
    ) -> Result<Self::Output, Self::Error> {
        let (batch, _, height, width) = *x.shape();
        let dims = (batch.size(), height.size(), width.size());
        let shape = (batch, Const::<O>, height, width);
        Ok(self.run(x, dims, shape, |g, input, weight, bias| {
            let mut out = vec![0.0f32; g.batch * g.output_image()];
            weight.forward(g, input, bias, &mut out);
            (out, None)
        }))
    }
}

impl<const I: usize, const O: usize, const K: usize, const G: bool>
    ConvSameRelu<I, O, K, f32, Cpu, G, true>
{
    /// `maxpool2x2(relu(conv(input) + bias))` for `batch` images of `height x width` given
    /// as plain values, as the untaped forward computes it (the same kernel, the same bits),
    /// without a tensor on either side: for inference, where dfdx would copy each activation
    /// once more to read it. `layouts` says how the input lies and how the output should:
    /// passed channel-last from one layer to the next, the values need no reordering at
    /// either end.
    pub fn pooled_values(
        &self,
        input: &[f32],
        (batch, height, width): (usize, usize, usize),
        layouts: (Layout, Layout),
    ) -> Vec<f32> {
        let geometry = Self::geometry(batch, height, width);
        assert_eq!(input.len(), batch * geometry.input_image(), "input size");
        let uses = Uses {
            pooled: true,
            input_grad: G,
            backward: false,
        };
        let weight = Filters::new(&geometry, Weights::of(&self.weight), uses);
        let bias = Weights::of(&self.bias);
        let pooled = weight.pooled_values(&geometry, input, &bias, layouts);
        weight.recycle();
        pooled
    }
}

impl<B, const I: usize, const O: usize, const K: usize, const G: bool, H, W, T>
    Module<Tensor<(B, Const<I>, H, W), f32, Cpu, T>> for ConvSameRelu<I, O, K, f32, Cpu, G, true>
where
    B: Dim,
    H: ConstDim + Halve,
    W: ConstDim + Halve,
    T: Tape<f32, Cpu>,
{
    type Output = Tensor<(B, Const<O>, H::Half, W::Half), f32, Cpu, T>;
    type Error = <Cpu as HasErr>::Err;

    fn try_forward(
        &self,
        x: Tensor<(B, Const<I>, H, W), f32, Cpu, T>,
    ) -> Result<Self::Output, Self::Error> {
        let (batch, _, height, width) = *x.shape();
        let dims = (batch.size(), height.size(), width.size());
        let shape = (batch, Const::<O>, H::Half::default(), W::Half::default());
        Ok(self.run(x, dims, shape, |g, input, weight, bias| {
            weight.forward_pooled(g, input, bias)
        }))
    }
}
