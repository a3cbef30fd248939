//! Adam with its state outside dfdx: one fused pass per parameter tensor, spread over the
//! cores and vectorised, that updates the moments and the weights and leaves the gradient at
//! zero for the next step.
//!
//! dfdx 0.13's `Adam` walks each tensor on one thread, and `zero_grads` walks the gradients
//! again. dfdx lends gradient buffers (`Gradients::get_or_alloc_mut`) but not parameter
//! buffers: the only ways into a tensor are `copy_into` and `copy_from`, each a memcpy on one
//! thread. So this optimizer keeps its own copy of every weight next to the moments, updates
//! that copy in place and writes it back with one `copy_from`: the weights must change only
//! through it (build a new one after loading other weights, as a restore does).
//!
//! The arithmetic is dfdx's, operation for operation, so the two give the same bits.
//!
//! A training step borrows that copy for its forward and backward passes ([`Adam::lend_to`]),
//! so the layers need not copy the weights out of dfdx either. Since the steps read only that
//! copy, the write-back can wait ([`Adam::defer_write_back`]) until something else reads the
//! model: [`Adam::write_back`] then brings its tensors up to date. For the 3136 x 1024 layer
//! the write-back is a 13 MB copy on one thread, about 1.2 ms of every step.

use dfdx::nn::tensor_collection::{
    RecursiveWalker, TensorCollection, TensorOptions, TensorVisitor, ViewTensorMut, ViewTensorRef,
};
use dfdx::optim::{AdamConfig, WeightDecay};
use dfdx::prelude::*;
use dfdx::tensor::CpuError;
use rayon::prelude::*;
use thiserror::Error;

use std::sync::Arc;

use crate::model::lent::{self, Lending};
use crate::model::simd::{vectorized, Kernel};

/// Parameters per piece of parallel work: big enough to amortise a task, small enough for
/// the two threads to share out a tensor of 3 million evenly.
const CHUNK: usize = 1 << 15;

/// Why an update could not be made.
#[derive(Debug, Error)]
pub enum AdamError {
    /// dfdx could not allocate a gradient buffer.
    #[error("no gradient buffer: {0}")]
    Gradients(#[from] CpuError),
    /// The model is not the one the optimizer has been updating.
    #[error(
        "parameter tensor {index} holds {found} values where the optimizer's copy holds \
         {expected}: build a new optimizer for a new model"
    )]
    ModelChanged {
        /// Which tensor, in the model's order.
        index: usize,
        /// Values the optimizer keeps for it.
        expected: usize,
        /// Values the tensor has.
        found: usize,
    },
}

/// One parameter tensor's copy and moment estimates.
struct TensorState {
    /// Where the tensor lives (`lent::address_of`) at the last update.
    address: usize,
    /// The weights as the last update left them; shared only while lent to a step.
    param: Arc<Vec<f32>>,
    m: Vec<f32>,
    v: Vec<f32>,
    /// Whether the model's tensor still holds older values than `param` (a write-back
    /// deferred).
    behind: bool,
}

/// Adam (Kingma and Ba) with dfdx's configuration and arithmetic.
pub struct Adam {
    /// Learning rate, betas, epsilon and weight decay: change `cfg.lr` between steps and the
    /// moments stay.
    pub cfg: AdamConfig,
    /// Updates made so far.
    t: i32,
    /// Per parameter tensor, in the order the model lists them.
    tensors: Vec<TensorState>,
    /// Whether updates leave the write-back to [`Adam::write_back`].
    deferred: bool,
}

impl Adam {
    /// An optimizer with no steps taken; it copies the weights at its first update.
    pub fn new(cfg: AdamConfig) -> Self {
        Self {
            cfg,
            t: 0,
            tensors: Vec::new(),
            deferred: false,
        }
    }

    /// From now on, `defer`: updates change this optimizer's copy of the weights only, and
    /// the model's tensors lag behind until [`Adam::write_back`]. Steps that read the weights
    /// through [`Adam::lend_to`] see the updates all the same; anything else that reads the
    /// model must call `write_back` first.
    pub fn defer_write_back(&mut self, defer: bool) {
        self.deferred = defer;
    }

