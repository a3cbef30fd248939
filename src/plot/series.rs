//! What a plot draws of one run: its curves smoothed and reduced to the output's width.

use crate::run::downsample::{downsample, Reduce};
use crate::run::history::RunHistory;
use crate::run::metrics::Column;
use crate::run::record::EvalSplit;
use crate::run::smoothing::smooth;

/// A curve as (step, value) points.
pub type Points = Vec<(f64, f64)>;

/// A metric's raw values and their smoothed line, both at most a few points a pixel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curve {
    /// The values as written, reduced to each bucket's lowest and highest.
    pub raw: Points,
    /// The smoothed values, reduced to each bucket's mean.
    pub smoothed: Points,
}

impl Curve {
    /// The curve of `points`, smoothed with `weight`, reduced to about `max_points` points.
    pub fn new(points: &[(f64, f64)], weight: f64, max_points: usize) -> Self {
        let values: Vec<f64> = points.iter().map(|p| p.1).collect();
        let smoothed: Points = points
            .iter()
            .zip(smooth(&values, weight))
            .map(|(p, s)| (p.0, s))
            .collect();
        Self {
            raw: downsample(points, max_points, Reduce::MinMax),
            smoothed: downsample(&smoothed, max_points, Reduce::Mean),
        }
    }
}

/// One run's curves, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCurves {
    /// The legend's name of the run.
    pub label: String,
    /// Training loss (positive values only when `positive_loss`).
    pub loss: Curve,
    /// Training (batch) accuracy.
    pub accuracy: Curve,
    /// Accuracy at each evaluation on the split the run chose by (validation, or test for a
    /// run without one); not smoothed: evaluations are few.
    pub evaluated: Points,
    /// Each look at the test set of a run that chose by its validation split.
    pub test_looks: Points,
    /// Whether the run chose by a validation split (else by the test set).
    pub has_validation: bool,
}

impl RunCurves {
    /// The curves of `history` named `label`; loss values that a log scale cannot show are
    /// left out when `positive_loss`.
    pub fn of(
        history: &RunHistory,
        label: String,
        weight: f64,
        max_points: usize,
        positive_loss: bool,
    ) -> Self {
        let metrics = history.metrics();
        let loss: Points = metrics
            .points(Column::Loss)
            .filter(|(_, v)| !positive_loss || *v > 0.0)
            .map(|(s, v)| (s as f64, v))
            .collect();
        let accuracy: Points = metrics
            .points(Column::Accuracy)
            .map(|(s, v)| (s as f64, v))
            .collect();
        let events = history.events();
        let of = |split: EvalSplit| -> Points {
            events
                .evaluations()
                .filter(|e| e.split == split && e.accuracy.is_finite())
                .map(|e| (e.step as f64, e.accuracy))
                .collect()
        };
        let choosing = events.choosing_split();
        let test_looks = if choosing == EvalSplit::Test {
            Vec::new()
        } else {
            of(EvalSplit::Test)
        };
        Self {
            label,
            loss: Curve::new(&loss, weight, max_points),
            accuracy: Curve::new(&accuracy, weight, max_points),
            evaluated: downsample(&of(choosing), max_points, Reduce::MinMax),
            test_looks,
            has_validation: choosing == EvalSplit::Validation,
        }
    }
}

/// The legend's names of `histories`: their folder names, or their paths where two folders
/// share a name.
pub fn labels(histories: &[&RunHistory]) -> Vec<String> {
    let names: Vec<String> = histories.iter().map(|h| h.name()).collect();
    names
        .iter()
        .zip(histories)
        .map(|(name, history)| {
            if names.iter().filter(|n| *n == name).count() > 1 {
                history.run().path().display().to_string()
            } else {
                name.clone()
            }
        })
        .collect()
}

/// The lowest and highest of the values of `points` (all series), if any are finite.
pub fn value_range<'a>(points: impl IntoIterator<Item = &'a (f64, f64)>) -> Option<(f64, f64)> {
    points
        .into_iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(None, |range, v| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_is_smoothed_then_bounded() {
        let points: Points = (1..=10_000).map(|s| (s as f64, (s % 7) as f64)).collect();
        let curve = Curve::new(&points, 0.6, 500);
        assert!(curve.raw.len() <= 500 && curve.smoothed.len() <= 500);
        let (lo, hi) = value_range(&curve.raw).unwrap();
        assert_eq!((lo, hi), (0.0, 6.0), "min/max buckets keep the extremes");
        let (lo, hi) = value_range(&curve.smoothed).unwrap();
        assert!(lo > 0.0 && hi < 6.0, "smoothed lies inside: {lo}..{hi}");
        assert_eq!(value_range(&[]), None);
    }
}
