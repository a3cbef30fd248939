//! The run picker (`b`): every run beside the current one, a cursor, and the runs chosen to
//! be overlaid on the charts.

use std::path::{Path, PathBuf};

use crate::run::listing::RunOverview;

/// One run the picker offers.
#[derive(Debug, Clone, PartialEq)]
pub struct PickerEntry {
    /// The run's folder name.
    pub name: String,
    /// The run's folder.
    pub path: PathBuf,
    /// Status, steps and accuracy in a few words.
    pub summary: String,
    /// Why it cannot be chosen (the run on screen, a damaged folder), if it cannot.
    pub unavailable: Option<&'static str>,
    /// Whether it is chosen for the overlay.
    pub chosen: bool,
}

/// The open run picker.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPicker {
    /// The folder listed.
    pub dir: PathBuf,
    entries: Vec<PickerEntry>,
    cursor: usize,
}

impl RunPicker {
    /// A picker over `runs` listed from `dir`; `current` is the run on screen (listed, not
    /// choosable) and `compared` the runs overlaid now (chosen from the start).
    pub fn new(
        dir: PathBuf,
        runs: Vec<RunOverview>,
        current: Option<&Path>,
        compared: &[PathBuf],
    ) -> Self {
        let same = |a: &Path, b: &Path| {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
        };
        let entries: Vec<PickerEntry> = runs
            .into_iter()
            .map(|run| {
                let unavailable = if current.is_some_and(|c| same(c, &run.path)) {
                    Some("on screen")
                } else if !run.status.is_run() {
                    Some("no records")
                } else {
                    None
                };
                let chosen = unavailable.is_none() && compared.iter().any(|c| same(c, &run.path));
                PickerEntry {
                    summary: summary(&run),
                    name: run.name,
                    path: run.path,
                    unavailable,
                    chosen,
                }
            })
            .collect();
        let cursor = entries
            .iter()
            .position(|e| e.unavailable.is_none())
            .unwrap_or(0);
        Self {
            dir,
            entries,
            cursor,
        }
    }

    /// The runs listed, in folder-name order.
    pub fn entries(&self) -> &[PickerEntry] {
        &self.entries
    }

    /// The row under the cursor.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Moves the cursor by `delta` rows, stopping at either end.
    pub fn move_cursor(&mut self, delta: isize) {
        let last = self.entries.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
    }

    /// Chooses the run under the cursor, or un-chooses it; says why when it cannot be chosen.
    pub fn toggle(&mut self) -> Result<(), String> {
        let Some(entry) = self.entries.get_mut(self.cursor) else {
            return Err("no runs to choose from".into());
        };
        if let Some(why) = entry.unavailable {
            return Err(format!("{} cannot be overlaid: {why}", entry.name));
        }
        entry.chosen = !entry.chosen;
        Ok(())
    }

    /// The folders of the chosen runs, in listing order.
    pub fn chosen(&self) -> Vec<PathBuf> {
        self.entries
            .iter()
            .filter(|e| e.chosen)
            .map(|e| e.path.clone())
            .collect()
    }
}

/// `finished · 20000/20000 · best 99.21%` (best on the validation split, or `best test` on
/// the test set for a run without one).
fn summary(run: &RunOverview) -> String {
    let mut parts = vec![run.status.label().to_string()];
    if run.status.is_run() {
        parts.push(match run.total_steps {
            Some(total) => format!("{}/{total}", run.steps_done),
            None => format!("{} steps", run.steps_done),
        });
    }
    if let Some(best) = run.best_accuracy {
        let on = if run.validation_images > 0 {
            ""
        } else {
            " test"
        };
        parts.push(format!("best{on} {:.2}%", best * 100.0));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::status::RunStatus;

    fn overview(name: &str, status: RunStatus) -> RunOverview {
        RunOverview {
            name: name.into(),
            path: PathBuf::from("runs").join(name),
            started_at: None,
            status,
            steps_done: 600,
            total_steps: Some(20_000),
            validation_images: 5_000,
            best_accuracy: Some(0.9512),
            final_test_accuracy: Some(0.95),
            test_looks: 1,
            wall_seconds: None,
            train_settings: Default::default(),
            differences: Vec::new(),
            latest_layers: None,
        }
    }

    fn picker() -> RunPicker {
        RunPicker::new(
            "runs".into(),
            vec![
                overview("a", RunStatus::Finished),
                overview("b", RunStatus::Running),
                overview(
                    "c",
                    RunStatus::Damaged {
                        reason: "bad".into(),
                    },
                ),
                overview("d", RunStatus::Stopped),
            ],
            Some(Path::new("runs/b")),
            &[PathBuf::from("runs/d")],
        )
    }

    #[test]
    fn the_current_and_damaged_runs_cannot_be_chosen() {
        let mut p = picker();
        assert_eq!(p.chosen(), [PathBuf::from("runs/d")]);
        p.move_cursor(1);
        let err = p.toggle().unwrap_err();
        assert!(err.contains("on screen"), "{err}");
        p.move_cursor(1);
        assert!(p.toggle().unwrap_err().contains("no records"));
        assert_eq!(p.chosen(), [PathBuf::from("runs/d")]);
    }

    #[test]
    fn toggling_chooses_and_unchooses_in_listing_order() {
        let mut p = picker();
        p.toggle().unwrap();
        assert_eq!(
            p.chosen(),
            [PathBuf::from("runs/a"), PathBuf::from("runs/d")]
        );
        p.move_cursor(10);
        assert_eq!(p.cursor(), 3);
        p.toggle().unwrap();
        assert_eq!(p.chosen(), [PathBuf::from("runs/a")]);
        p.move_cursor(-10);
        assert_eq!(p.cursor(), 0);
    }

    #[test]
    fn the_summary_names_status_steps_and_best_accuracy() {
        let p = picker();
        assert_eq!(p.entries()[0].summary, "finished · 600/20000 · best 95.12%");
        assert_eq!(p.entries()[2].summary, "damaged · best 95.12%");
    }

    #[test]
    fn an_empty_listing_says_so_on_toggle() {
        let mut p = RunPicker::new("runs".into(), Vec::new(), None, &[]);
        p.move_cursor(1);
        assert_eq!(p.cursor(), 0);
        assert!(p.toggle().is_err());
        assert!(p.chosen().is_empty());
    }
}
