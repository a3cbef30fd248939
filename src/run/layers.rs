//! Layer statistics: what the trainer records about each layer every `log.layer_stats_every`
//! steps, as one line of the run's `layers.jsonl` ([`super::record::Record::Layers`]).
//!
//! For each of the network's four layers with parameters (`conv1`, `conv2`, `hidden`,
//! `output`), and for each of its two parameter tensors (`weight`, `bias`):
//! - `rms`: the root mean square of the tensor's values after the step,
//! - `grad_rms`: the root mean square of the step's gradient of the mean loss,
//! - `update_ratio`: `|w_after - w_before| / |w_before|` (Frobenius norms) of the step's Adam
//!   update, the CS231n check (around 1e-3 is healthy),
//! - for weights, a histogram of the values after the step: [`HISTOGRAM_BINS`] equal bins
//!   from the lowest to the highest value (`lo`, `hi`, `counts`);
//!
//! and for each layer followed by a ReLU (all but `output`) `dead_relu`: the fraction of its
//! units that gave 0 for every image of the step's batch (a unit of a convolution is a feature
//! map: it fired when any position of it did).
//!
//! ```text
//! {"event":"layers","step":100,"layers":[{"name":"conv1","dead_relu":0.0,
//!   "weight":{"rms":0.1,"grad_rms":0.002,"update_ratio":0.0011,
//!             "histogram":{"lo":-0.2,"hi":0.2,"counts":[3,9,...]}},
//!   "bias":{"rms":0.1,"grad_rms":0.001,"update_ratio":0.0009}}, ...]}
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::numbers::number_or_nan_f32;

/// Bins of a weight histogram.
pub const HISTOGRAM_BINS: usize = 20;

/// The network's layers with parameters, in order, as the records name them.
pub const LAYER_NAMES: [&str; 4] = ["conv1", "conv2", "hidden", "output"];

/// The statistics of every layer after one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// The step they describe (1 for the first).
    pub step: u64,
    /// One entry a layer with parameters, in the network's order.
    pub layers: Vec<LayerSample>,
}

impl LayerStats {
    /// The layer named `name`, if the statistics hold it.
    pub fn layer(&self, name: &str) -> Option<&LayerSample> {
        self.layers.iter().find(|l| l.name == name)
    }
}

/// One layer's statistics after a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSample {
    /// The layer (`conv1`, `conv2`, `hidden`, `output`).
    pub name: String,
    /// Fraction of the layer's ReLU units that never fired over the step's batch; `None` for
    /// a layer without ReLU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_relu: Option<f32>,
    /// The weight tensor.
    pub weight: TensorSample,
    /// The bias.
    pub bias: TensorSample,
}

/// One parameter tensor's statistics after a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorSample {
    /// Root mean square of the values after the step.
    #[serde(deserialize_with = "number_or_nan_f32")]
    pub rms: f32,
    /// Root mean square of the step's gradient.
    #[serde(deserialize_with = "number_or_nan_f32")]
    pub grad_rms: f32,
    /// Norm of the step's update over the norm of the values before it.
    #[serde(deserialize_with = "number_or_nan_f32")]
    pub update_ratio: f32,
    /// The values after the step, binned (weights only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
}

/// Counts of values in [`HISTOGRAM_BINS`] equal bins from `lo` to `hi`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// The lowest value.
    pub lo: f32,
    /// The highest value.
    pub hi: f32,
    /// Values per bin, lowest bin first (the highest value counts in the last bin).
    pub counts: Vec<u32>,
}

impl Histogram {
    /// The histogram of the finite values of `values` (all in the first bin when they are
    /// all equal; no counts at all when none is finite). Large tensors are counted in pieces
    /// on rayon's threads.
    pub fn of(values: &[f32]) -> Self {
        let (lo, hi) = values
            .par_chunks(PIECE)
            .map(finite_range)
            .reduce(|| EMPTY_RANGE, |a, b| (a.0.min(b.0), a.1.max(b.1)));
        if lo > hi {
            return Self {
                lo: 0.0,
                hi: 0.0,
                counts: vec![0; HISTOGRAM_BINS],
            };
        }
        let counts = values
            .par_chunks(PIECE)
            .map(|piece| count_bins(piece, lo, hi))
            .reduce(
                || [0; HISTOGRAM_BINS + 1],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                    a
                },
            );
        Self {
            lo,
            hi,
            counts: counts[..HISTOGRAM_BINS].to_vec(),
        }
    }

    /// Values counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// How many values lie between `a` and `b` (`a < b`), taking each bin's values as spread
    /// evenly over it: for drawing histograms of different ranges on one axis.
    pub fn mass_between(&self, a: f32, b: f32) -> f32 {
        let bins = self.counts.len();
        if bins == 0 || b <= a {
            return 0.0;
        }
        let width = (self.hi - self.lo) / bins as f32;
        if width <= 0.0 {
            let inside = (a..b).contains(&self.lo);
            return if inside { self.total() as f32 } else { 0.0 };
        }
        self.counts
            .iter()
            .enumerate()
            .map(|(i, &count)| {
                let start = self.lo + width * i as f32;
                let overlap = (b.min(start + width) - a.max(start)).max(0.0);
                count as f32 * overlap / width
            })
            .sum()
    }
}

