//! Smith's learning-rate range test, as fastai's `lr_find` runs it: from a fresh network,
//! one step at each rate of a sequence growing by the same factor, the loss smoothed by a
//! debiased moving average (weight 0.98), until the smoothed loss is four times its minimum
//! (it has blown up) or the last rate. The suggestion is the rate where the smoothed loss
//! falls fastest against the logarithm of the rate (steepest descent); the minimum's rate
//! over ten is reported beside it.

use std::time::Instant;

use super::state::TrainingState;
use crate::config::{Schedule, TrainConfig};
use crate::data::Mnist;

/// Weight of the moving average that smooths the loss.
pub const SMOOTHING: f64 = 0.98;
/// The smoothed loss over its minimum at which the test stops: it has blown up.
pub const BLOW_UP: f64 = 4.0;

/// One step of the test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RangePoint {
    /// The rate of the step.
    pub lr: f64,
    /// Its batch's loss.
    pub loss: f64,
    /// The smoothed loss up to it.
    pub smoothed: f64,
}

/// Why the test ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeEnd {
    /// The smoothed loss reached [`BLOW_UP`] times its minimum at this rate.
    BlewUp(f64),
    /// The loss was not finite (or beyond the trainer's bound) at this rate.
    Diverged(f64),
    /// Every rate was tried.
    LastRate,
    /// A stop was asked for.
    Stopped,
}

/// What the test found.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeTest {
    /// The steps taken.
    pub points: Vec<RangePoint>,
    /// Why it ended.
    pub end: RangeEnd,
}

/// The rates suggested by a test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suggestion {
    /// Where the smoothed loss falls fastest: the suggestion.
    pub steepest: f64,
    /// The rate of the smoothed loss's minimum, over ten.
    pub minimum_over_ten: f64,
}

/// Runs the test with `train`'s network, batch size, seed and augmentation on `data`'s
/// training images: `steps` rates from `start` to `end`; `stop` is asked before each step.
pub fn range_test(
    train: &TrainConfig,
    data: &Mnist,
    (start, end): (f64, f64),
    steps: usize,
    stop: &dyn Fn() -> bool,
) -> RangeTest {
    let mut config = TrainConfig {
        schedule: Schedule::Constant,
        steps: steps as u64,
        ..train.clone()
    };
    let mut state = TrainingState::new(&config, data.train.len(), Instant::now());
    let factor = (end / start).powf(1.0 / (steps.max(2) - 1) as f64);
    let mut points = Vec::with_capacity(steps);
    let (mut average, mut minimum) = (0.0, f64::INFINITY);
    for i in 0..steps {
        if stop() {
            return RangeTest {
                points,
                end: RangeEnd::Stopped,
            };
        }
        let lr = start * factor.powi(i as i32);
        config.learning_rate = lr;
        let loss = match state.train_step(&config, data) {
            Ok(stats) if stats.loss.is_finite() => f64::from(stats.loss),
            _ => {
                return RangeTest {
                    points,
                    end: RangeEnd::Diverged(lr),
                }
            }
        };
        average = SMOOTHING * average + (1.0 - SMOOTHING) * loss;
        let smoothed = average / (1.0 - SMOOTHING.powi(i as i32 + 1));
        points.push(RangePoint { lr, loss, smoothed });
        if i > 0 && smoothed > BLOW_UP * minimum {
            return RangeTest {
                points,
                end: RangeEnd::BlewUp(lr),
            };
        }
        minimum = minimum.min(smoothed);
    }
    RangeTest {
        points,
        end: RangeEnd::LastRate,
    }
}

/// The rates `points` suggest: `None` with too few points before the minimum to tell a
/// slope (the range began too high: lower `start`).
pub fn suggest(points: &[RangePoint]) -> Option<Suggestion> {
    let lowest = points
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.smoothed.total_cmp(&b.1.smoothed))?
        .0;
    let minimum_over_ten = points[lowest].lr / 10.0;
    // The first tenth is left out: the average has seen too few steps there.
    let skip = points.len() / 10;
    let span = (points.len() / 50).max(1);
    let slope = |i: usize| {
        let (a, b) = (&points[i - span], &points[i + span]);
        (b.smoothed - a.smoothed) / (b.lr.log10() - a.lr.log10())
    };
    let from = skip.max(span);
    if lowest < from + span {
        return None;
    }
    let steepest = (from..=lowest.min(points.len() - 1 - span))
        .min_by(|&a, &b| slope(a).total_cmp(&slope(b)))
        .map(|i| points[i].lr)?;
    Some(Suggestion {
        steepest,
        minimum_over_ten,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggestion_is_where_the_smoothed_loss_falls_fastest() {
        // A loss that falls fastest at 1e-3, bottoms out at 1e-2 and then climbs.
        let points: Vec<RangePoint> = (0..200)
            .map(|i| {
                let lr = 1e-6 * 10f64.powf(i as f64 / 40.0);
                let x = lr.log10();
                let smoothed =
                    2.3 / (1.0 + (2.0 * (x + 3.0)).exp()) + 0.1 + (x + 2.0).max(0.0).powi(2);
                RangePoint {
                    lr,
                    loss: smoothed,
                    smoothed,
                }
            })
            .collect();
        let s = suggest(&points).unwrap();
        assert!((s.steepest.log10() + 3.0).abs() < 0.1, "{}", s.steepest);
        assert!(s.minimum_over_ten < 1e-2, "{}", s.minimum_over_ten);
        // A loss that only rises: lowest at the first rate, no slope down to read.
        let rising: Vec<RangePoint> = points[180..].to_vec();
        assert_eq!(suggest(&rising), None);
    }
}
