//! How the network's weights start.

use dfdx::prelude::*;
use rand::Rng;
use rand_distr::{uniform::SampleUniform, Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

use super::{Layers, Network};

/// A weight initialisation scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// The tutorial's: weights from a normal with stddev 0.1 truncated at two deviations,
    /// every bias 0.1. Right for lr 1e-4 over 20,000 steps.
    #[default]
    Tutorial,
    /// Uniform in +-1/sqrt(fan_in) for weights and biases (PyTorch's default): right for
    /// short schedules with a high learning rate.
    FanIn,
}

impl std::fmt::Display for Init {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Init::Tutorial => "tutorial",
            Init::FanIn => "fan_in",
        })
    }
}

/// A normal distribution with draws beyond two standard deviations redrawn, as TensorFlow's
/// `truncated_normal`.
#[derive(Debug, Clone, Copy)]
pub struct TruncatedNormal {
    normal: Normal<f32>,
    limit: f32,
}

impl TruncatedNormal {
    /// Mean 0 and the given standard deviation (before truncation).
    pub fn new(stddev: f32) -> Self {
        Self {
            normal: Normal::new(0.0, stddev).expect("a finite, positive stddev"),
            limit: 2.0 * stddev,
        }
    }
}

impl Distribution<f32> for TruncatedNormal {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        loop {
            let x = self.normal.sample(rng);
            if x.abs() <= self.limit {
                return x;
            }
        }
    }
}

/// Uniform in +-1/sqrt(fan_in): how the layers start before [`apply`].
pub(crate) fn fan_in_uniform<E: num_traits::Float + SampleUniform>(fan_in: usize) -> Uniform<E> {
    let bound = E::one() / E::from(fan_in).unwrap_or_else(E::one).sqrt();
    Uniform::new(-bound, bound)
}

/// Sets every weight and bias of `model` by `init`, drawing from the device's seeded RNG.
pub fn apply(model: &mut Network, init: Init) {
    match init {
        Init::FanIn => model.reset_params(),
        Init::Tutorial => {
            let weights = TruncatedNormal::new(0.1);
            let conv1 = model.conv1_mut();
            conv1.weight.fill_with_distr(weights);
            fill(&mut conv1.bias, 0.1);
            let conv2 = model.conv2_mut();
            conv2.weight.fill_with_distr(weights);
            fill(&mut conv2.bias, 0.1);
            let hidden = model.hidden_mut();
            hidden.weight.fill_with_distr(weights);
            fill(&mut hidden.bias, 0.1);
            let output = model.output_mut();
            output.weight.fill_with_distr(weights);
            fill(&mut output.bias, 0.1);
        }
    }
}

fn fill<S: Shape>(t: &mut Tensor<S, f32, Cpu>, value: f32) {
    t.copy_from(&vec![value; t.shape().num_elements()]);
}
