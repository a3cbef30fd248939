//! One training step (forward, backward, Adam), shared by the trainer and the benchmark.

use dfdx::optim::AdamConfig;
use dfdx::prelude::*;
use thiserror::Error;

use super::adam::Adam;
use crate::model::threads::on_pool;
use crate::model::{self, Network, CLASSES};

/// A batch loss above this means the weights have blown up: a 10-class cross-entropy starts
/// near 2.3 (about 10 with the tutorial's initialisation) and only falls from there.
pub const DIVERGED_LOSS: f32 = 1e4;

/// What a step produced.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// Mean cross-entropy of the batch (before the update).
    pub loss: f32,
    /// The batch's logits (before the update), `CLASSES` per image.
    pub logits: Vec<f32>,
}

/// A step that could not be taken.
#[derive(Debug, Error)]
pub enum StepError {
    /// The loss is NaN, infinite or above [`DIVERGED_LOSS`]; the weights were left as they were.
    #[error("the training loss became {loss}{context}: the learning rate is too high for this model (or the weights diverged). Run again with a lower --lr.")]
    NonFiniteLoss {
        /// The loss value.
        loss: f32,
        /// Where it happened, when known.
        context: String,
    },
    /// The optimizer refused the update.
    #[error("the optimizer could not update the weights: {0}")]
    Optimizer(String),
}

impl StepError {
    /// For a diverged loss, the short reason a checkpoint of these weights is refused.
    pub fn diverged_reason(&self) -> Option<String> {
        match self {
            StepError::NonFiniteLoss { loss, context } => Some(format!(
                "the weights diverged: the training loss became {loss}{context}"
            )),
            StepError::Optimizer(_) => None,
        }
    }

    /// Adds the step number and learning rate to the message.
    pub fn at_step(self, step: u64, lr: f64) -> Self {
        match self {
            StepError::NonFiniteLoss { loss, .. } => StepError::NonFiniteLoss {
                loss,
                context: format!(" at step {step} (learning rate {lr:.2e})"),
            },
            other => other,
        }
    }
}

/// Label smoothing: moves `epsilon` of each one-hot row's weight from its class to all
/// [`CLASSES`] evenly, so the true class keeps `1 - epsilon + epsilon / 10` and every other
/// class gets `epsilon / 10`. Rows still sum to 1; `epsilon` 0 leaves them as they are.
pub fn smooth_labels(one_hot: &mut [f32], epsilon: f32) {
    if epsilon == 0.0 {
        return;
    }
    let spread = epsilon / CLASSES as f32;
    for target in one_hot.iter_mut() {
        *target = *target * (1.0 - epsilon) + spread;
    }
}

/// Adam with the tutorial's constants (betas 0.9/0.999, eps 1e-8, no weight decay) for
/// `_model`, whose weights it copies at its first update and from then on must be the only
/// one to change.
pub fn new_optimizer(_model: &Network, lr: f64) -> Adam {
    Adam::new(AdamConfig {
        lr,
        betas: [0.9, 0.999],
        eps: 1e-8,
        weight_decay: None,
    })
}

/// Trains `model` on one batch: `pixels` (`batch x 784`, scaled 0..1) and one-hot labels.
/// The optimizer's learning rate is whatever its `cfg.lr` holds. On a non-finite loss the
/// weights are not touched.
pub fn train_step(
    model: &mut Network,
    optimizer: &mut Adam,
    grads: &mut Gradients<f32, Cpu>,
    device: &Cpu,
    pixels: Vec<f32>,
    one_hot: &[f32],
) -> Result<StepOutput, StepError> {
    let no_look = |_: &Network, _: &mut Gradients<f32, Cpu>| {};
    train_step_seen(model, optimizer, grads, device, pixels, one_hot, no_look)
}

/// [`train_step`], showing `see` the network and its gradients between the backward pass
/// and the update (of a step whose loss is within bounds): for statistics of the step. When
/// the optimizer defers its write-back, the network's tensors may hold older weights than the
/// step used: `see` is for the gradients, found by their tensors.
pub fn train_step_seen(
    model: &mut Network,
    optimizer: &mut Adam,
    grads: &mut Gradients<f32, Cpu>,
    device: &Cpu,
    pixels: Vec<f32>,
    one_hot: &[f32],
    see: impl FnOnce(&Network, &mut Gradients<f32, Cpu>) + Send,
) -> Result<StepOutput, StepError> {
    // The whole step on a thread of the pool: its dozens of parallel loops then share work
    // without waking this thread after each (see `model::threads`).
    on_pool(|| {
        let output = {
            let _weights = optimizer.lend_to(model);
            loss_and_gradients(model, grads, device, pixels, one_hot)
        };
        if !output.loss.is_finite() || output.loss > DIVERGED_LOSS {
            model.zero_grads(grads);
            return Err(StepError::NonFiniteLoss {
                loss: output.loss,
                context: String::new(),
            });
        }
        see(model, grads);
        // The update leaves the gradients at zero for the next step.
        optimizer
            .update(model, grads)
            .map_err(|e| StepError::Optimizer(e.to_string()))?;
        Ok(output)
    })
}

