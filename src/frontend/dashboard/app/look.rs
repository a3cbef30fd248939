//! What the dashboard knows about the inside of the network: the weights' step, the
//! inspector's latest answers, the confusion matrix and the Inspect page's selections.

use std::time::Duration;

use super::confusion::Confusion;
use super::gallery::Gallery;
use super::inspection::{DigitInsight, DigitRef, DrawingInsight, Filters, Insight};
use crate::data::CLASSES;

/// The shortest time between two requests for fresh weights while training runs: live
/// predictions and filters follow training every two seconds. Each copy costs the trainer
/// one copy of the tensors its next update writes, and the inspector a pass that reads the
/// whole network (the dense layer's 12.8 MB for a single digit), both taken from training.
pub const WEIGHTS_INTERVAL: Duration = Duration::from_secs(2);

/// Which block's feature maps the Inspect page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivationLayer {
    /// conv1: 32 maps of 14x14 after pooling.
    #[default]
    Conv1,
    /// conv2: 64 maps of 7x7 after pooling.
    Conv2,
}

impl ActivationLayer {
    /// The other layer.
    pub fn toggled(self) -> Self {
        match self {
            ActivationLayer::Conv1 => ActivationLayer::Conv2,
            ActivationLayer::Conv2 => ActivationLayer::Conv1,
        }
    }
}

/// The inspection state.
#[derive(Debug, Clone, Default)]
pub struct Look {
    weights_step: Option<u64>,
    checkpoint: Option<String>,
    weights_requested_at: Option<Duration>,
    digit: Option<DigitInsight>,
    drawing: Option<DrawingInsight>,
    filters: Option<Filters>,
    confusion: Option<Confusion>,
    gallery: Gallery,
    cell: (usize, usize),
    cell_position: usize,
    saliency: bool,
    layer: ActivationLayer,
    last_digit_job: Option<(DigitRef, bool, bool)>,
    last_drawing_job: Option<(u64, Vec<std::path::PathBuf>)>,
}

impl Look {
    /// The step of the newest weights the inspector has.
    pub fn weights_step(&self) -> Option<u64> {
        self.weights_step
    }

    /// Notes that weights of `step` reached the inspector.
    pub fn weights_arrived(&mut self, step: u64) {
        self.weights_step = Some(step);
    }

    /// Notes that the weights that come next are loaded from the checkpoint `folder` (a
    /// watched run's).
    pub fn checkpoint_loaded(&mut self, folder: &std::path::Path) {
        self.checkpoint = folder
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
    }

    /// The checkpoint the weights come from, as the pages name it (`best checkpoint @200`,
    /// `checkpoint @300`); `None` for the weights of a live trainer.
    pub fn checkpoint(&self) -> Option<String> {
        let name = self.checkpoint.as_deref()?;
        let step = crate::run::RunDir::checkpoint_step(std::path::Path::new(name))?;
        let kind = if name.starts_with("best") {
            crate::run::CheckpointKind::Best
        } else {
            crate::run::CheckpointKind::Periodic
        };
        Some(super::checkpoints::checkpoint_title(
            crate::train::CheckpointChoice { kind, step },
        ))
    }

    /// Whether fresh weights may be asked for at `now`; if so, notes the request.
    pub fn weights_request_due(&mut self, now: Duration) -> bool {
        let due = self
            .weights_requested_at
            .is_none_or(|then| now.saturating_sub(then) >= WEIGHTS_INTERVAL);
        if due {
            self.weights_requested_at = Some(now);
        }
        due
    }

    /// Whether a digit job with `key` (digit, activations, occlusion) differs from the last
    /// one sent; if so, notes it as sent.
    pub fn digit_job_due(&mut self, key: (DigitRef, bool, bool)) -> bool {
        let due = self.last_digit_job != Some(key);
        self.last_digit_job = Some(key);
        due
    }

    /// Whether drawing `version` has not been sent yet with the runs `compared` overlaid;
    /// if so, notes it as sent.
    pub fn drawing_job_due(&mut self, version: u64, compared: &[std::path::PathBuf]) -> bool {
        let due = self
            .last_drawing_job
            .as_ref()
            .is_none_or(|(v, c)| *v != version || c != compared);
        if due {
            self.last_drawing_job = Some((version, compared.to_vec()));
        }
        due
    }

    /// Takes in an answer of the inspector.
    pub fn take(&mut self, insight: Insight) {
        match insight {
            Insight::Digit(d) => self.digit = Some(d),
            Insight::Drawing(d) => self.drawing = Some(d),
            Insight::Filters(f) => self.filters = Some(f),
        }
    }

    /// The latest answer about `digit`, if the latest answer is about it.
    pub fn digit(&self, digit: DigitRef) -> Option<&DigitInsight> {
        self.digit.as_ref().filter(|d| d.digit == digit)
    }

    /// The latest answer about the drawing (possibly of an older version).
    pub fn drawing(&self) -> Option<&DrawingInsight> {
        self.drawing.as_ref()
    }

    /// The first layer's filters of the newest weights.
    pub fn filters(&self) -> Option<&Filters> {
        self.filters.as_ref()
    }

    /// The confusion matrix of the latest evaluation.
    pub fn confusion(&self) -> Option<&Confusion> {
        self.confusion.as_ref()
    }

    /// Takes the confusion matrix of a new evaluation; the cell browser starts over.
    pub fn set_confusion(&mut self, confusion: Confusion) {
        self.confusion = Some(confusion);
        self.cell_position = 0;
    }

    /// Forgets the confusion matrix and the worst-loss ranking (their set is no longer the
    /// one shown).
    pub fn clear_confusion(&mut self) {
        self.confusion = None;
        self.cell_position = 0;
        self.gallery.clear();
    }

