//! A per-step metric's history: the raw values, their moving average, and the two views the
//! charts draw (the most recent steps, or the whole run downsampled to the chart's width).

/// Weight of the newest value in the exponential moving average.
pub const SMOOTHING: f32 = 0.05;

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

/// The history of one metric, one value per step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    raw: Vec<f32>,
    smooth: Vec<f32>,
}

impl Series {
    /// Appends the value of the next step.
    pub fn push(&mut self, value: f32) {
        let smoothed = match self.smooth.last() {
            Some(&last) if last.is_finite() && value.is_finite() => {
                last + SMOOTHING * (value - last)
            }
            _ => value,
        };
        self.raw.push(value);
        self.smooth.push(smoothed);
    }

    /// Keeps only the first `len` values (after a rollback).
    pub fn truncate(&mut self, len: usize) {
        self.raw.truncate(len);
        self.smooth.truncate(len);
    }

    /// Number of values.
    #[cfg(test)]
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

    /// The newest moving average.
    pub fn latest_smoothed(&self) -> Option<f32> {
        self.smooth.last().copied()
    }

    /// All raw values, or all moving averages, oldest first.
    pub fn values(&self, smoothed: bool) -> &[f32] {
        if smoothed {
            &self.smooth
        } else {
            &self.raw
        }
    }

    /// What a chart `width` bars wide shows, oldest first: the last `width` values, or the
    /// whole run averaged into at most `width` buckets.
    pub fn view(&self, window: Window, width: usize, smoothed: bool) -> Vec<f32> {
        let values = self.values(smoothed);
        match window {
            Window::Recent => values[values.len().saturating_sub(width)..].to_vec(),
            Window::WholeRun => downsample(values, width),
        }
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

    fn series(values: &[f32]) -> Series {
        let mut s = Series::default();
        values.iter().for_each(|&v| s.push(v));
        s
    }

    #[test]
    fn recent_keeps_the_newest_values() {
        let s = series(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.view(Window::Recent, 3, false), vec![3.0, 4.0, 5.0]);
        assert_eq!(s.view(Window::Recent, 10, false).len(), 5);
        assert_eq!(s.view(Window::Recent, 0, false), Vec::<f32>::new());
    }

    #[test]
    fn whole_run_averages_buckets_in_order() {
        let values: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let s = series(&values);
        let view = s.view(Window::WholeRun, 4, false);
        assert_eq!(view, vec![12.0, 37.0, 62.0, 87.0]);
        assert_eq!(downsample(&values, 7).len(), 7);
        assert_eq!(downsample(&values, 0), Vec::<f32>::new());
        assert_eq!(downsample(&[1.0, 2.0], 5), vec![1.0, 2.0]);
    }

    #[test]
    fn whole_run_covers_every_value_once_with_uneven_buckets() {
        let values = vec![1.0f32; 1003];
        let view = downsample(&values, 10);
        assert_eq!(view, vec![1.0; 10]);
    }

    #[test]
    fn the_moving_average_follows_slowly_and_survives_nan() {
        let mut s = series(&[1.0, 0.0]);
        assert_eq!(s.latest(), Some(0.0));
        assert!((s.latest_smoothed().unwrap() - (1.0 - SMOOTHING)).abs() < 1e-6);
        s.push(f32::NAN);
        assert!(s.latest_smoothed().unwrap().is_nan());
        s.push(2.0);
        assert_eq!(s.latest_smoothed(), Some(2.0));
        assert_eq!(s.values(true).len(), 4);
    }

    #[test]
    fn the_window_toggles() {
        assert_eq!(Window::Recent.toggled(), Window::WholeRun);
        assert_eq!(Window::WholeRun.toggled().label(), "recent steps");
    }
}
