//! Tensor values as plain vectors, and comparisons with f64 references.

use dfdx::prelude::*;

/// The tensor's values in row-major order.
pub fn values<S: Shape, T>(t: &Tensor<S, f32, Cpu, T>) -> Vec<f32> {
    let mut v = vec![0.0; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// f32 values widened to f64.
pub fn to64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// Every value within `tol * (1 + |want|)` of the reference.
pub fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

/// Bit patterns of f32 values: equal only when every value is bit for bit the same.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Asserts that a training pass gave `evaluated`'s values: bit for bit where both passes run
/// the first layer by the same kernel, to 1e-5 where the pass without a backward pass takes
/// the one-channel Winograd kernel (on AVX2) and training the direct sum.
pub fn assert_training_pass_matches_evaluation(trained: &[f32], evaluated: &[f32], what: &str) {
    if digitdash::model::winograd::one_channel::beats_direct() {
        assert_close(trained, &to64(evaluated), 1e-5, what);
    } else {
        assert_eq!(bits(trained), bits(evaluated), "{what}");
    }
}

/// Every parameter tensor of the network with its name in a checkpoint file, in the order of
/// `digitdash::run::checkpoint::TENSORS`.
pub fn parameters(model: &digitdash::model::Network) -> Vec<(&'static str, Vec<f32>)> {
    use digitdash::model::Layers;
    vec![
        ("0.weight", values(&model.conv1().weight)),
        ("0.bias", values(&model.conv1().bias)),
        ("1.weight", values(&model.conv2().weight)),
        ("1.bias", values(&model.conv2().bias)),
        ("3.weight", values(&model.hidden().weight)),
        ("3.bias", values(&model.hidden().bias)),
        ("5.weight", values(&model.output().weight)),
        ("5.bias", values(&model.output().bias)),
    ]
}

/// The largest absolute difference between two networks' parameters.
pub fn max_change(before: &digitdash::model::Network, after: &digitdash::model::Network) -> f64 {
    parameters(before)
        .iter()
        .zip(parameters(after))
        .flat_map(|((_, a), (_, b))| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (f64::from(*x) - f64::from(y)).abs())
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max)
}
