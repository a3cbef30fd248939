//! `digitdash plot RUN --layers`: a run's layer statistics (`layers.jsonl`) over its steps, in
//! four panels, a line a layer: the update-to-weight ratio of each weight tensor (log scale,
//! with the healthy 1e-3 as a dashed guide), the share of ReLUs that never fired, and the
//! weights' and gradients' RMS (log scale). Each panel's caption says what a healthy value
//! looks like, as the dashboard's Layers page does.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::series::{value_range, Points};
use super::{run_colour, write_figure, Figure, PlotError};
use crate::output::escape_line;
use crate::run::layer_history::LayerHistory;
use crate::run::layers::LayerSample;
use crate::sweep::value::short_number;

/// The font family registered by [`super::font`].
const FONT: &str = "sans-serif";
/// The healthy update-to-weight ratio (CS231n's rule of thumb), drawn as a guide.
pub const HEALTHY_RATIO: f64 = 1e-3;

/// One value of a layer's sample, if it has one.
type Pick = fn(&LayerSample) -> Option<f32>;

/// A panel: one statistic, a line a layer.
struct Panel {
    caption: &'static str,
    y_desc: &'static str,
    pick: Pick,
    log: bool,
    percent: bool,
    guide: Option<f64>,
}

/// The four panels, in reading order.
const PANELS: [Panel; 4] = [
    Panel {
        caption: "update/weight ratio (log; healthy near 1e-3, dashed)",
        y_desc: "ratio",
        pick: |l| Some(l.weight.update_ratio),
        log: true,
        percent: false,
        guide: Some(HEALTHY_RATIO),
    },
    Panel {
        caption: "dead ReLUs, never fired in a batch (healthy: low)",
        y_desc: "dead",
        pick: |l| l.dead_relu,
        log: false,
        percent: true,
        guide: None,
    },
    Panel {
        caption: "weight RMS (log; healthy: steady or slow)",
        y_desc: "RMS",
        pick: |l| Some(l.weight.rms),
        log: true,
        percent: false,
        guide: None,
    },
    Panel {
        caption: "gradient RMS (log; to 0: vanishing; jumps: exploding)",
        y_desc: "RMS",
        pick: |l| Some(l.weight.grad_rms),
        log: true,
        percent: false,
        guide: None,
    },
];

/// One layer's points of one panel.
struct LayerLine {
    name: String,
    colour: RGBColor,
    points: Points,
}

/// The figure: the title and the history drawn.
struct LayersFigure<'a> {
    history: &'a LayerHistory,
    title: &'a str,
}

/// Writes the plot of `history` to `path` (SVG or PNG by its extension) at `size` pixels.
pub fn plot_layers(
    history: &LayerHistory,
    title: &str,
    size: (u32, u32),
    path: &Path,
) -> Result<(), PlotError> {
    // A title from a folder's name is drawn with its control characters escaped: SVG cannot
    // hold them.
    let title = escape_line(title);
    write_figure(
        &LayersFigure {
            history,
            title: &title,
        },
        size,
        path,
    )
}

impl LayersFigure<'_> {
    /// The layers' names in the order of the newest sample.
    fn names(&self) -> Vec<String> {
        self.history
            .latest()
            .map(|s| s.layers.iter().map(|l| l.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Each layer's points of `panel`; values a log axis cannot show (0, negative, not
    /// finite) are left out.
    fn lines(&self, panel: &Panel) -> Vec<LayerLine> {
        self.names()
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let points = self
                    .history
                    .samples()
                    .filter_map(|s| {
                        let value = f64::from((panel.pick)(s.layer(&name)?)?);
                        let shown = value.is_finite() && (!panel.log || value > 0.0);
                        shown.then_some((s.step as f64, value))
                    })
                    .collect();
                LayerLine {
                    name,
                    colour: run_colour(i),
                    points,
                }
            })
            .filter(|l| !l.points.is_empty())
            .collect()
    }

    /// The steps the history spans.
    fn steps(&self) -> Range<f64> {
        let first = self.history.samples().next().map_or(0, |s| s.step) as f64;
        let last = self.history.latest().map_or(1, |s| s.step) as f64;
        if first < last {
            first..last
        } else {
            first - 1.0..last + 1.0
        }
    }
}

impl Figure for LayersFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let area = root.titled(self.title, (FONT, 24))?;
        for (panel, cell) in PANELS.iter().zip(area.split_evenly((2, 2))) {
            let lines = self.lines(panel);
            let range = value_range(
                lines
                    .iter()
                    .flat_map(|l| &l.points)
                    .chain(panel.guide.map(|g| (0.0, g)).as_ref()),
            );
            if panel.log {
                let (lo, hi) = range.unwrap_or((1e-4, 1.0));
                let y = (lo * 0.5..hi * 2.0).log_scale();
                draw_panel(&cell, self.steps(), y, panel, &lines)?;
            } else {
                let (_, hi) = range.unwrap_or((0.0, 1.0));
                let y = 0.0..(hi * 1.1).clamp(0.01, 1.0);
                draw_panel(&cell, self.steps(), y, panel, &lines)?;
            }
        }
        Ok(())
    }
}

/// Draws one panel: the axes, the guide line if any, a line a layer and the legend.
fn draw_panel<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    x: Range<f64>,
    y: Y,
    panel: &Panel,
    lines: &[LayerLine],
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend,
    Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
    Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(area)
        .caption(panel.caption, (FONT, 14))
        .margin(8)
        .margin_right(20)
        .x_label_area_size(34)
        .y_label_area_size(60)
        .build_cartesian_2d(x.clone(), y)?;
    let percent = panel.percent;
    let label = move |v: &f64| {
        if percent {
            format!("{:.0}%", v * 100.0)
        } else {
            short_number(*v)
        }
    };
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(panel.y_desc)
        .x_labels(6)
        .y_labels(6)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&label)
        .draw()?;
    if let Some(guide) = panel.guide {
        let dashes = DashedLineSeries::new(
            [(x.start, guide), (x.end, guide)],
            8,
            5,
            BLACK.mix(0.5).stroke_width(1),
        );
        chart.draw_series(dashes)?;
    }
    for line in lines {
        let colour = line.colour;
        chart
            .draw_series(LineSeries::new(
                line.points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(line.name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    if !lines.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 12))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .draw()?;
    }
    Ok(())
}
