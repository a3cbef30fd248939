//! The worst-loss gallery of the Inspect page (fastai's "top losses"): the images of the shown
//! set ranked by their loss under the latest predictions, worst first, and the one selected.

use crate::data::CLASSES;
use crate::model::score::argmax;

/// Images the gallery ranks at most: the worst of the set.
pub const GALLERY_SIZE: usize = 100;
/// Tiles a row of the grid until the screen says how many fit.
const DEFAULT_COLUMNS: usize = 4;

/// One image of the ranking with what the predictions say about it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// Its index in the set.
    pub index: usize,
    /// Its true class.
    pub label: u8,
    /// The most probable class.
    pub predicted: u8,
    /// The probability of the predicted class.
    pub probability: f32,
    /// Its cross-entropy loss, `-ln p(true class)`.
    pub loss: f32,
}

/// The ranking of one evaluation and the selection in it.
#[derive(Debug, Clone, Default)]
pub struct Gallery {
    on: bool,
    step: Option<u64>,
    ranking: Vec<Ranked>,
    selected: usize,
    columns: usize,
}

/// The loss of an image whose true class got probability `p`; a zero probability counts as
/// the smallest positive one, so the loss stays finite.
fn cross_entropy(p: f32) -> f32 {
    let p = if p.is_finite() { p } else { 0.0 };
    -p.max(f32::MIN_POSITIVE).ln()
}

impl Gallery {
    /// Ranks the images of an evaluation after `step`: `probabilities` holds [`CLASSES`]
    /// values per image, in the order of `labels`. The selection goes back to the worst.
    pub fn rank(&mut self, step: u64, probabilities: &[f32], labels: &[u8]) {
        let mut ranking: Vec<Ranked> = probabilities
            .chunks_exact(CLASSES)
            .zip(labels)
            .enumerate()
            .map(|(index, (row, &label))| {
                let predicted = argmax(row);
                Ranked {
                    index,
                    label,
                    // A class index below CLASSES (10), so it fits a u8.
                    predicted: predicted as u8,
                    probability: row[predicted],
                    loss: cross_entropy(row[usize::from(label) % CLASSES]),
                }
            })
            .collect();
        // Worst first; equal losses keep the set's order.
        ranking.sort_by(|a, b| b.loss.total_cmp(&a.loss).then(a.index.cmp(&b.index)));
        ranking.truncate(GALLERY_SIZE);
        self.ranking = ranking;
        self.step = Some(step);
        self.selected = 0;
    }

    /// Forgets the ranking (its set is no longer the one shown).
    pub fn clear(&mut self) {
        self.ranking.clear();
        self.step = None;
        self.selected = 0;
    }

    /// Whether the gallery is shown in place of the confusion matrix.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Shows the gallery, or the confusion matrix again.
    pub fn toggle(&mut self) {
        self.on = !self.on;
    }

    /// The step of the evaluation ranked, if any.
    pub fn step(&self) -> Option<u64> {
        self.step
    }

    /// The worst images, worst first.
    pub fn ranking(&self) -> &[Ranked] {
        &self.ranking
    }

    /// The place of the selected image in the ranking.
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The selected image, if anything is ranked.
    pub fn selected_image(&self) -> Option<&Ranked> {
        self.ranking.get(self.selected)
    }

    /// Selects the image at `position` of the ranking, if there is one there.
    pub fn select(&mut self, position: usize) {
        if position < self.ranking.len() {
            self.selected = position;
        }
    }

    /// Tiles a row of the grid as last drawn.
    pub fn columns(&self) -> usize {
        if self.columns == 0 {
            DEFAULT_COLUMNS
        } else {
            self.columns
        }
    }

    /// Notes how many tiles a row of the grid holds on the screen (the frame loop calls this
    /// after each frame), so that up and down move by a row.
    pub fn set_columns(&mut self, columns: usize) {
        self.columns = columns;
    }

    /// Moves the selection by `rows` rows of the grid and `columns` tiles, stopping at either
    /// end of the ranking. Returns false when nothing is ranked.
    pub fn move_selection(&mut self, rows: isize, columns: isize) -> bool {
        let Some(last) = self.ranking.len().checked_sub(1) else {
            return false;
        };
        let delta = rows * self.columns() as isize + columns;
        self.selected = (self.selected as isize + delta).clamp(0, last as isize) as usize;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Probabilities for `rows` of (label, p of the true class, predicted class, its p).
    fn scored(rows: &[(u8, f32, u8, f32)]) -> (Vec<f32>, Vec<u8>) {
        let mut p = vec![0.0f32; rows.len() * CLASSES];
        for (i, &(label, p_true, predicted, p_pred)) in rows.iter().enumerate() {
            p[i * CLASSES + usize::from(label)] = p_true;
            p[i * CLASSES + usize::from(predicted)] = p_pred;
        }
        (p, rows.iter().map(|r| r.0).collect())
    }

    #[test]
    fn images_are_ranked_by_the_loss_of_their_true_class_worst_first() {
        let (p, labels) = scored(&[
            (3, 0.9, 3, 0.9),
            (5, 0.05, 6, 0.9),
            (1, 0.4, 7, 0.6),
            (2, 0.0, 8, 1.0),
        ]);
        let mut gallery = Gallery::default();
        gallery.rank(300, &p, &labels);
        let order: Vec<usize> = gallery.ranking().iter().map(|r| r.index).collect();
        assert_eq!(order, [3, 1, 2, 0]);
        let second = gallery.ranking()[1];
        assert_eq!((second.label, second.predicted), (5, 6));
        assert!((second.loss - (-(0.05f32).ln())).abs() < 1e-6);
        assert!((second.probability - 0.9).abs() < 1e-6);
        assert!(gallery.ranking()[0].loss.is_finite(), "p = 0 stays finite");
        assert_eq!(gallery.step(), Some(300));
    }

    #[test]
    fn the_ranking_keeps_the_worst_hundred() {
        let rows: Vec<(u8, f32, u8, f32)> = (0..150)
            .map(|i| (0, 0.9 - i as f32 * 0.005, 0, 0.9 - i as f32 * 0.005))
            .collect();
        let (p, labels) = scored(&rows);
        let mut gallery = Gallery::default();
        gallery.rank(1, &p, &labels);
        assert_eq!(gallery.ranking().len(), GALLERY_SIZE);
        assert_eq!(gallery.ranking()[0].index, 149);
        assert_eq!(gallery.ranking()[GALLERY_SIZE - 1].index, 50);
    }

    #[test]
    fn the_selection_moves_by_tiles_and_rows_and_stops_at_the_ends() {
        let mut gallery = Gallery::default();
        assert!(!gallery.move_selection(0, 1), "nothing ranked");
        let rows: Vec<(u8, f32, u8, f32)> = (0..10).map(|i| (1, 0.1 * i as f32, 1, 0.5)).collect();
        let (p, labels) = scored(&rows);
        gallery.rank(1, &p, &labels);
        gallery.set_columns(3);
        assert!(gallery.move_selection(1, 0));
        assert_eq!(gallery.selected(), 3);
        gallery.move_selection(0, 1);
        assert_eq!(gallery.selected(), 4);
        gallery.move_selection(5, 0);
        assert_eq!(gallery.selected(), 9, "stops at the last");
        gallery.move_selection(-9, -9);
        assert_eq!(gallery.selected(), 0, "stops at the first");
        assert_eq!(gallery.selected_image().map(|r| r.index), Some(0));
        gallery.clear();
        assert!(gallery.selected_image().is_none());
    }
}
