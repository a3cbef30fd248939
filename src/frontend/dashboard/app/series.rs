//! A per-step metric's history, and the two views the charts draw of it (the most recent
//! steps, or the whole run), as points averaged down to the chart's width, raw and smoothed.

use crate::run::smoothing::smooth;

/// Which part of a history a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// The last steps, one bar each.
    #[default]
    Recent,
    /// Every step since the start, averaged into as many bars as fit.
    WholeRun,
}

impl Window {
    /// The other window.
    pub fn toggled(self) -> Self {
        match self {
            Window::Recent => Window::WholeRun,
            Window::WholeRun => Window::Recent,
        }
    }

    /// A short name for the screen.
    pub fn label(self) -> &'static str {
        match self {
            Window::Recent => "recent steps",
            Window::WholeRun => "whole run",
        }
    }
}

/// The history of one metric, one value per step, from the step after `start`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    raw: Vec<f32>,
    /// Steps done before the first value (non-zero for a resumed run).
    start: u64,
}

/// Points of a chart: (step, value).
pub type Points = Vec<(f64, f64)>;

/// `values` smoothed as TensorBoard does with `weight`.
fn debiased_ema(values: &[f32], weight: f32) -> Vec<f32> {
    let wide: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    smooth(&wide, f64::from(weight))
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

impl Series {
    /// Starts the history after `start` steps (those of an earlier run this one resumes).
    pub fn start_at(&mut self, start: u64) {
        if self.raw.is_empty() {
            self.start = start;
        }
    }

    /// Appends the value of the next step.
    pub fn push(&mut self, value: f32) {
        self.raw.push(value);
    }

    /// Keeps the values up to step `step` (after a rollback to it).
    pub fn truncate_to_step(&mut self, step: u64) {
        self.raw.truncate(step.saturating_sub(self.start) as usize);
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether no value has been pushed.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The newest value.
    pub fn latest(&self) -> Option<f32> {
        self.raw.last().copied()
    }

    /// The step of the newest value.
    pub fn last_step(&self) -> u64 {
        self.start + self.raw.len() as u64
    }

    /// The value at `step`, raw or smoothed with `weight`, if the series has it.
    pub fn at(&self, step: u64, weight: Option<f32>) -> Option<f32> {
        let i = usize::try_from(step.checked_sub(self.start + 1)?).ok()?;
        match weight {
            Some(w) => debiased_ema(self.raw.get(..=i)?, w).last().copied(),
            None => self.raw.get(i).copied(),
        }
    }

    /// The newest value smoothed with `weight`.
    pub fn latest_smoothed(&self, weight: f32) -> Option<f32> {
        debiased_ema(&self.raw, weight).last().copied()
    }

    /// The steps a chart shows: the last `recent` steps, or the whole run.
    pub fn span(&self, window: Window, recent: usize) -> (u64, u64) {
        let last = self.last_step();
        let first = match window {
            Window::Recent => last.saturating_sub(recent as u64).max(self.start) + 1,
            Window::WholeRun => self.start + 1,
        };
        (first.min(last), last)
    }

    /// The raw values and, with `weight`, the smoothed ones of the steps in `span`, averaged
    /// into at most `points` points each. Non-finite values are left out.
    pub fn points(
        &self,
        span: (u64, u64),
        points: usize,
        weight: Option<f32>,
    ) -> (Points, Option<Points>) {
        let from = span.0.saturating_sub(self.start + 1) as usize;
        let to = (span.1.saturating_sub(self.start) as usize).min(self.raw.len());
        let from = from.min(to);
        let smoothed = weight.map(|w| debiased_ema(&self.raw[..to], w));
        let as_points = |values: &[f32]| -> Points {
            let steps: Vec<f32> = (from..to)
                .map(|i| (self.start + 1 + i as u64) as f32)
                .collect();
            downsample(&steps, points)
                .into_iter()
                .zip(downsample(values, points))
                .filter(|(_, v)| v.is_finite())
                .map(|(s, v)| (f64::from(s), f64::from(v)))
                .collect()
        };
        let raw = as_points(&self.raw[from..to]);
        (raw, smoothed.map(|s| as_points(&s[from..to])))
    }
}

/// Averages `values` into at most `width` consecutive buckets of (nearly) equal size, keeping
/// the order; values are returned unchanged when they already fit.
pub fn downsample(values: &[f32], width: usize) -> Vec<f32> {
    if values.len() <= width {
        return values.to_vec();
    }
    (0..width)
        .map(|bucket| {
            let start = bucket * values.len() / width;
            let end = (bucket + 1) * values.len() / width;
            let slice = &values[start..end.max(start + 1)];
            slice.iter().sum::<f32>() / slice.len() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(start: u64, values: &[f32]) -> Series {
        let mut s = Series::default();
        s.start_at(start);
        values.iter().for_each(|&v| s.push(v));
        s
    }

    #[test]
    fn recent_and_whole_run_spans_count_steps_from_the_start() {
        let s = series(100, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.span(Window::Recent, 3), (103, 105));
        assert_eq!(s.span(Window::Recent, 10), (101, 105));
        assert_eq!(s.span(Window::WholeRun, 3), (101, 105));
        let (raw, smooth) = s.points((103, 105), 10, None);
        assert_eq!(raw, vec![(103.0, 3.0), (104.0, 4.0), (105.0, 5.0)]);
        assert!(smooth.is_none());
    }

    #[test]
    fn whole_run_averages_buckets_in_order() {
        let values: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let s = series(0, &values);
        let (raw, _) = s.points(s.span(Window::WholeRun, 10), 4, None);
        let ys: Vec<f64> = raw.iter().map(|p| p.1).collect();
        assert_eq!(ys, vec![12.0, 37.0, 62.0, 87.0]);
        assert_eq!(raw[0].0, 13.0, "the mean step of the bucket");
        assert_eq!(downsample(&values, 7).len(), 7);
        assert_eq!(downsample(&values, 0), Vec::<f32>::new());
        assert_eq!(downsample(&[1.0, 2.0], 5), vec![1.0, 2.0]);
        assert_eq!(downsample(&vec![1.0f32; 1003], 10), vec![1.0; 10]);
    }

    #[test]
    fn smoothing_leaves_out_non_finite_values_and_values_are_found_by_step() {
        let s = series(0, &[1.0, f32::NAN, 1.0, 3.0]);
        let (raw, smooth) = s.points((1, 4), 10, Some(0.5));
        assert_eq!(raw.len(), 3, "the NaN is not drawn");
        assert_eq!(smooth.unwrap().len(), 3);
        assert_eq!(s.at(4, None), Some(3.0));
        assert_eq!(s.at(0, None), None);
        assert_eq!(s.at(9, None), None);
        assert!((s.at(4, Some(0.5)).unwrap() - s.latest_smoothed(0.5).unwrap()).abs() < 1e-6);
    }

    #[test]
    fn a_rollback_drops_the_later_steps() {
        let mut s = series(10, &[1.0, 2.0, 3.0]);
        s.truncate_to_step(11);
        assert_eq!((s.len(), s.last_step()), (1, 11));
    }

    #[test]
    fn the_window_toggles() {
        assert_eq!(Window::Recent.toggled(), Window::WholeRun);
        assert_eq!(Window::WholeRun.toggled().label(), "recent steps");
    }
}
