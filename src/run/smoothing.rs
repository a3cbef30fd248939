//! Smoothing a noisy series as TensorBoard's scalar dashboard does: a debiased exponential
//! moving average.

/// The largest smoothing weight accepted; larger weights are taken as this.
pub const MAX_WEIGHT: f64 = 0.99;
/// TensorBoard's default smoothing weight.
pub const DEFAULT_WEIGHT: f64 = 0.6;

/// `values` smoothed with weight `weight` (clamped to `0..=`[`MAX_WEIGHT`]; 0 leaves them as
/// they are), as TensorBoard smooths a scalar series:
///
/// ```text
/// ema_t      = weight * ema_(t-1) + (1 - weight) * value_t      (ema_0 = 0)
/// smoothed_t = ema_t / (1 - weight^t)
/// ```
///
/// where `t` counts the finite values so far. Dividing by `1 - weight^t` removes the pull
/// towards the starting 0, so the first smoothed value is the first value. A non-finite value
/// is passed through and does not count.
pub fn smooth(values: &[f64], weight: f64) -> Vec<f64> {
    let mut smoother = Smoother::new(weight);
    values.iter().map(|&value| smoother.next(value)).collect()
}

/// [`smooth`] one value at a time, for a series too long to copy.
#[derive(Debug, Clone, Copy)]
pub struct Smoother {
    weight: f64,
    ema: f64,
    debias: f64,
}

impl Smoother {
    /// A smoother with weight `weight`, clamped as [`smooth`] clamps it.
    pub fn new(weight: f64) -> Self {
        let weight = if weight.is_nan() {
            0.0
        } else {
            weight.clamp(0.0, MAX_WEIGHT)
        };
        Self {
            weight,
            ema: 0.0,
            debias: 1.0,
        }
    }

    /// The smoothed value of the next value of the series (a non-finite value as it is).
    pub fn next(&mut self, value: f64) -> f64 {
        if !value.is_finite() {
            return value;
        }
        self.ema = self.weight * self.ema + (1.0 - self.weight) * value;
        self.debias *= self.weight;
        self.ema / (1.0 - self.debias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn matches_hand_computed_debiased_averages() {
        // w = 0.5: ema 0.5, 1.25, 2.125 over debias 0.5, 0.75, 0.875.
        let got = smooth(&[1.0, 2.0, 3.0], 0.5);
        assert!(close(&got, &[1.0, 5.0 / 3.0, 17.0 / 7.0]), "{got:?}");
        // w = 0.6 (TensorBoard's default): ema 4.0, 4.0*0.6 + 0.4*0 = 2.4 over 0.4, 0.64.
        let got = smooth(&[10.0, 0.0], 0.6);
        assert!(close(&got, &[10.0, 2.4 / 0.64]), "{got:?}");
    }

    #[test]
    fn zero_weight_and_constant_series_are_unchanged_and_non_finite_values_pass() {
        assert!(close(&smooth(&[3.0, 1.0, 4.0], 0.0), &[3.0, 1.0, 4.0]));
        let flat = smooth(&[2.0; 50], 0.99);
        assert!(flat.iter().all(|v| (v - 2.0).abs() < 1e-9), "{flat:?}");
        let got = smooth(&[1.0, f64::NAN, 3.0], 0.5);
        assert!(got[1].is_nan());
        assert!(close(&[got[0], got[2]], &[1.0, 7.0 / 3.0]), "{got:?}");
        assert_eq!(smooth(&[1.0, 2.0], 5.0), smooth(&[1.0, 2.0], MAX_WEIGHT));
        assert!(smooth(&[], 0.6).is_empty());
    }
}
