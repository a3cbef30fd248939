//! What the app asks of the world besides the trainer: jobs for the inspector thread, files
//! to write, runs to read. The frame loop carries them out (`dashboard::effects`).

use std::path::PathBuf;

use super::inspection::InspectJob;

/// What the charts export draws: whose records, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartExport {
    /// The run's folder (the file goes there too).
    pub run: PathBuf,
    /// Folders of the runs overlaid.
    pub compared: Vec<PathBuf>,
    /// Smoothing weight (0 for raw values).
    pub smoothing: f32,
    /// Loss on a log scale.
    pub log_loss: bool,
}

/// Work for the frame loop that is not the trainer's: inspection and files.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Hand a job to the inspector thread.
    Inspect(InspectJob),
    /// Write the drawing as a 28x28 PNG (MNIST polarity: light ink on black) under the first
    /// free name `drawing-NNN.png` in a folder.
    SaveDrawing {
        /// The folder (the run's).
        dir: PathBuf,
        /// The pixels, 0..1.
        pixels: Vec<f32>,
    },
    /// Plot the charts from the runs' records into `charts-NNN.png` in the run folder.
    ExportCharts(ChartExport),
    /// List the runs in a folder for the run picker.
    ListRuns(PathBuf),
    /// List a run folder's checkpoints for the checkpoint picker.
    ListCheckpoints(PathBuf),
    /// Read these runs' records and overlay them on the charts, in place of those shown.
    LoadCompared(Vec<PathBuf>),
    /// Read the followed sweep's folder again, and the records of the overlaid trials whose
    /// curves still grow.
    ReadSweep {
        /// The sweep's folder.
        dir: PathBuf,
        /// Overlaid trials to read again.
        reload: Vec<PathBuf>,
    },
}
