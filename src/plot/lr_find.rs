//! The learning-rate range test's plot: loss against rate on a log axis, raw and smoothed,
//! with the suggested rate marked.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{write_figure, Figure, PlotError};
use crate::sweep::value::short_number;

/// The font family registered by [`super::font`].
const FONT: &str = "sans-serif";

/// The curve of a range test: (rate, raw loss, smoothed loss) a step.
pub struct LrCurve<'a> {
    /// The steps.
    pub points: &'a [(f64, f64, f64)],
    /// The suggested rate, if any.
    pub suggested: Option<f64>,
    /// The title.
    pub title: String,
}

/// Writes the plot of `curve` to `path` (SVG or PNG by its extension), 1000x600.
pub fn plot_lr_curve(curve: &LrCurve<'_>, path: &Path) -> Result<(), PlotError> {
    write_figure(curve, (1000, 600), path)
}

impl Figure for LrCurve<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let lrs = self.points.iter().map(|p| p.0);
        let lo = lrs.clone().fold(f64::INFINITY, f64::min);
        let hi = lrs.fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = if lo < hi { (lo, hi) } else { (1e-7, 10.0) };
        let losses = self
            .points
            .iter()
            .flat_map(|p| [p.1, p.2])
            .filter(|v| v.is_finite());
        let top = losses.clone().fold(0.0, f64::max);
        let bottom = losses.fold(f64::INFINITY, f64::min).min(top);
        // The raw loss near the blow-up can be huge: the axis stops at twice the start's.
        let first = self.points.first().map_or(top, |p| p.2);
        let top = top.min(first * 2.0).max(bottom * 1.1 + 1e-9);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((lo..hi).log_scale(), bottom * 0.95..top * 1.02)?;
        chart
            .configure_mesh()
            .x_desc("learning rate (log scale)")
            .y_desc("training loss")
            .x_label_formatter(&|v| short_number(*v))
            .label_style((FONT, 13))
            .draw()?;
        let faint = RGBColor(31, 119, 180).mix(0.3);
        chart.draw_series(LineSeries::new(
            self.points.iter().map(|p| (p.0, p.1.min(top))),
            faint,
        ))?;
        chart
            .draw_series(LineSeries::new(
                self.points.iter().map(|p| (p.0, p.2.min(top))),
                RGBColor(31, 119, 180).stroke_width(2),
            ))?
            .label("smoothed loss")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RGBColor(31, 119, 180)));
        if let Some(lr) = self.suggested {
            let red = RGBColor(214, 39, 40);
            chart
                .draw_series(LineSeries::new(
                    [(lr, bottom * 0.95), (lr, top * 1.02)],
                    red.stroke_width(2),
                ))?
                .label(format!("suggested {}", short_number(lr)))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], red));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, 13))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        Ok(())
    }
}
