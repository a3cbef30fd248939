//! A plain-text chart of a range test: smoothed loss against the rate on a log axis, the
//! suggested rate marked with a column of `|`.

use crate::sweep::value::short_number;

/// Lines of a `width` x `height` chart of `points` (rate, raw loss, smoothed loss), with
/// its axes' labels.
pub fn text_chart(
    points: &[(f64, f64, f64)],
    suggested: Option<f64>,
    width: usize,
    height: usize,
) -> Vec<String> {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.0 > 0.0 && p.2.is_finite())
        .map(|p| (p.0.log10(), p.2))
        .collect();
    if finite.len() < 2 || width < 8 || height < 4 {
        return vec!["(too few steps to draw)".to_string()];
    }
    let (x0, x1) = (finite[0].0, finite[finite.len() - 1].0);
    let low = finite.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    // The loss near the blow-up is huge: the chart stops at twice the first value.
    let high = finite
        .iter()
        .map(|p| p.1)
        .fold(0.0, f64::max)
        .min(finite[0].1 * 2.0)
        .max(low + 1e-9);
    let column = |x: f64| (((x - x0) / (x1 - x0).max(1e-12)) * (width - 1) as f64).round() as usize;
    let row = |y: f64| {
        let t = ((y.min(high) - low) / (high - low)).clamp(0.0, 1.0);
        ((1.0 - t) * (height - 1) as f64).round() as usize
    };
    let mut grid = vec![vec![' '; width]; height];
    if let Some(lr) = suggested.filter(|lr| *lr > 0.0) {
        let c = column(lr.log10()).min(width - 1);
        for line in grid.iter_mut() {
            line[c] = '|';
        }
    }
    for &(x, y) in &finite {
        grid[row(y)][column(x).min(width - 1)] = '*';
    }
    let label_width = 8;
    let mut lines = vec!["smoothed training loss against learning rate (log scale)".to_string()];
    for (i, line) in grid.iter().enumerate() {
        let label = match i {
            0 => short_number(high),
            _ if i == height - 1 => short_number(low),
            _ => String::new(),
        };
        lines.push(format!(
            "{label:>label_width$} |{}",
            line.iter().collect::<String>()
        ));
    }
    lines.push(format!("{:>label_width$} +{}", "", "-".repeat(width)));
    let left = short_number(10f64.powf(x0));
    let right = short_number(10f64.powf(x1));
    let gap = width.saturating_sub(left.len() + right.len());
    lines.push(format!(
        "{:>label_width$}  {left}{}{right}",
        "",
        " ".repeat(gap)
    ));
    if let Some(lr) = suggested {
        lines.push(format!(
            "{:>label_width$}  | suggested {}",
            "",
            short_number(lr)
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_falls_from_the_top_left_and_the_suggestion_is_a_column() {
        let points: Vec<(f64, f64, f64)> = (0..50)
            .map(|i| {
                let lr = 1e-6 * 10f64.powf(i as f64 / 10.0);
                let loss = 2.3 - i as f64 * 0.04;
                (lr, loss, loss)
            })
            .collect();
        let lines = text_chart(&points, Some(1e-4), 40, 10);
        assert_eq!(lines.len(), 1 + 10 + 2 + 1);
        assert!(lines[1].contains('*'), "{lines:?}");
        let bars = lines[1..11]
            .iter()
            .filter(|l| l.contains('|') && l.matches('|').count() == 2)
            .count();
        assert!(bars >= 9, "{lines:?}");
        assert!(
            lines.last().unwrap().contains("suggested 1e-4"),
            "{lines:?}"
        );
    }
}