    /// Brings every tensor of `model` (the one this optimizer updates) up to the weights of
    /// the last update, where a deferred write-back left it behind (nothing to do otherwise),
    /// and returns it for reading.
    pub fn write_back<'m, M: TensorCollection<f32, Cpu>>(&mut self, model: &'m mut M) -> &'m M {
        if self.tensors.iter().any(|state| state.behind) {
            let mut visit = WriteBack(Cursor::new(self));
            let walked = M::iter_tensors(&mut RecursiveWalker {
                m: &mut *model,
                f: &mut visit,
            });
            // The visitor has no error of its own.
            let Ok(_) = walked;
        }
        model
    }

    /// Updates every parameter of `model` from its gradient in `grads`, then zeroes those
    /// gradients and drops every other (as `zero_grads` does).
    pub fn update<M: TensorCollection<f32, Cpu>>(
        &mut self,
        model: &mut M,
        grads: &mut Gradients<f32, Cpu>,
    ) -> Result<(), AdamError> {
        self.t = self.t.saturating_add(1);
        let mut visit = Visit {
            adam: self,
            grads,
            index: 0,
        };
        M::iter_tensors(&mut RecursiveWalker {
            m: model,
            f: &mut visit,
        })?;
        visit.grads.drop_non_leafs();
        Ok(())
    }

    /// Lends this optimizer's copy of the weights to the layers of `model` (the one it
    /// updates), on this thread, until the guard is dropped: a step's forward and backward
    /// then read it instead of copying each tensor, and see every update, deferred or not.
    /// Before the first update there is nothing to lend. Drop the guard before
    /// [`Adam::update`], or the update copies the weights once more.
    pub fn lend_to<M: TensorCollection<f32, Cpu>>(&mut self, model: &M) -> Lending {
        // The tensors are lent by where they live: find them where they are now, in case
        // the model moved since the last update.
        let mut visit = Addresses(Cursor::new(self));
        let walked = M::iter_tensors(&mut RecursiveWalker {
            m: model,
            f: &mut visit,
        });
        let Ok(_) = walked;
        lent::lend(
            self.tensors
                .iter()
                .map(|state| (state.address, Arc::clone(&state.param))),
        )
    }
}

/// The walk over a model's tensors.
struct Visit<'a> {
    adam: &'a mut Adam,
    grads: &'a mut Gradients<f32, Cpu>,
    /// The next tensor's place in the model's order.
    index: usize,
}

impl TensorVisitor<f32, Cpu> for Visit<'_> {
    type Viewer = ViewTensorMut;
    type Err = AdamError;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        p: &mut Tensor<S, f32, Cpu>,
    ) -> Result<Option<Tensor<S, f32, Cpu>>, AdamError> {
        if !opts.do_gradient_update {
            return Ok(None);
        }
        let n = p.shape().num_elements();
        let index = self.index;
        self.index += 1;
        if index == self.adam.tensors.len() {
            let mut param = vec![0.0f32; n];
            p.copy_into(&mut param);
            self.adam.tensors.push(TensorState {
                address: 0,
                param: Arc::new(param),
                m: vec![0.0; n],
                v: vec![0.0; n],
                behind: false,
            });
        }
        let state = &mut self.adam.tensors[index];
        if state.param.len() != n {
            return Err(AdamError::ModelChanged {
                index,
                expected: state.param.len(),
                found: n,
            });
        }
        state.address = lent::address_of(p);
        let grad = self.grads.get_or_alloc_mut(p)?;
        let step = Step::new(&self.adam.cfg, self.adam.t);
        // Unshared unless a loan is still out, in which case the borrower keeps the old values.
        let param = Arc::make_mut(&mut state.param);
        param
            .par_chunks_mut(CHUNK)
            .zip(grad.par_chunks_mut(CHUNK))
            .zip(state.m.par_chunks_mut(CHUNK))
            .zip(state.v.par_chunks_mut(CHUNK))
            .for_each(|(((param, grad), m), v)| {
                vectorized(Update {
                    step,
                    param,
                    grad,
                    m,
                    v,
                });
            });
        if self.adam.deferred {
            state.behind = true;
        } else {
            p.copy_from(param);
            state.behind = false;
        }
        Ok(None)
    }
}

