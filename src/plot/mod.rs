//! Plots of runs as files: loss, training accuracy and test accuracy against step, one or more
//! runs overlaid, or one run's layer statistics ([`layers`]), as SVG or PNG (by the file's
//! extension). `digitdash plot` draws them, and
//! the dashboard exports its charts through [`plot_runs`]. A plot is drawn in memory and
//! written whole ([`crate::durable::write_atomic`]): a failed write leaves no file behind.

mod draw;
pub mod font;
pub mod layers;
pub mod lr_find;
pub mod series;
pub mod sweep;

use std::io;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use thiserror::Error;

use crate::data::png::encode_png;
use crate::durable::write_atomic;
use crate::output::escape_line;
use crate::run::history::RunHistory;
use crate::run::smoothing::DEFAULT_WEIGHT;
use series::{labels, RunCurves};

/// How a plot looks.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOptions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Smoothing weight of the loss and training accuracy, 0 to 0.99 (TensorBoard's).
    pub smoothing: f64,
    /// Loss on a logarithmic axis (else linear).
    pub log_loss: bool,
    /// The title over the panels.
    pub title: String,
}

impl Default for PlotOptions {
    fn default() -> Self {
        Self {
            width: 1200,
            height: 900,
            smoothing: DEFAULT_WEIGHT,
            log_loss: true,
            title: "Training runs".to_string(),
        }
    }
}

/// The file formats a plot can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics (`.svg`).
    Svg,
    /// A bitmap (`.png`).
    Png,
}

impl Format {
    /// The format that `path`'s extension names, if it names one.
    pub fn of(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "svg" => Some(Format::Svg),
            "png" => Some(Format::Png),
            _ => None,
        }
    }
}

/// A plot that could not be written.
#[derive(Debug, Error)]
pub enum PlotError {
    /// The output's extension is neither `.svg` nor `.png`.
    #[error("cannot tell the format of {path} from its extension: end its name in .svg or .png")]
    UnknownFormat {
        /// The output file.
        path: PathBuf,
    },
    /// No run was given.
    #[error("no run to plot: give at least one run folder")]
    NoRuns,
    /// The size is too small to draw three panels in, or too large.
    #[error("a plot of {width}x{height} pixels cannot be drawn: choose a size from 300x300 to 10000x10000")]
    BadSize {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
    },
    /// Drawing failed.
    #[error("cannot draw the plot {path}: {message}")]
    Draw {
        /// The output file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Writing the file failed; nothing was left at its path.
    #[error(
        "cannot write the plot {path}: {cause}. Check that its folder exists and is writable \
         and that the disk has room, then try again; no file was left behind."
    )]
    Write {
        /// The output file.
        path: PathBuf,
        /// Why (not a `source`: the message already says it).
        cause: io::Error,
    },
}

/// A stable colour for the run at `index` in a plot or a chart overlay (Tableau 10, cycled).
pub fn run_colour(index: usize) -> RGBColor {
    const COLOURS: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = COLOURS[index % COLOURS.len()];
    RGBColor(r, g, b)
}

/// Writes the plot of `histories` (each named in the legend by its folder) to `path`, as SVG or
/// PNG by its extension. Curves are reduced to about the plot's width in points, so a run of a
/// million steps draws as fast as a short one.
pub fn plot_runs(
    histories: &[&RunHistory],
    options: &PlotOptions,
    path: &Path,
) -> Result<(), PlotError> {
    if Format::of(path).is_none() {
        return Err(PlotError::UnknownFormat {
            path: path.to_path_buf(),
        });
    }
    if histories.is_empty() {
        return Err(PlotError::NoRuns);
    }
    let (width, height) = (options.width, options.height);
    let max_points = width as usize;
    // Names from disk are drawn with their control characters escaped: SVG cannot hold them.
    let runs: Vec<RunCurves> = histories
        .iter()
        .zip(labels(histories))
        .map(|(h, label)| {
            let label = escape_line(&label).into_owned();
            RunCurves::of(h, label, options.smoothing, max_points, options.log_loss)
        })
        .collect();
    let options = PlotOptions {
        title: escape_line(&options.title).into_owned(),
        ..options.clone()
    };
    write_figure(&RunsFigure(&runs, &options), (width, height), path)
}

/// Something drawn on any plotters backend, to be written as SVG or PNG.
pub trait Figure {
    /// Draws it on `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

/// The runs' three panels.
struct RunsFigure<'a>(&'a [RunCurves], &'a PlotOptions);

impl Figure for RunsFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        draw::draw(root, self.0, self.1)
    }
}

/// Draws `figure` at `(width, height)` pixels and writes it to `path`, SVG or PNG by its
/// extension, whole or not at all.
pub fn write_figure(
    figure: &impl Figure,
    (width, height): (u32, u32),
    path: &Path,
) -> Result<(), PlotError> {
    let format = Format::of(path).ok_or_else(|| PlotError::UnknownFormat {
        path: path.to_path_buf(),
    })?;
    if !(300..=10_000).contains(&width) || !(300..=10_000).contains(&height) {
        return Err(PlotError::BadSize { width, height });
    }
    let fail = |message: String| PlotError::Draw {
        path: path.to_path_buf(),
        message,
    };
    if !font::ensure_registered() {
        return Err(fail("the built-in font could not be loaded".into()));
    }
    let written = match format {
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                figure.draw(&root).map_err(|e| fail(e.to_string()))?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            write_atomic(path, svg.as_bytes())
        }
        Format::Png => {
            let mut rgb = vec![0u8; width as usize * height as usize * 3];
            {
                let root =
                    BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
                figure.draw(&root).map_err(|e| fail(e.to_string()))?;
                root.present().map_err(|e| fail(e.to_string()))?;
            }
            encode_png(&rgb, width, height, png::ColorType::Rgb)
                .and_then(|encoded| write_atomic(path, &encoded))
        }
    };
    written.map_err(|cause| PlotError::Write {
        path: path.to_path_buf(),
        cause,
    })
}
