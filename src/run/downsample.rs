//! Reducing a long series to a bounded number of points for drawing: a chart a few hundred
//! cells or pixels wide needs no more than a few points a column, whatever the run's length.

/// How the points of one bucket become a few.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    /// One point a bucket: the mean step and the mean value (for smoothed lines).
    Mean,
    /// Two points a bucket: its lowest and highest value, in step order, so spikes survive
    /// (for raw values).
    MinMax,
}

/// At most `max_points` points of `points` (in step order): the series cut into equal runs of
/// consecutive points, each reduced as `reduce` says. A series that fits is returned as it is.
pub fn downsample(points: &[(f64, f64)], max_points: usize, reduce: Reduce) -> Vec<(f64, f64)> {
    if points.len() <= max_points {
        return points.to_vec();
    }
    let per_bucket = match reduce {
        Reduce::Mean => 1,
        Reduce::MinMax => 2,
    };
    let buckets = (max_points / per_bucket).max(1);
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * per_bucket);
    for bucket in points.chunks(size) {
        match reduce {
            Reduce::Mean => {
                let n = bucket.len() as f64;
                let (x, y) = bucket
                    .iter()
                    .fold((0.0, 0.0), |(sx, sy), (x, y)| (sx + x, sy + y));
                out.push((x / n, y / n));
            }
            Reduce::MinMax => {
                let by_value = |a: &&(f64, f64), b: &&(f64, f64)| a.1.total_cmp(&b.1);
                let low = bucket.iter().min_by(by_value);
                let high = bucket.iter().max_by(by_value);
                if let (Some(&low), Some(&high)) = (low, high) {
                    if low.0 <= high.0 {
                        out.extend([low, high]);
                    } else {
                        out.extend([high, low]);
                    }
                }
            }
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_series_is_kept_and_a_long_one_is_bounded() {
        let short = [(1.0, 2.0), (2.0, 3.0)];
        assert_eq!(downsample(&short, 10, Reduce::Mean), short);
        let long: Vec<(f64, f64)> = (0..1000).map(|i| (i as f64, (i % 10) as f64)).collect();
        for reduce in [Reduce::Mean, Reduce::MinMax] {
            let out = downsample(&long, 100, reduce);
            assert!(out.len() <= 100, "{reduce:?}: {}", out.len());
            assert!(out.windows(2).all(|w| w[0].0 <= w[1].0), "in step order");
        }
    }

    #[test]
    fn buckets_keep_their_mean_or_their_extremes() {
        let points = [(0.0, 1.0), (1.0, 3.0), (2.0, 9.0), (3.0, -1.0)];
        assert_eq!(
            downsample(&points, 2, Reduce::Mean),
            [(0.5, 2.0), (2.5, 4.0)]
        );
        assert_eq!(
            downsample(&points, 2, Reduce::MinMax),
            [(2.0, 9.0), (3.0, -1.0)]
        );
        assert_eq!(
            downsample(&points, 3, Reduce::MinMax),
            [(2.0, 9.0), (3.0, -1.0)]
        );
    }
}