    /// The worst-loss gallery.
    pub fn gallery(&self) -> &Gallery {
        &self.gallery
    }

    /// The worst-loss gallery, to rank, toggle or move in.
    pub fn gallery_mut(&mut self) -> &mut Gallery {
        &mut self.gallery
    }

    /// The selected cell: (true class, predicted class).
    pub fn cell(&self) -> (usize, usize) {
        self.cell
    }

    /// Selects a cell.
    pub fn select_cell(&mut self, truth: usize, predicted: usize) {
        self.cell = (truth.min(CLASSES - 1), predicted.min(CLASSES - 1));
        self.cell_position = 0;
    }

    /// Moves the selection by rows and columns, wrapping around.
    pub fn move_cell(&mut self, rows: isize, columns: isize) {
        let wrap = |v: usize, d: isize| (v as isize + d).rem_euclid(CLASSES as isize) as usize;
        self.select_cell(wrap(self.cell.0, rows), wrap(self.cell.1, columns));
    }

    /// Which of the cell's images is shown.
    pub fn cell_position(&self) -> usize {
        self.cell_position
    }

    /// Shows the next (or previous) image of the cell, wrapping around. Returns false when the
    /// cell is empty.
    pub fn browse_cell(&mut self, delta: isize) -> bool {
        let count = self
            .confusion
            .as_ref()
            .map_or(0, |c| c.count(self.cell.0, self.cell.1));
        if count == 0 {
            return false;
        }
        self.cell_position =
            (self.cell_position as isize + delta).rem_euclid(count as isize) as usize;
        true
    }

    /// Whether the occlusion map is laid over the shown digit.
    pub fn saliency(&self) -> bool {
        self.saliency
    }

    /// Turns the occlusion overlay on or off.
    pub fn toggle_saliency(&mut self) {
        self.saliency = !self.saliency;
    }

    /// The layer whose feature maps are shown.
    pub fn layer(&self) -> ActivationLayer {
        self.layer
    }

    /// Shows the other layer's feature maps.
    pub fn toggle_layer(&mut self) {
        self.layer = self.layer.toggled();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Split, IMAGE_PIXELS};

    fn look_with_cell_images() -> Look {
        // Labels 7, 7, 7, 1; all predicted 1: cell (7, 1) holds images 0, 1 and 2.
        let labels = vec![7u8, 7, 7, 1];
        let test = Split::new(vec![0; 4 * IMAGE_PIXELS], labels).unwrap();
        let mut probabilities = vec![0.0f32; 4 * CLASSES];
        for row in probabilities.chunks_mut(CLASSES) {
            row[1] = 1.0;
        }
        let mut look = Look::default();
        look.set_confusion(Confusion::new(10, &probabilities, &test));
        look
    }

    #[test]
    fn selecting_a_cell_browses_exactly_its_images_and_wraps() {
        let mut look = look_with_cell_images();
        look.select_cell(7, 1);
        let images = look.confusion().unwrap().images(7, 1).to_vec();
        assert_eq!(images, [0, 1, 2]);
        assert_eq!(look.cell_position(), 0);
        assert!(look.browse_cell(1));
        assert!(look.browse_cell(1));
        assert_eq!(look.cell_position(), 2);
        assert!(look.browse_cell(1));
        assert_eq!(look.cell_position(), 0, "wraps after the last image");
        assert!(look.browse_cell(-1));
        assert_eq!(look.cell_position(), 2);
        look.select_cell(7, 7);
        assert!(!look.browse_cell(1), "an empty cell has nothing to browse");
    }

    #[test]
    fn a_loaded_checkpoint_is_named_by_its_kind_and_step() {
        let mut look = Look::default();
        assert_eq!(look.checkpoint(), None, "a live trainer's weights");
        look.checkpoint_loaded(std::path::Path::new("run/checkpoints/best-step-00000020"));
        assert_eq!(look.checkpoint().as_deref(), Some("best checkpoint @20"));
        look.checkpoint_loaded(std::path::Path::new("run/checkpoints/step-00000300"));
        assert_eq!(look.checkpoint().as_deref(), Some("checkpoint @300"));
    }

    #[test]
    fn the_selection_moves_with_wrapping() {
        let mut look = Look::default();
        look.move_cell(-1, 0);
        assert_eq!(look.cell(), (9, 0));
        look.move_cell(0, -1);
        assert_eq!(look.cell(), (9, 9));
        look.move_cell(1, 2);
        assert_eq!(look.cell(), (0, 1));
    }

    #[test]
    fn weights_are_asked_for_at_most_every_interval() {
        let mut look = Look::default();
        let first = Duration::from_millis(100);
        assert!(look.weights_request_due(first));
        let next = first + WEIGHTS_INTERVAL;
        assert!(!look.weights_request_due(next - Duration::from_millis(1)));
        assert!(look.weights_request_due(next));
    }

    #[test]
    fn jobs_are_due_only_when_their_inputs_change() {
        let mut look = Look::default();
        let digit = |index| DigitRef {
            set: crate::run::record::EvalSplit::Validation,
            index,
        };
        assert!(look.digit_job_due((digit(3), false, false)));
        assert!(!look.digit_job_due((digit(3), false, false)));
        assert!(look.digit_job_due((digit(3), true, false)));
        let test = DigitRef {
            set: crate::run::record::EvalSplit::Test,
            index: 3,
        };
        assert!(
            look.digit_job_due((test, true, false)),
            "another set's digit 3"
        );
        assert!(look.drawing_job_due(1, &[]));
        assert!(!look.drawing_job_due(1, &[]));
        assert!(
            look.drawing_job_due(1, &["runs/a".into()]),
            "a run overlaid"
        );
    }
}
