//! 'SAME' 2-D convolution with bias and ReLU fused in, as a dfdx module.
//!
//! dfdx 0.13's own `Conv2D` sits behind its `nightly` feature, which no current toolchain
//! builds, so this layer is written on dfdx's public tape API: the forward pass runs
//! [`conv_kernels::forward`](super::conv_kernels::forward) and records a backward op that
//! writes the input, weight and bias gradients. `TensorCollection` makes the weights visible
//! to Adam, `zero_grads` and safetensors.

use dfdx::prelude::*;
use num_traits::Float;
use rand_distr::{uniform::SampleUniform, Uniform};

use super::conv_kernels::{self, ConvGeometry};
use super::{add_assign, contents, take_grad};

/// Builder types, used in the network's type to say what to build.
pub mod builder {
    /// A `K x K` 'SAME' convolution from `I` to `O` channels, with bias and ReLU.
    /// `INPUT_GRAD = false` skips the input's gradient: for a first layer fed with data.
    #[derive(Debug, Clone, Copy)]
    pub struct ConvSameRelu<
        const I: usize,
        const O: usize,
        const K: usize,
        const INPUT_GRAD: bool = true,
    >;
}

impl<const I: usize, const O: usize, const K: usize, const G: bool, E: Dtype, D: Device<E>>
    BuildOnDevice<D, E> for builder::ConvSameRelu<I, O, K, G>
where
    ConvSameRelu<I, O, K, E, D, G>: BuildModule<D, E>,
{
    type Built = ConvSameRelu<I, O, K, E, D, G>;
    fn try_build_on_device(device: &D) -> Result<Self::Built, D::Err> {
        Self::Built::try_build(device)
    }
}

/// `relu(conv2d_same(x, weight) + bias)`, stride 1, kernel `K` (odd), `I` to `O` channels.
/// With `INPUT_GRAD = false` the backward pass leaves the input's gradient alone.
#[derive(Debug, Clone)]
pub struct ConvSameRelu<
    const I: usize,
    const O: usize,
    const K: usize,
    E: Dtype,
    D: Storage<E>,
    const INPUT_GRAD: bool = true,
> {
    /// Filters, `[out, in, k, k]`.
    pub weight: Tensor<Rank4<O, I, K, K>, E, D>,
    /// One bias per output channel.
    pub bias: Tensor<Rank1<O>, E, D>,
}

impl<const I: usize, const O: usize, const K: usize, E: Dtype, D: Storage<E>, const G: bool>
    NonMutableModule for ConvSameRelu<I, O, K, E, D, G>
{
}

impl<const I: usize, const O: usize, const K: usize, E, D, const G: bool> TensorCollection<E, D>
    for ConvSameRelu<I, O, K, E, D, G>
where
    E: Dtype + Float + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = ConvSameRelu<I, O, K, E2, D2, G>;

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

/// Uniform in +-1/sqrt(fan_in).
fn fan_in_uniform<E: Float + SampleUniform>(fan_in: usize) -> Uniform<E> {
    let bound = E::one() / E::from(fan_in).unwrap_or_else(E::one).sqrt();
    Uniform::new(-bound, bound)
}

impl<B, const I: usize, const O: usize, const K: usize, const G: bool, H, W, T>
    Module<Tensor<(B, Const<I>, H, W), f32, Cpu, T>> for ConvSameRelu<I, O, K, f32, Cpu, G>
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
        const { assert!(K % 2 == 1, "'SAME' padding needs an odd kernel") };
        let (x, mut tape) = x.split_tape();
        let (batch, _, height, width) = *x.shape();
        let geometry = ConvGeometry {
            batch: batch.size(),
            in_channels: I,
            out_channels: O,
            kernel: K,
            height: height.size(),
            width: width.size(),
        };
        let input = contents(&x);
        let weight = contents(&self.weight);
        let bias = contents(&self.bias);
        let mut out = vec![0.0f32; geometry.batch * geometry.output_image()];
        conv_kernels::forward(&geometry, &input, &weight, &bias, &mut out);
        let out = x
            .device()
            .tensor_from_vec(out, (batch, Const::<O>, height, width));
        if T::OWNS_TAPE {
            let keys = (x.ghost(), self.weight.ghost(), self.bias.ghost());
            let out_saved = out.clone();
            tape.add_backward_op(move |grads| {
                let grad_out = take_grad(grads, &out_saved)?;
                let out_values = contents(&out_saved);
                let g =
                    conv_kernels::backward(&geometry, &input, &weight, &out_values, &grad_out, G);
                if G {
                    add_assign(grads.get_or_alloc_mut(&keys.0)?, &g.input);
                }
                add_assign(grads.get_or_alloc_mut(&keys.1)?, &g.weight);
                add_assign(grads.get_or_alloc_mut(&keys.2)?, &g.bias);
                Ok(())
            });
        }
        Ok(out.put_tape(tape))
    }
}
