//! Dropout between the dense layers, as the tutorial trains with (`keep_prob` 0.5).

use dfdx::prelude::*;

/// The probability the tutorial drops each unit of the 1024-unit layer with while training.
pub const TUTORIAL_DROPOUT: f32 = 0.5;

/// Zeroes each unit with probability `p` while training and scales the rest by `1 / (1 - p)`
/// (dfdx's dropout op); passes values through unchanged when evaluating (no tape) or when `p`
/// is 0.
///
/// dfdx's own `Dropout` module runs a full random pass even at `p = 0`; this one skips it, so a
/// run without dropout costs nothing for it. `p` is saved with the weights, as dfdx saves its
/// own, so a checkpoint says how it was trained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    /// Probability of dropping a unit, `0 <= p < 1`.
    pub p: f32,
}

impl Default for Dropout {
    fn default() -> Self {
        Self {
            p: TUTORIAL_DROPOUT,
        }
    }
}

impl<E: Dtype, D: Device<E>> BuildOnDevice<D, E> for Dropout {
    type Built = Dropout;
}

impl<E: Dtype, D: Device<E>> TensorCollection<E, D> for Dropout {
    type To<E2: Dtype, D2: Device<E2>> = Dropout;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            <Self as TensorCollection<E, D>>::scalar(
                "p",
                |s| &s.p,
                |s| &mut s.p,
                ScalarOptions::from_default(TUTORIAL_DROPOUT),
            ),
            |p| Dropout { p },
        )
    }
}

impl<S: Shape> Module<Tensor<S, f32, Cpu, NoneTape>> for Dropout {
    type Output = Tensor<S, f32, Cpu, NoneTape>;
    type Error = <Cpu as HasErr>::Err;

    fn try_forward(&self, input: Self::Output) -> Result<Self::Output, Self::Error> {
        Ok(input)
    }
}

impl<S: Shape> ModuleMut<Tensor<S, f32, Cpu, OwnedTape<f32, Cpu>>> for Dropout {
    type Output = Tensor<S, f32, Cpu, OwnedTape<f32, Cpu>>;
    type Error = <Cpu as HasErr>::Err;

    fn try_forward_mut(&mut self, input: Self::Output) -> Result<Self::Output, Self::Error> {
        if self.p > 0.0 {
            input.try_dropout(self.p)
        } else {
            Ok(input)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Vec<f32> {
        let mut v = vec![0.0; t.shape().num_elements()];
        t.copy_into(&mut v);
        v
    }

    #[test]
    fn training_drops_about_p_of_the_units_and_scales_the_rest() {
        let device = Cpu::seed_from_u64(3);
        let x: Tensor<Rank2<40, 100>, f32, Cpu> = device.ones();
        let mut dropout = Dropout { p: 0.25 };
        let y = dropout.forward_mut(x.clone().leaky_traced());
        let out = values(&y);
        let dropped = out.iter().filter(|&&v| v == 0.0).count();
        assert!((800..1200).contains(&dropped), "dropped {dropped} of 4000");
        assert!(out
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        // The gradient flows through the kept units only, with the same scale.
        let grads = y.sum().backward();
        let grad = values(&grads.get(&x));
        assert_eq!(grad, out);
    }

    #[test]
    fn evaluation_and_zero_p_pass_values_through() {
        let device = Cpu::seed_from_u64(3);
        let x: Tensor<Rank2<4, 5>, f32, Cpu> = device.sample_normal();
        let mut dropout = Dropout { p: 0.5 };
        assert_eq!(values(&dropout.forward(x.clone())), values(&x));
        dropout.p = 0.0;
        let traced = dropout.forward_mut(x.clone().leaky_traced());
        assert_eq!(values(&traced), values(&x));
    }
}
