//! Smoothing of a noisy per-step series as TensorBoard's scalar charts do it: an exponential
//! moving average whose early values are debiased (divided by `1 - weight^n`), so the curve
//! starts at the data rather than at zero.

/// The debiased exponential moving average of `values` with `weight` in 0..1 (0: the values
/// themselves; TensorBoard's default is 0.6). Non-finite values (a diverged loss) are passed
/// through and do not disturb the average.
pub fn debiased_ema(values: &[f32], weight: f32) -> Vec<f32> {
    let weight = f64::from(weight.clamp(0.0, 0.999));
    let mut last = 0.0f64;
    let mut seen = 0i32;
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                return v;
            }
            last = last * weight + (1.0 - weight) * f64::from(v);
            seen += 1;
            let debias = 1.0 - weight.powi(seen);
            if debias > 0.0 {
                (last / debias) as f32
            } else {
                v
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_values() {
        // w = 0.5: ema 0.5, 1.25, 0.625; debias 0.5, 0.75, 0.875.
        let s = debiased_ema(&[1.0, 2.0, 0.0], 0.5);
        let expected = [1.0, 1.25 / 0.75, 0.625 / 0.875];
        for (a, b) in s.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn weight_zero_is_the_data_and_a_constant_stays_constant() {
        assert_eq!(debiased_ema(&[3.0, 1.0, 2.0], 0.0), vec![3.0, 1.0, 2.0]);
        let flat = debiased_ema(&[0.7; 50], 0.9);
        assert!(flat.iter().all(|v| (v - 0.7).abs() < 1e-5), "{flat:?}");
    }

    #[test]
    fn non_finite_values_pass_through_without_spoiling_the_rest() {
        let s = debiased_ema(&[1.0, f32::NAN, 1.0], 0.6);
        assert_eq!(s[0], 1.0);
        assert!(s[1].is_nan());
        assert!((s[2] - 1.0).abs() < 1e-6);
    }
}
