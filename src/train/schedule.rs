//! Learning rate as a function of the step.

use std::f64::consts::PI;

use crate::config::Schedule;

/// The learning rate for `step` (0-based) of `total` under `schedule` peaking at `peak`.
pub fn learning_rate(
    schedule: Schedule,
    peak: f64,
    warmup_fraction: f64,
    step: u64,
    total: u64,
) -> f64 {
    match schedule {
        Schedule::Constant => peak,
        Schedule::OneCycle => one_cycle(peak, warmup_fraction, step, total),
    }
}

/// Linear warm-up from `peak / 25` over the first `warmup_fraction` of the run, then cosine
/// decay to zero at the last step.
fn one_cycle(peak: f64, warmup_fraction: f64, step: u64, total: u64) -> f64 {
    let total = total.max(1) as f64;
    let t = step as f64;
    let warmup = (warmup_fraction * total).floor();
    if t < warmup {
        let start = peak / 25.0;
        return start + (peak - start) * t / warmup;
    }
    let progress = ((t - warmup) / (total - warmup).max(1.0)).min(1.0);
    peak * 0.5 * (1.0 + (PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_is_constant() {
        for step in [0, 10, 19_999] {
            assert_eq!(
                learning_rate(Schedule::Constant, 1e-4, 0.2, step, 20_000),
                1e-4
            );
        }
    }

    #[test]
    fn one_cycle_warms_up_peaks_and_decays_to_zero() {
        let lr = |step| learning_rate(Schedule::OneCycle, 2e-3, 0.2, step, 1000);
        assert!((lr(0) - 2e-3 / 25.0).abs() < 1e-12);
        assert!(lr(100) > lr(50) && lr(199) < 2e-3);
        assert!((lr(200) - 2e-3).abs() < 1e-12);
        assert!(lr(600) < lr(400));
        assert!(lr(1000) < 1e-9);
        assert!((0..1000).map(lr).all(|r| (0.0..=2e-3).contains(&r)));
    }
}