/// The forward and backward half of [`train_step`]: the batch's loss and logits, with the
/// gradient of the mean cross-entropy for every parameter left in `grads` (which must hold
/// zeros, as [`train_step`] leaves them). Dropout acts as in training.
pub fn loss_and_gradients(
    model: &mut Network,
    grads: &mut Gradients<f32, Cpu>,
    device: &Cpu,
    pixels: Vec<f32>,
    one_hot: &[f32],
) -> StepOutput {
    let batch = one_hot.len() / CLASSES;
    let x = model::image_batch(device, pixels);
    let y = model::class_batch(device, one_hot.to_vec());
    let taped = std::mem::replace(grads, Gradients::leaky());
    let logits = model.forward_mut(x.traced(taped));
    let mut logit_values = vec![0.0f32; batch * CLASSES];
    logits.copy_into(&mut logit_values);
    let loss = cross_entropy_with_logits_loss(logits, y);
    let loss_value = loss.array();
    *grads = loss.backward();
    StepOutput {
        loss: loss_value,
        logits: logit_values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lent::Weights;
    use crate::model::{Init, Layers, IMAGE_PIXELS};

    fn bits<S: Shape>(t: &Tensor<S, f32, Cpu>) -> Vec<u32> {
        let mut v = vec![0.0f32; t.shape().num_elements()];
        t.copy_into(&mut v);
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn steps_on_the_optimizers_lent_weights_give_the_bits_of_steps_on_copies() {
        // Two devices from one seed: the same weights and the same dropout masks.
        let (device, copied_device) = (Cpu::seed_from_u64(3), Cpu::seed_from_u64(3));
        // Boxed so that each step can move it: loans follow the tensors where they are.
        let mut lent_model = Box::new(model::build(&device, Init::Tutorial));
        let mut copied_model = model::build(&copied_device, Init::Tutorial);
        let (mut lent_adam, mut copied_adam) = (
            new_optimizer(&lent_model, 1e-3),
            new_optimizer(&copied_model, 1e-3),
        );
        // The lending optimizer leaves its model behind between steps, as training does.
        lent_adam.defer_write_back(true);
        let mut lent_grads = lent_model.alloc_grads();
        let mut copied_grads = copied_model.alloc_grads();
        let batch = 4;
        for step in 0..3u32 {
            let pixels: Vec<f32> = (0..batch * IMAGE_PIXELS)
                .map(|i| ((i as u32 * 7 + step * 13) % 255) as f32 / 255.0)
                .collect();
            let mut one_hot = vec![0.0f32; batch * CLASSES];
            for (i, row) in one_hot.chunks_mut(CLASSES).enumerate() {
                row[(i + step as usize) % CLASSES] = 1.0;
            }
            // A new box on purpose: the model moves to another address.
            #[allow(clippy::replace_box)]
            {
                lent_model = Box::new(*lent_model);
            }
            if step > 0 {
                let _loan = lent_adam.lend_to(&*lent_model);
                for lent in [
                    Weights::of(&lent_model.conv1().weight),
                    Weights::of(&lent_model.conv2().bias),
                    Weights::of(&lent_model.hidden().weight),
                    Weights::of(&lent_model.output().bias),
                ] {
                    assert!(lent.is_lent(), "after an update every weight is lent");
                }
            }
            let lent = train_step(
                &mut lent_model,
                &mut lent_adam,
                &mut lent_grads,
                &device,
                pixels.clone(),
                &one_hot,
            )
            .unwrap();
            // The same step without a loan: every layer copies its weights out of dfdx.
            let copied = loss_and_gradients(
                &mut copied_model,
                &mut copied_grads,
                &copied_device,
                pixels,
                &one_hot,
            );
            copied_adam
                .update(&mut copied_model, &mut copied_grads)
                .unwrap();
            assert_eq!(lent.loss.to_bits(), copied.loss.to_bits(), "step {step}");
            assert_ne!(
                bits(&lent_model.hidden().weight),
                bits(&copied_model.hidden().weight),
                "step {step}: the write-back waits"
            );
            lent_adam.write_back(&mut *lent_model);
            assert_eq!(
                bits(&lent_model.hidden().weight),
                bits(&copied_model.hidden().weight),
                "step {step}"
            );
            assert_eq!(
                bits(&lent_model.conv2().weight),
                bits(&copied_model.conv2().weight),
                "step {step}"
            );
        }
    }

    #[test]
    fn smoothing_spreads_epsilon_over_the_ten_classes_and_keeps_rows_summing_to_one() {
        let mut rows = vec![0.0f32; 2 * CLASSES];
        rows[3] = 1.0;
        rows[CLASSES + 9] = 1.0;
        let plain = rows.clone();
        smooth_labels(&mut rows, 0.0);
        assert_eq!(rows, plain);
        smooth_labels(&mut rows, 0.1);
        for (row, class) in rows.chunks(CLASSES).zip([3, 9]) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{row:?}");
            assert!((row[class] - 0.91).abs() < 1e-6, "{row:?}");
            let others = row.iter().enumerate().filter(|&(c, _)| c != class);
            assert!(others.clone().count() == 9);
            for (_, &p) in others {
                assert!((p - 0.01).abs() < 1e-7, "{row:?}");
            }
        }
    }
}
