//! A fully connected layer with its bias (and optionally ReLU) fused in, as a dfdx module.
//!
//! dfdx's `Linear` adds its bias and the following `ReLU` as separate single-threaded passes
//! and multiplies with an older `gemm`; this layer does the whole forward as one product plus
//! one pass, and its backward as two products plus one pass.

use dfdx::prelude::*;
use num_traits::Float;
use rand_distr::uniform::SampleUniform;

use super::init::fan_in_uniform;
use super::lent::Weights;
use super::matmul::{matmul_cols_parallel, matmul_rows_parallel, MatRef};
use super::{add_assign, contents, recycle, take_grad};

/// Builder types, used in the network's type to say what to build.
pub mod builder {
    /// A dense layer from `I` to `O` features, with bias, and ReLU when `RELU`.
    #[derive(Debug, Clone, Copy)]
    pub struct Dense<const I: usize, const O: usize, const RELU: bool>;
}

impl<const I: usize, const O: usize, const R: bool, E: Dtype, D: Device<E>> BuildOnDevice<D, E>
    for builder::Dense<I, O, R>
where
    Dense<I, O, E, D, R>: BuildModule<D, E>,
{
    type Built = Dense<I, O, E, D, R>;
    fn try_build_on_device(device: &D) -> Result<Self::Built, D::Err> {
        Self::Built::try_build(device)
    }
}

/// `y = x W^T + b`, followed by ReLU when `RELU`.
#[derive(Debug, Clone)]
pub struct Dense<const I: usize, const O: usize, E: Dtype, D: Storage<E>, const RELU: bool> {
    /// Weights, `[out, in]` (as dfdx's `Linear` stores them).
    pub weight: Tensor<Rank2<O, I>, E, D>,
    /// One bias per output feature.
    pub bias: Tensor<Rank1<O>, E, D>,
}

impl<const I: usize, const O: usize, E: Dtype, D: Storage<E>, const R: bool> NonMutableModule
    for Dense<I, O, E, D, R>
{
}

impl<const I: usize, const O: usize, E, D, const R: bool> TensorCollection<E, D>
    for Dense<I, O, E, D, R>
where
    E: Dtype + Float + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = Dense<I, O, E2, D2, R>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(|t| t.try_fill_with_distr(fan_in_uniform::<E>(I))),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_with(|t| t.try_fill_with_distr(fan_in_uniform::<E>(I))),
                ),
            ),
            |(weight, bias)| Dense { weight, bias },
        )
    }
}

/// `out[r][o] = relu?(out_t[o][r] + bias[o])` for `out_t` of `bias.len()` rows of `rows`
/// values: the transpose walked in blocks of 16 rows of `out_t`, so that both sides move
/// through memory a cache line at a time.
fn transpose_bias_relu<const RELU: bool>(out_t: &[f32], bias: &[f32], rows: usize) -> Vec<f32> {
    const BLOCK: usize = 16;
    let outputs = bias.len();
    let mut out = vec![0.0f32; rows * outputs];
    for first in (0..outputs).step_by(BLOCK) {
        let last = (first + BLOCK).min(outputs);
        for (r, row) in out.chunks_exact_mut(outputs).enumerate() {
            for o in first..last {
                let v = out_t[o * rows + r] + bias[o];
                row[o] = if RELU { v.max(0.0) } else { v };
            }
        }
    }
    out
}

/// `relu?(x Wᵀ + b)` for `rows` rows of `x`: `W` is `[out, in]`, the output `rows x out`.
fn product<const RELU: bool>(weight: &[f32], bias: &[f32], x: &[f32], rows: usize) -> Vec<f32> {
    let outputs = bias.len();
    let inputs = weight.len() / outputs.max(1);
    // outᵀ = W xᵀ, each thread a block of W's rows: the large operand is read in its own
    // layout (the product x Wᵀ makes gemm repack all of W on every call).
    let mut out_t = vec![0.0f32; outputs * rows];
    let w = MatRef::row_major(weight, outputs, inputs);
    matmul_rows_parallel(&mut out_t, w, MatRef::row_major(x, rows, inputs).t(), false);
    transpose_bias_relu::<RELU>(&out_t, bias, rows)
}

impl<const I: usize, const O: usize, const R: bool> Dense<I, O, f32, Cpu, R> {
    /// The layer's output for `rows` rows of `input` given as plain values, as the untaped
    /// forward computes it (the same bits), without a tensor on either side: for inference.
    pub fn values(&self, input: &[f32], rows: usize) -> Vec<f32> {
        assert_eq!(input.len(), rows * I, "input size");
        let weight = Weights::of(&self.weight);
        let out = product::<R>(&weight, &Weights::of(&self.bias), input, rows);
        weight.release();
        out
    }
}

impl<B, const I: usize, const O: usize, const R: bool, T> Module<Tensor<(B, Const<I>), f32, Cpu, T>>
    for Dense<I, O, f32, Cpu, R>
where
    B: Dim,
    T: Tape<f32, Cpu>,
{
    type Output = Tensor<(B, Const<O>), f32, Cpu, T>;
    type Error = <Cpu as HasErr>::Err;

    fn try_forward(
        &self,
        x: Tensor<(B, Const<I>), f32, Cpu, T>,
    ) -> Result<Self::Output, Self::Error> {
        let (x, mut tape) = x.split_tape();
        let batch = x.shape().0;
        let rows = batch.size();
        let input = contents(&x);
        // During a training step the optimizer lends its copy of the weights (see `lent`).
        let weight = Weights::of(&self.weight);
        let out = product::<R>(&weight, &Weights::of(&self.bias), &input, rows);
        let out = x.device().tensor_from_vec(out, (batch, Const::<O>));
        if T::OWNS_TAPE {
            let keys = (x.ghost(), self.weight.ghost(), self.bias.ghost());
            let out_saved = out.clone();
            tape.add_backward_op(move |grads| {
                let mut grad = take_grad(grads, &out_saved)?;
                if R {
                    let out_values = contents(&out_saved);
                    for (g, &o) in grad.iter_mut().zip(&out_values) {
                        if o <= 0.0 {
                            *g = 0.0;
                        }
                    }
                    recycle(out_values);
                }
                let g = MatRef::row_major(&grad, rows, O);
                let grad_bias = grads.get_or_alloc_mut(&keys.2)?;
                for row in grad.chunks(O) {
                    add_assign(grad_bias, row);
                }
                let grad_weight = grads.get_or_alloc_mut(&keys.1)?;
                let x = MatRef::row_major(&input, rows, I);
                matmul_rows_parallel(grad_weight, g.t(), x, true);
                let grad_input = grads.get_or_alloc_mut(&keys.0)?;
                let w = MatRef::row_major(&weight, O, I);
                matmul_cols_parallel(grad_input, g, w, true);
                recycle(input);
                weight.release();
                Ok(())
            });
        } else {
            recycle(input);
            weight.release();
        }
        Ok(out.put_tape(tape))
    }
}
