//! Flattening `[batch, channels, height, width]` to `[batch, N]`, with `N` checked at build time.

use dfdx::prelude::*;

/// Reshapes each image's feature maps into one row of `N` features.
///
/// dfdx 0.13's `Flatten2D` needs nightly; this one asks for the row length as a parameter and
/// refuses to compile when it differs from `channels * height * width`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Flatten<const N: usize>;

impl<const N: usize> ZeroSizedModule for Flatten<N> {}
impl<const N: usize> NonMutableModule for Flatten<N> {}

impl<B, const C: usize, const H: usize, const W: usize, const N: usize, T>
    Module<Tensor<(B, Const<C>, Const<H>, Const<W>), f32, Cpu, T>> for Flatten<N>
where
    B: Dim,
    T: Tape<f32, Cpu>,
{
    type Output = Tensor<(B, Const<N>), f32, Cpu, T>;
    type Error = <Cpu as HasErr>::Err;

    fn try_forward(
        &self,
        x: Tensor<(B, Const<C>, Const<H>, Const<W>), f32, Cpu, T>,
    ) -> Result<Self::Output, Self::Error> {
        const {
            assert!(
                C * H * W == N,
                "Flatten<N>: N must equal channels * height * width"
            )
        };
        let batch = x.shape().0;
        x.try_reshape_like(&(batch, Const::<N>))
    }
}
