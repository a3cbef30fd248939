//! What the dashboard asks the inspector thread to compute from the latest weights, and what
//! comes back. The app only decides what it needs; the work happens off the UI thread.

use std::path::PathBuf;

use crate::model::probe::Activations;
use crate::run::record::EvalSplit;

/// Which held-out image: its set and its place there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitRef {
    /// The set (validation or test).
    pub set: EvalSplit,
    /// The image's index in the set.
    pub index: usize,
}

/// Work for the inspector thread; it redoes the latest job of each kind when new weights
/// arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum InspectJob {
    /// Score a held-out digit.
    Digit {
        /// Which one.
        digit: DigitRef,
        /// Its pixels, 0..1.
        image: Vec<f32>,
        /// Also compute the feature maps.
        activations: bool,
        /// Also compute the occlusion map of the predicted class.
        occlusion: bool,
    },
    /// Score a drawing (already preprocessed as MNIST was).
    Drawing {
        /// The drawing's version.
        version: u64,
        /// Its pixels, 0..1.
        image: Vec<f32>,
        /// Folders of the runs overlaid: the drawing is scored by each one's best
        /// checkpoint too.
        compared: Vec<PathBuf>,
    },
}

/// A result of the inspector thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Insight {
    /// A held-out digit scored.
    Digit(DigitInsight),
    /// A drawing scored.
    Drawing(DrawingInsight),
    /// The first layer's filters of new weights.
    Filters(Filters),
}

/// What the network said about a held-out digit.
#[derive(Debug, Clone, PartialEq)]
pub struct DigitInsight {
    /// Which digit.
    pub digit: DigitRef,
    /// The step of the weights used.
    pub step: u64,
    /// Ten class probabilities.
    pub probabilities: Vec<f32>,
    /// The feature maps, when asked for.
    pub activations: Option<Activations>,
    /// How much each pixel matters to the predicted class (0..1), when asked for.
    pub occlusion: Option<Vec<f32>>,
}

/// What the network said about a drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawingInsight {
    /// The drawing's version.
    pub version: u64,
    /// The step of the weights used.
    pub step: u64,
    /// Ten class probabilities.
    pub probabilities: Vec<f32>,
    /// What each overlaid run's best checkpoint said, in the order the job listed them.
    pub compared: Vec<ComparedPrediction>,
}

/// What an overlaid run's best checkpoint said about a drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparedPrediction {
    /// The run's folder.
    pub run: PathBuf,
    /// Ten class probabilities, or why the run's checkpoint could not be used.
    pub probabilities: Result<Vec<f32>, String>,
}

/// The first convolution's filters at some step.
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    /// The step of the weights.
    pub step: u64,
    /// 32 filters of 5x5 weights, filter after filter.
    pub weights: Vec<f32>,
}