/// Where a walk over the model's tensors is: the optimizer's state of each tensor it updates,
/// met in the model's order.
struct Cursor<'a> {
    adam: &'a mut Adam,
    /// The next updated tensor's place in that order.
    index: usize,
}

impl<'a> Cursor<'a> {
    fn new(adam: &'a mut Adam) -> Self {
        Self { adam, index: 0 }
    }

    /// The state of the tensor at `address` the walk has reached, when `opts` say the
    /// optimizer updates it and it has state for it; notes where the tensor lives now.
    fn next<S: Shape>(
        &mut self,
        opts: &TensorOptions<S, f32, Cpu>,
        address: usize,
    ) -> Option<&mut TensorState> {
        if !opts.do_gradient_update {
            return None;
        }
        self.index += 1;
        let state = self.adam.tensors.get_mut(self.index - 1)?;
        state.address = address;
        Some(state)
    }
}

/// The walk that writes deferred updates back into the model's tensors.
struct WriteBack<'a>(Cursor<'a>);

impl TensorVisitor<f32, Cpu> for WriteBack<'_> {
    type Viewer = ViewTensorMut;
    type Err = std::convert::Infallible;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        p: &mut Tensor<S, f32, Cpu>,
    ) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
        if let Some(state) = self.0.next(&opts, lent::address_of(p)) {
            if state.behind {
                // `update` refused any model whose tensors differ in size from its copies.
                assert_eq!(
                    state.param.len(),
                    p.shape().num_elements(),
                    "write_back given another model than the one the optimizer updated"
                );
                p.copy_from(&state.param);
                state.behind = false;
            }
        }
        Ok(None)
    }
}

/// The walk that notes where each tensor lives now.
struct Addresses<'a>(Cursor<'a>);

impl TensorVisitor<f32, Cpu> for Addresses<'_> {
    type Viewer = ViewTensorRef;
    type Err = std::convert::Infallible;
    type E2 = f32;
    type D2 = Cpu;

    fn visit<S: Shape>(
        &mut self,
        opts: TensorOptions<S, f32, Cpu>,
        p: &Tensor<S, f32, Cpu>,
    ) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
        self.0.next(&opts, lent::address_of(p));
        Ok(None)
    }
}

/// The constants of one update, in f32 as dfdx's kernel has them.
#[derive(Clone, Copy)]
struct Step {
    betas: [f32; 2],
    eps: f32,
    lr: f32,
    /// `1 / (1 - beta1^t)`.
    first_correction: f32,
    /// `1 / (1 - beta2^t)`.
    second_correction: f32,
    /// L2 weight decay added to the gradient.
    l2: Option<f32>,
    /// Decoupled weight decay times the learning rate.
    decoupled: Option<f32>,
}

impl Step {
    fn new(cfg: &AdamConfig, t: i32) -> Self {
        let betas = cfg.betas.map(|b| b as f32);
        Self {
            betas,
            eps: cfg.eps as f32,
            lr: cfg.lr as f32,
            first_correction: (1.0 - betas[0].powi(t)).recip(),
            second_correction: (1.0 - betas[1].powi(t)).recip(),
            l2: match cfg.weight_decay {
                Some(WeightDecay::L2(wd)) => Some(wd as f32),
                _ => None,
            },
            decoupled: match cfg.weight_decay {
                Some(WeightDecay::Decoupled(wd)) => Some((wd * cfg.lr) as f32),
                _ => None,
            },
        }
    }
}

/// One piece of a tensor: moments, weights, and the gradient set to zero.
struct Update<'a> {
    step: Step,
    param: &'a mut [f32],
    grad: &'a mut [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
}

