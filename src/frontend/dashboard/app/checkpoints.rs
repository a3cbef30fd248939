//! The checkpoint picker (`k`, on a watched run): the run's checkpoints newest first, with
//! the automatic choice above them, a cursor, and the one the inspector shows now.

use crate::run::record::{EvalSplit, Evaluation};
use crate::run::CheckpointKind;
use crate::train::CheckpointChoice;

/// What a checkpoint is to its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointRole {
    /// Written at the best evaluation.
    Best,
    /// Written every `run.checkpoint_every` steps.
    Periodic,
    /// Written when the run finished: its final weights.
    Final,
}

impl CheckpointRole {
    /// The word the picker shows.
    pub fn label(self) -> &'static str {
        match self {
            CheckpointRole::Best => "best",
            CheckpointRole::Periodic => "periodic",
            CheckpointRole::Final => "final",
        }
    }
}

/// One checkpoint the picker offers.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointEntry {
    /// Which checkpoint.
    pub choice: CheckpointChoice,
    /// Best, periodic or final.
    pub role: CheckpointRole,
    /// Accuracy of the run's evaluation at its step on the split choices are made on, when
    /// there was one.
    pub accuracy: Option<f64>,
}

/// The open checkpoint picker. Row 0 is the automatic choice; row `i + 1` is entry `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointPicker {
    entries: Vec<CheckpointEntry>,
    cursor: usize,
    shown: Option<CheckpointChoice>,
    split: EvalSplit,
}

impl CheckpointPicker {
    /// A picker over `found` (the run's checkpoints, in any order). `evaluations` are the
    /// run's on `split`, for the accuracy at each step; `final_step` is the last step of a
    /// finished run; `shown` is the checkpoint pinned now (`None`: the automatic choice),
    /// where the cursor starts.
    pub fn new(
        mut found: Vec<CheckpointChoice>,
        evaluations: &[Evaluation],
        split: EvalSplit,
        final_step: Option<u64>,
        shown: Option<CheckpointChoice>,
    ) -> Self {
        // Newest first; at one step the best before the periodic one.
        found.sort_by_key(|c| (std::cmp::Reverse(c.step), c.kind != CheckpointKind::Best));
        found.dedup();
        let entries: Vec<CheckpointEntry> = found
            .into_iter()
            .map(|choice| CheckpointEntry {
                role: match choice.kind {
                    CheckpointKind::Best => CheckpointRole::Best,
                    CheckpointKind::Periodic if Some(choice.step) == final_step => {
                        CheckpointRole::Final
                    }
                    CheckpointKind::Periodic => CheckpointRole::Periodic,
                },
                accuracy: evaluations
                    .iter()
                    .rev()
                    .find(|e| e.step == choice.step && e.split == split)
                    .map(|e| e.accuracy),
                choice,
            })
            .collect();
        let cursor = shown
            .and_then(|s| entries.iter().position(|e| e.choice == s))
            .map_or(0, |i| i + 1);
        Self {
            entries,
            cursor,
            shown,
            split,
        }
    }

    /// The checkpoints listed, newest first.
    pub fn entries(&self) -> &[CheckpointEntry] {
        &self.entries
    }

    /// The row under the cursor (0: the automatic choice).
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The checkpoint the inspector shows now (`None`: the automatic choice).
    pub fn shown(&self) -> Option<CheckpointChoice> {
        self.shown
    }

    /// The split whose accuracy the rows show.
    pub fn split(&self) -> EvalSplit {
        self.split
    }

    /// Moves the cursor by `delta` rows, stopping at either end.
    pub fn move_cursor(&mut self, delta: isize) {
        self.cursor = self
            .cursor
            .saturating_add_signed(delta)
            .min(self.entries.len());
    }

    /// What the row under the cursor stands for: a checkpoint, or `None` for the automatic
    /// choice.
    pub fn under_cursor(&self) -> Option<CheckpointChoice> {
        let index = self.cursor.checked_sub(1)?;
        self.entries.get(index).map(|e| e.choice)
    }
}

/// How the pages and the flash name a checkpoint: `best checkpoint @200`, `checkpoint @300`.
pub fn checkpoint_title(choice: CheckpointChoice) -> String {
    match choice.kind {
        CheckpointKind::Best => format!("best checkpoint @{}", choice.step),
        CheckpointKind::Periodic => format!("checkpoint @{}", choice.step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(kind: CheckpointKind, step: u64) -> CheckpointChoice {
        CheckpointChoice { kind, step }
    }

    fn evaluation(step: u64, accuracy: f64, split: EvalSplit) -> Evaluation {
        Evaluation {
            step,
            accuracy,
            split,
            loss: 0.1,
            seconds: 1.0,
            checkpoint: None,
            probabilities: Default::default(),
        }
    }

    #[test]
    fn rows_are_newest_first_with_their_role_and_accuracy() {
        let picker = CheckpointPicker::new(
            vec![
                choice(CheckpointKind::Periodic, 100),
                choice(CheckpointKind::Periodic, 300),
                choice(CheckpointKind::Best, 200),
                choice(CheckpointKind::Periodic, 200),
            ],
            &[
                evaluation(200, 0.9, EvalSplit::Validation),
                evaluation(300, 0.5, EvalSplit::Test),
            ],
            EvalSplit::Validation,
            Some(300),
            None,
        );
        let rows: Vec<(u64, CheckpointRole, Option<f64>)> = picker
            .entries()
            .iter()
            .map(|e| (e.choice.step, e.role, e.accuracy))
            .collect();
        assert_eq!(
            rows,
            [
                (300, CheckpointRole::Final, None),
                (200, CheckpointRole::Best, Some(0.9)),
                (200, CheckpointRole::Periodic, Some(0.9)),
                (100, CheckpointRole::Periodic, None),
            ]
        );
        assert_eq!(picker.cursor(), 0);
        assert_eq!(picker.under_cursor(), None, "row 0 is the automatic choice");
    }

    #[test]
    fn the_cursor_starts_on_the_shown_checkpoint_and_stops_at_the_ends() {
        let shown = choice(CheckpointKind::Periodic, 100);
        let mut picker = CheckpointPicker::new(
            vec![choice(CheckpointKind::Periodic, 200), shown],
            &[],
            EvalSplit::Test,
            None,
            Some(shown),
        );
        assert_eq!(picker.cursor(), 2);
        assert_eq!(picker.under_cursor(), Some(shown));
        picker.move_cursor(5);
        assert_eq!(picker.cursor(), 2);
        picker.move_cursor(-9);
        assert_eq!(picker.under_cursor(), None);
    }
}
