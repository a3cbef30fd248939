//! A per-step metric's history, and the two views the charts draw of it (the most recent
//! steps, or the whole run), as points averaged down to the chart's width, raw and smoothed.

use std::cell::RefCell;

use crate::run::smoothing::Smoother;

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
#[derive(Debug, Clone, Default)]
pub struct Series {
    raw: Vec<f32>,
    /// Steps done before the first value (non-zero for a resumed run).
    start: u64,
    /// The smoother's state at every [`MARK_EVERY`]th value, for the weight last asked for:
    /// a smoothed value then costs at most that many steps of the smoother, not the whole
    /// history (a frame asks for several, a million-step run is long).
    marks: RefCell<SmoothMarks>,
}

impl PartialEq for Series {
    /// Equal values from the same step; the kept smoother states are a cache.
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw && self.start == other.start
    }
}

/// Values between two kept smoother states.
const MARK_EVERY: usize = 4096;

/// Kept smoother states: `states[k]` has taken the first `k * MARK_EVERY` values.
#[derive(Debug, Clone, Default)]
struct SmoothMarks {
    /// The weight they were made with.
    weight: Option<f32>,
    states: Vec<Smoother>,
}

impl SmoothMarks {
    /// The smoother with weight `weight` after the first `count` of `values`.
    fn after(&mut self, values: &[f32], count: usize, weight: f32) -> Smoother {
        if self.weight.map(f32::to_bits) != Some(weight.to_bits()) {
            self.weight = Some(weight);
            self.states = vec![Smoother::new(f64::from(weight))];
        }
        let mark = count / MARK_EVERY;
        while self.states.len() <= mark {
            let made = self.states.len() - 1;
            let mut state = self.states[made];
            feed(
                &mut state,
                &values[made * MARK_EVERY..(made + 1) * MARK_EVERY],
            );
            self.states.push(state);
        }
        let mut state = self.states[mark];
        feed(&mut state, &values[mark * MARK_EVERY..count]);
        state
    }

    /// Forgets the states past the first `count` values (the values were cut there).
    fn truncate(&mut self, count: usize) {
        self.states.truncate(count / MARK_EVERY + 1);
    }
}

/// Takes `values` into `smoother`.
fn feed(smoother: &mut Smoother, values: &[f32]) {
    for &v in values {
        smoother.next(f64::from(v));
    }
}

/// Points of a chart: (step, value).
pub type Points = Vec<(f64, f64)>;

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
        self.marks.get_mut().truncate(self.raw.len());
    }

    /// The value at `index` smoothed as TensorBoard does with `weight`.
    fn smoothed_at(&self, index: usize, weight: f32) -> Option<f32> {
        let value = *self.raw.get(index)?;
        let mut smoother = self.marks.borrow_mut().after(&self.raw, index, weight);
        Some(smoother.next(f64::from(value)) as f32)
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
            Some(w) => self.smoothed_at(i, w),
            None => self.raw.get(i).copied(),
        }
    }

    /// The newest value smoothed with `weight`.
    pub fn latest_smoothed(&self, weight: f32) -> Option<f32> {
        self.smoothed_at(self.raw.len().checked_sub(1)?, weight)
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
    /// into at most `points` points each. Non-finite values are left out. Nothing as long as
    /// the series is copied: a million-step run draws in the memory of its points.
    pub fn points(
        &self,
        span: (u64, u64),
        points: usize,
        weight: Option<f32>,
    ) -> (Points, Option<Points>) {
        let from = span.0.saturating_sub(self.start + 1) as usize;
        let to = (span.1.saturating_sub(self.start) as usize).min(self.raw.len());
        let from = from.min(to);
        let first_step = self.start + 1 + from as u64;
        let raw = bucket_means(
            first_step,
            self.raw[from..to].iter().copied(),
            to - from,
            points,
        );
        let smoothed = weight.map(|w| {
            let mut smoother = self.marks.borrow_mut().after(&self.raw, from, w);
            let values = self.raw[from..to]
                .iter()
                .map(move |&v| smoother.next(f64::from(v)) as f32);
            bucket_means(first_step, values, to - from, points)
        });
        (raw, smoothed)
    }
}