/// Values handled as one piece by one thread.
const PIECE: usize = 1 << 16;
/// The range of no values.
const EMPTY_RANGE: (f32, f32) = (f32::INFINITY, f32::NEG_INFINITY);

/// The lowest and highest finite value (`lo > hi` when there is none).
fn finite_range(values: &[f32]) -> (f32, f32) {
    let (mut lo, mut hi) = EMPTY_RANGE;
    for &v in values {
        // NaN compares false both ways; infinities are left out by the bounds' start.
        lo = if v < lo && v > f32::NEG_INFINITY {
            v
        } else {
            lo
        };
        hi = if v > hi && v < f32::INFINITY { v } else { hi };
    }
    (lo, hi)
}

/// Counts of `values` in [`HISTOGRAM_BINS`] equal bins from `lo` to `hi` (`lo <= hi`), and in
/// one past the last those that are not finite.
fn count_bins(values: &[f32], lo: f32, hi: f32) -> [u32; HISTOGRAM_BINS + 1] {
    let scale = if hi > lo {
        HISTOGRAM_BINS as f32 / (hi - lo)
    } else {
        0.0
    };
    let last = (HISTOGRAM_BINS - 1) as f32;
    // Blocks of values become bins, then the bins are counted in four sets of counters, so
    // that neighbouring values of one bin do not wait on each other's increment.
    let mut bins = [0u8; 4096];
    let mut lanes = [[0u32; HISTOGRAM_BINS + 1]; 4];
    for block in values.chunks(bins.len()) {
        let bins = &mut bins[..block.len()];
        for (bin, &v) in bins.iter_mut().zip(block) {
            *bin = if v.is_finite() {
                ((v - lo) * scale).clamp(0.0, last) as u8
            } else {
                HISTOGRAM_BINS as u8
            };
        }
        let mut quads = bins.chunks_exact(4);
        for q in &mut quads {
            lanes[0][usize::from(q[0])] += 1;
            lanes[1][usize::from(q[1])] += 1;
            lanes[2][usize::from(q[2])] += 1;
            lanes[3][usize::from(q[3])] += 1;
        }
        for &b in quads.remainder() {
            lanes[0][usize::from(b)] += 1;
        }
    }
    let mut counts = [0u32; HISTOGRAM_BINS + 1];
    for lane in lanes {
        counts.iter_mut().zip(lane).for_each(|(c, n)| *c += n);
    }
    counts
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Statistics of step `step` with every field set.
    pub(crate) fn example(step: u64) -> LayerStats {
        let tensor = |scale: f32, histogram: bool| TensorSample {
            rms: 0.5 * scale,
            grad_rms: 0.25 * scale,
            update_ratio: 0.001 * scale,
            histogram: histogram.then(|| Histogram::of(&[-scale, 0.0, scale, 0.5 * scale])),
        };
        let layers = LAYER_NAMES
            .iter()
            .enumerate()
            .map(|(i, name)| LayerSample {
                name: (*name).into(),
                dead_relu: (*name != "output").then_some(0.125 * i as f32),
                weight: tensor(1.0 + i as f32, true),
                bias: tensor(0.5, false),
            })
            .collect();
        LayerStats { step, layers }
    }

    #[test]
    fn values_fall_in_equal_bins_from_the_lowest_to_the_highest() {
        let values: Vec<f32> = (0..=HISTOGRAM_BINS).map(|i| i as f32).collect();
        let h = Histogram::of(&values);
        assert_eq!((h.lo, h.hi), (0.0, HISTOGRAM_BINS as f32));
        assert_eq!(h.counts.len(), HISTOGRAM_BINS);
        assert_eq!(h.counts[0], 1);
        assert_eq!(
            h.counts[HISTOGRAM_BINS - 1],
            2,
            "the highest counts in the last bin"
        );
        assert_eq!(h.total(), values.len() as u64);
        let nan = Histogram::of(&[1.0, f32::NAN, 1.0]);
        assert_eq!(
            (nan.lo, nan.hi, nan.counts[0], nan.total()),
            (1.0, 1.0, 2, 2)
        );
        assert_eq!(Histogram::of(&[]).total(), 0);
    }

    #[test]
    fn mass_is_spread_evenly_over_each_bin() {
        let h = Histogram {
            lo: 0.0,
            hi: 2.0,
            counts: vec![10, 20],
        };
        assert_eq!(h.mass_between(0.0, 2.0), 30.0);
        assert_eq!(h.mass_between(0.5, 1.5), 15.0);
        assert_eq!(h.mass_between(-5.0, 0.5), 5.0);
        assert_eq!(h.mass_between(3.0, 4.0), 0.0);
        let point = Histogram {
            lo: 1.0,
            hi: 1.0,
            counts: vec![4, 0],
        };
        assert_eq!(point.mass_between(0.5, 1.5), 4.0);
        assert_eq!(point.mass_between(1.5, 2.0), 0.0);
    }
}