impl Kernel for Update<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: pulp::Simd>(self, _: S) {
        let s = self.step;
        let n = self.param.len();
        let (grad, m, v) = (&mut self.grad[..n], &mut self.m[..n], &mut self.v[..n]);
        for (i, p) in self.param.iter_mut().enumerate() {
            let mut g = grad[i];
            if let Some(wd) = s.l2 {
                g += wd * *p;
            }
            m[i] = m[i] * s.betas[0] + g * (1.0 - s.betas[0]);
            v[i] = v[i] * s.betas[1] + g * g * (1.0 - s.betas[1]);
            let m_hat = m[i] * s.first_correction;
            let v_hat = v[i] * s.second_correction;
            let mut delta = s.lr * m_hat / (v_hat.sqrt() + s.eps);
            if let Some(wd) = s.decoupled {
                delta += wd * *p;
            }
            *p -= delta;
            grad[i] = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::optim::Adam as DfdxAdam;

    type Model = (Linear<5, 40000>, Linear<40000, 3>);

    fn bits<S: Shape>(t: &Tensor<S, f32, Cpu>) -> Vec<u32> {
        let mut v = vec![0.0f32; t.shape().num_elements()];
        t.copy_into(&mut v);
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// Three steps of both optimizers on the same model and data, with a learning-rate change
    /// between steps.
    fn compare(weight_decay: Option<WeightDecay>) {
        let dev = Cpu::seed_from_u64(5);
        let mut ours = dev.build_module::<Model, f32>();
        let mut theirs = ours.clone();
        let cfg = AdamConfig {
            lr: 1e-2,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay,
        };
        let (mut adam, mut dfdx_adam) = (Adam::new(cfg), DfdxAdam::new(&theirs, cfg));
        let (mut our_grads, mut their_grads) = (ours.alloc_grads(), theirs.alloc_grads());
        let x: Tensor<Rank2<4, 5>, f32, Cpu> = dev.sample_normal();
        for step in 0..3 {
            let lr = [1e-2, 3e-3, 5e-2][step];
            adam.cfg.lr = lr;
            dfdx_adam.cfg.lr = lr;
            let taped = std::mem::replace(&mut our_grads, Gradients::leaky());
            our_grads = ours
                .forward(x.clone().traced(taped))
                .square()
                .sum()
                .backward();
            let taped = std::mem::replace(&mut their_grads, Gradients::leaky());
            their_grads = theirs
                .forward(x.clone().traced(taped))
                .square()
                .sum()
                .backward();
            adam.update(&mut ours, &mut our_grads).unwrap();
            dfdx_adam.update(&mut theirs, &their_grads).unwrap();
            theirs.zero_grads(&mut their_grads);
            assert_eq!(bits(&ours.0.weight), bits(&theirs.0.weight), "step {step}");
            assert_eq!(bits(&ours.0.bias), bits(&theirs.0.bias), "step {step}");
            assert_eq!(bits(&ours.1.weight), bits(&theirs.1.weight), "step {step}");
            assert_eq!(bits(&ours.1.bias), bits(&theirs.1.bias), "step {step}");
            let grad = our_grads.get(&ours.1.weight);
            assert!(
                bits(&grad).iter().all(|&b| b == 0),
                "gradients left at zero"
            );
        }
    }

    #[test]
    fn the_fused_update_gives_dfdx_adams_bits() {
        compare(None);
    }

    #[test]
    fn both_kinds_of_weight_decay_give_dfdx_adams_bits() {
        compare(Some(WeightDecay::L2(0.1)));
        compare(Some(WeightDecay::Decoupled(0.1)));
    }

    #[test]
    fn another_model_is_refused() {
        let dev = Cpu::seed_from_u64(1);
        let mut a = dev.build_module::<Linear<3, 4>, f32>();
        let mut b = dev.build_module::<Linear<3, 5>, f32>();
        let mut adam = Adam::new(AdamConfig::default());
        let mut grads = a.alloc_grads();
        adam.update(&mut a, &mut grads).unwrap();
        let mut grads = b.alloc_grads();
        let err = adam.update(&mut b, &mut grads).unwrap_err();
        assert!(matches!(err, AdamError::ModelChanged { .. }), "{err}");
    }
}