/// The `len` values of `values`, of consecutive steps from `first_step`, averaged into at
/// most `width` buckets of (nearly) equal size in order, as (mean step, mean value); buckets
/// whose mean is not finite are left out.
fn bucket_means(
    first_step: u64,
    mut values: impl Iterator<Item = f32>,
    len: usize,
    width: usize,
) -> Points {
    let buckets = len.min(width);
    let mut points = Vec::with_capacity(buckets);
    for bucket in 0..buckets {
        let start = bucket * len / buckets;
        let end = ((bucket + 1) * len / buckets).max(start + 1);
        let (mut steps, mut sum) = (0.0f64, 0.0f64);
        for (i, value) in (start..end).zip(values.by_ref()) {
            steps += (first_step + i as u64) as f64;
            sum += f64::from(value);
        }
        let count = (end - start) as f64;
        let value = (sum / count) as f32;
        if value.is_finite() {
            points.push((f64::from((steps / count) as f32), f64::from(value)));
        }
    }
    points
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
        let means =
            |values: &[f32], width| bucket_means(1, values.iter().copied(), values.len(), width);
        assert_eq!(means(&values, 7).len(), 7);
        assert_eq!(means(&values, 0), Points::new());
        assert_eq!(means(&[1.0, 2.0], 5), vec![(1.0, 1.0), (2.0, 2.0)]);
        assert!(means(&[1.0f32; 1003], 10).iter().all(|p| p.1 == 1.0));
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
    fn smoothed_points_are_the_whole_series_smoothed_then_cut_to_the_span() {
        let values: Vec<f32> = (0..50)
            .map(|i| if i == 7 { f32::NAN } else { (i % 5) as f32 })
            .collect();
        let s = series(0, &values);
        let wide: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
        let expected: Vec<(f64, f64)> = crate::run::smoothing::smooth(&wide, f64::from(0.6f32))
            .iter()
            .enumerate()
            .skip(10)
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| ((i + 1) as f64, f64::from(v as f32)))
            .collect();
        let (_, smooth) = s.points((11, 50), 100, Some(0.6));
        assert_eq!(smooth.unwrap(), expected);
        assert_eq!(
            s.latest_smoothed(0.6).map(f64::from),
            expected.last().map(|p| p.1)
        );
    }

    #[test]
    fn smoothed_values_from_the_kept_states_are_those_of_the_whole_history() {
        use crate::run::smoothing::smooth;
        let values: Vec<f32> = (0..3 * MARK_EVERY + 77)
            .map(|i| ((i * 37 % 101) as f32).sin() + (i as f32) * 1e-3)
            .collect();
        let mut s = series(10, &values);
        let whole = |weight: f32, upto: usize| {
            let wide: Vec<f64> = values[..upto].iter().map(|&v| f64::from(v)).collect();
            smooth(&wide, f64::from(weight))
        };
        for weight in [0.6f32, 0.9] {
            let expected = whole(weight, values.len());
            for index in [
                0,
                1,
                MARK_EVERY - 1,
                MARK_EVERY,
                2 * MARK_EVERY + 5,
                values.len() - 1,
            ] {
                let step = 10 + 1 + index as u64;
                assert_eq!(
                    s.at(step, Some(weight)).map(f32::to_bits),
                    Some((expected[index] as f32).to_bits()),
                    "weight {weight}, index {index}"
                );
            }
            let last = s.last_step();
            let (_, smoothed) = s.points((last - 99, last), 1000, Some(weight));
            let tail = &expected[values.len() - 100..];
            let got: Vec<f64> = smoothed.unwrap().iter().map(|p| p.1).collect();
            let want: Vec<f64> = tail.iter().map(|&v| f64::from(v as f32)).collect();
            assert_eq!(got, want, "weight {weight}");
        }
        // Cut back past two kept states, then grown again with other values.
        s.truncate_to_step(10 + MARK_EVERY as u64 + 3);
        let mut values = values[..MARK_EVERY + 3].to_vec();
        for i in 0..2 * MARK_EVERY {
            let v = (i as f32 * 0.01).cos();
            values.push(v);
            s.push(v);
        }
        let wide: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
        let expected = smooth(&wide, 0.9);
        assert_eq!(
            s.latest_smoothed(0.9).map(f32::to_bits),
            Some((expected[values.len() - 1] as f32).to_bits())
        );
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
