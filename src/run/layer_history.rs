//! The layer statistics of a run over its steps, kept in bounded memory: a chart a few hundred
//! cells wide needs a few hundred samples, whatever the run's length.
//!
//! Samples are numbered as they arrive. While at most [`KEPT_SAMPLES`] are kept, every one is;
//! when one more arrives, every other kept sample is dropped and from then on only every
//! second one is kept (then every fourth, and so on), so the kept samples stay evenly spread
//! over the run. The newest sample is always at hand besides. A sample of a step at or before
//! one already held means the run went back there (a rollback or resume): the samples after
//! that step are dropped first.

use std::path::Path;

use super::layers::LayerStats;
use super::record::Record;
use super::tail::{TailError, TailItem, TailReader};

/// The most samples a history keeps (besides the newest).
pub const KEPT_SAMPLES: usize = 512;

/// Layer statistics over a run's steps, thinned to at most a bound.
#[derive(Debug, Clone)]
pub struct LayerHistory {
    /// Kept samples in step order, each with its number in the order of arrival.
    kept: Vec<(u64, LayerStats)>,
    /// The newest sample.
    latest: Option<LayerStats>,
    /// Only samples whose number is a multiple of this are kept.
    stride: u64,
    /// The number the next sample gets.
    next: u64,
    /// The most samples kept.
    bound: usize,
}

impl Default for LayerHistory {
    fn default() -> Self {
        Self::with_bound(KEPT_SAMPLES)
    }
}

impl LayerHistory {
    /// An empty history that keeps at most `bound` samples (at least 2).
    pub fn with_bound(bound: usize) -> Self {
        Self {
            kept: Vec::new(),
            latest: None,
            stride: 1,
            next: 0,
            bound: bound.max(2),
        }
    }

    /// A run's `layers.jsonl` read whole into a history of the default bound; damaged lines
    /// are skipped, and a missing file gives an empty history.
    pub fn read(path: &Path) -> Result<Self, TailError> {
        let mut history = Self::default();
        TailReader::new(path).read(|item| match item {
            TailItem::Reset => history.clear(),
            TailItem::Line(line) => {
                if let Some(Record::Layers(stats)) = Record::from_json_line(line) {
                    history.push(stats);
                }
            }
        })?;
        Ok(history)
    }

    /// Takes the next sample; one of a step already held first drops the samples from that
    /// step on.
    pub fn push(&mut self, stats: LayerStats) {
        if self.latest.as_ref().is_some_and(|l| stats.step <= l.step) {
            self.rewind(stats.step.saturating_sub(1));
        }
        let number = self.next;
        self.next += 1;
        if number.is_multiple_of(self.stride) {
            self.kept.push((number, stats.clone()));
            if self.kept.len() > self.bound {
                self.stride *= 2;
                let stride = self.stride;
                self.kept.retain(|(n, _)| n.is_multiple_of(stride));
            }
        }
        self.latest = Some(stats);
    }

    /// Drops the samples of steps after `step` (the run went back to it).
    pub fn rewind(&mut self, step: u64) {
        self.kept.retain(|(_, s)| s.step <= step);
        if self.latest.as_ref().is_some_and(|l| l.step > step) {
            self.latest = self.kept.last().map(|(_, s)| s.clone());
        }
        self.next = self.kept.last().map_or(0, |(n, _)| n + self.stride);
    }

    /// Forgets every sample.
    pub fn clear(&mut self) {
        *self = Self::with_bound(self.bound);
    }

    /// The newest sample.
    pub fn latest(&self) -> Option<&LayerStats> {
        self.latest.as_ref()
    }

    /// Whether no sample has arrived.
    pub fn is_empty(&self) -> bool {
        self.latest.is_none()
    }

    /// The kept samples and the newest, in step order.
    pub fn samples(&self) -> impl Iterator<Item = &LayerStats> {
        let last_kept = self.kept.last().map(|(_, s)| s.step);
        let newest = self
            .latest
            .as_ref()
            .filter(|l| last_kept.is_none_or(|k| l.step > k));
        self.kept.iter().map(|(_, s)| s).chain(newest)
    }

    /// The kept samples and the newest of steps after `step`, in step order.
    pub fn samples_after(&self, step: u64) -> impl Iterator<Item = &LayerStats> {
        self.samples().filter(move |s| s.step > step)
    }

    /// How many samples are held (the newest counted once).
    pub fn len(&self) -> usize {
        self.samples().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(step: u64) -> LayerStats {
        LayerStats {
            step,
            layers: Vec::new(),
        }
    }

    fn steps(history: &LayerHistory) -> Vec<u64> {
        history.samples().map(|s| s.step).collect()
    }

    #[test]
    fn a_long_run_is_thinned_evenly_and_memory_stays_bounded() {
        let mut history = LayerHistory::with_bound(8);
        for step in 1..=8 {
            history.push(sample(step * 100));
        }
        assert_eq!(steps(&history), [100, 200, 300, 400, 500, 600, 700, 800]);
        history.push(sample(900));
        assert_eq!(steps(&history), [100, 300, 500, 700, 900]);
        // A million steps sampled every 100: never more than the bound plus the newest.
        let mut long = LayerHistory::with_bound(KEPT_SAMPLES);
        for step in 1..=10_000u64 {
            long.push(sample(step * 100));
            assert!(long.len() <= KEPT_SAMPLES + 1, "{}", long.len());
        }
        let kept = steps(&long);
        assert!(kept.len() > KEPT_SAMPLES / 2, "{}", kept.len());
        assert_eq!(
            *kept.last().unwrap(),
            1_000_000,
            "the newest is always there"
        );
        let gaps: Vec<u64> = kept[..kept.len() - 1]
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect();
        assert!(
            gaps.iter().all(|&g| g == gaps[0]),
            "evenly spread: {gaps:?}"
        );
    }

    #[test]
    fn a_file_is_read_whole_skipping_damaged_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layers.jsonl");
        assert!(LayerHistory::read(&path).unwrap().is_empty(), "no file");
        let line = |step| Record::Layers(crate::run::layers::tests::example(step)).to_json_line();
        let text = format!(
            "{}\n{{\"kind\": broken\n{}\n{}\n",
            line(200),
            line(400),
            line(300)
        );
        std::fs::write(&path, text).unwrap();
        let history = LayerHistory::read(&path).unwrap();
        assert_eq!(steps(&history), [200, 300], "a step already held went back");
    }

    #[test]
    fn going_back_drops_the_later_samples() {
        let mut history = LayerHistory::default();
        for step in [10, 20, 30, 40] {
            history.push(sample(step));
        }
        history.push(sample(30));
        assert_eq!(steps(&history), [10, 20, 30]);
        history.rewind(15);
        assert_eq!(steps(&history), [10]);
        assert_eq!(history.latest().unwrap().step, 10);
        assert_eq!(steps(&history.clone()), [10]);
        assert_eq!(
            history.samples_after(5).map(|s| s.step).collect::<Vec<_>>(),
            [10]
        );
        history.clear();
        assert!(history.is_empty() && history.samples().next().is_none());
    }
}
