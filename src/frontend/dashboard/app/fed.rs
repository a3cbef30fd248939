//! The training images as the network was fed them (augmented when augmentation is on), shown
//! in the digit panel instead of the test digits while `f` has it on.

use std::time::Duration;

use crate::data::Split;
use crate::train::TrainingBatch;

/// How often a fresh batch is asked for while the view is on and training moves.
pub const BATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Whether the fed images are shown, the latest batch received, and the image looked at.
#[derive(Debug, Clone, Default)]
pub struct FedImages {
    on: bool,
    batch: Option<TrainingBatch>,
    index: usize,
    requested_at: Option<Duration>,
}

/// One fed image, for drawing.
#[derive(Debug, Clone, Copy)]
pub struct FedView<'a> {
    /// The step that trained on it.
    pub step: u64,
    /// Its place in the batch.
    pub index: usize,
    /// Images in the batch.
    pub total: usize,
    /// Its 784 pixels as fed, quantised to bytes.
    pub pixels: &'a [u8],
    /// Its label.
    pub label: u8,
}

impl FedImages {
    /// Turns the view on or off.
    pub fn toggle(&mut self) {
        self.on = !self.on;
        self.requested_at = None;
    }

    /// Whether the digit panel shows fed images.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Takes a batch from the trainer, keeping the place in it where the batch is as large.
    pub fn take(&mut self, batch: TrainingBatch) {
        self.index = self.index.min(batch.images.len().saturating_sub(1));
        self.batch = Some(batch);
    }

    /// The step of the batch held, if any.
    pub fn step(&self) -> Option<u64> {
        self.batch.as_ref().map(|b| b.step)
    }

    /// Whether to ask for a batch at `now`, the view being on and `steps_done` newer than the
    /// batch held: at most once per [`BATCH_INTERVAL`]. Notes the request when it is due.
    pub fn request_due(&mut self, steps_done: u64, now: Duration) -> bool {
        let stale = self.step() != Some(steps_done) && steps_done > 0;
        let due = self.on
            && stale
            && self
                .requested_at
                .is_none_or(|then| now.saturating_sub(then) >= BATCH_INTERVAL);
        if due {
            self.requested_at = Some(now);
        }
        due
    }

    /// Moves `delta` images on or back, wrapping around the batch.
    pub fn move_by(&mut self, delta: isize) {
        let Some(len) = self.images().map(Split::len).filter(|&n| n > 0) else {
            return;
        };
        self.index = (self.index as isize + delta).rem_euclid(len as isize) as usize;
    }

    /// The image looked at, once a batch has arrived.
    pub fn current(&self) -> Option<FedView<'_>> {
        let batch = self.batch.as_ref()?;
        let images = &batch.images;
        (self.index < images.len()).then(|| FedView {
            step: batch.step,
            index: self.index,
            total: images.len(),
            pixels: images.image(self.index),
            label: images.label(self.index),
        })
    }

    fn images(&self) -> Option<&Split> {
        self.batch.as_ref().map(|b| b.images.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::data::IMAGE_PIXELS;

    fn batch(step: u64, labels: &[u8]) -> TrainingBatch {
        let images = labels
            .iter()
            .flat_map(|&l| vec![l * 20; IMAGE_PIXELS])
            .collect();
        TrainingBatch {
            step,
            images: Arc::new(Split::new(images, labels.to_vec()).unwrap()),
        }
    }

    #[test]
    fn batches_are_asked_for_only_while_on_and_stale_at_most_once_a_second() {
        let mut fed = FedImages::default();
        assert!(!fed.request_due(5, Duration::ZERO), "off");
        fed.toggle();
        assert!(!fed.request_due(0, Duration::ZERO), "no step taken yet");
        assert!(fed.request_due(5, Duration::from_millis(10)));
        assert!(!fed.request_due(6, Duration::from_millis(500)), "too soon");
        fed.take(batch(6, &[1, 2]));
        assert!(!fed.request_due(6, Duration::from_secs(3)), "up to date");
        assert!(fed.request_due(9, Duration::from_secs(3)));
    }

    #[test]
    fn browsing_wraps_around_the_batch_and_shows_label_and_pixels() {
        let mut fed = FedImages::default();
        assert!(fed.current().is_none());
        fed.move_by(1);
        fed.take(batch(3, &[4, 7, 9]));
        fed.move_by(-1);
        let view = fed.current().unwrap();
        assert_eq!(
            (view.index, view.total, view.label, view.step),
            (2, 3, 9, 3)
        );
        assert_eq!(view.pixels[0], 180);
        fed.move_by(2);
        assert_eq!(fed.current().unwrap().label, 7);
        fed.take(batch(4, &[5]));
        assert_eq!(
            fed.current().unwrap().index,
            0,
            "clamped to the smaller batch"
        );
    }
}
