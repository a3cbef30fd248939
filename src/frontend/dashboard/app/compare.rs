//! Runs overlaid on the charts for comparison: their curves, a stable colour each, and the
//! settings in which they differ from the run on screen.

use super::series::Series;
use crate::config::Config;
use crate::run::history::RunHistory;
use crate::run::listing::train_settings;
use crate::run::metrics::Column;
use crate::run::record::Evaluation;

/// A run drawn beside the current one.
#[derive(Debug, Clone)]
pub struct ComparedRun {
    /// The run's folder name.
    pub name: String,
    /// The run's folder.
    pub path: std::path::PathBuf,
    /// Its loss per step.
    pub loss: Series,
    /// Its batch accuracy per step.
    pub accuracy: Series,
    /// Its evaluations on the split it chose by, as the run stands (those of stretches a
    /// rollback or resume abandoned are left out).
    pub evaluations: Vec<Evaluation>,
    /// Its settings, when its `config.toml` could be read.
    pub config: Option<Config>,
    /// Its place in the palette of run colours, kept while it stays on the charts.
    pub colour: usize,
}

impl ComparedRun {
    /// The curves of a run read back from its folder.
    pub fn from_history(history: &RunHistory) -> Self {
        let metrics = history.metrics();
        let series = |column| {
            let mut series = Series::default();
            let mut points = metrics.points(column).peekable();
            let start = points.peek().map_or(0, |&(step, _)| step.saturating_sub(1));
            series.start_at(start);
            let mut next = start + 1;
            for (step, value) in points {
                // Steps without a finite value stay gaps in the chart.
                while next < step {
                    series.push(f32::NAN);
                    next += 1;
                }
                series.push(value as f32);
                next = step + 1;
            }
            series
        };
        let events = history.events();
        let evaluations = events
            .evaluations()
            .filter(|e| e.split == events.choosing_split())
            .cloned()
            .collect();
        Self {
            name: history.name(),
            path: history.run().path().to_path_buf(),
            loss: series(Column::Loss),
            accuracy: series(Column::Accuracy),
            evaluations,
            config: history.config().cloned(),
            colour: 0,
        }
    }

    /// The `[train]` settings in which this run differs from `current`: (key, theirs, ours).
    pub fn differences(&self, current: &Config) -> Vec<(String, String, String)> {
        let Some(theirs) = &self.config else {
            return vec![("config".into(), "unreadable".into(), String::new())];
        };
        let ours = train_settings(current);
        train_settings(theirs)
            .into_iter()
            .filter_map(|(key, value)| {
                let mine = ours.get(&key)?;
                (*mine != value).then(|| (key, value, mine.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_train_keys_that_differ() {
        let mut theirs = Config::default();
        theirs.train.learning_rate = 1e-3;
        theirs.train.batch_size = 128;
        let run = ComparedRun {
            name: "a".into(),
            path: "runs/a".into(),
            loss: Series::default(),
            accuracy: Series::default(),
            evaluations: Vec::new(),
            config: Some(theirs),
            colour: 0,
        };
        let diff = run.differences(&Config::default());
        let keys: Vec<&str> = diff.iter().map(|d| d.0.as_str()).collect();
        assert_eq!(keys, ["batch_size", "learning_rate"]);
        assert_eq!(diff[0], ("batch_size".into(), "128".into(), "50".into()));
        assert!(ComparedRun {
            config: None,
            ..run
        }
        .differences(&Config::default())[0]
            .1
            .contains("unreadable"));
    }
}
