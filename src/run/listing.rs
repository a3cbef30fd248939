//! Every run under a folder, told in a line each: what `digitdash runs` lists.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::dir::RunDir;
use super::history::{HistoryError, RunHistory};
use super::layers::LayerStats;
use super::metrics::Detail;
use super::record::Record;
use super::status::RunStatus;
use super::tail::{TailError, MAX_LINE_BYTES};

/// One run of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOverview {
    /// The folder's name.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
    /// When it started ([`RunHistory::started_at`]).
    pub started_at: Option<Timestamp>,
    /// Where it stands.
    pub status: RunStatus,
    /// Steps done.
    pub steps_done: u64,
    /// Steps it is set to take.
    pub total_steps: Option<u64>,
    /// Images it held out as its validation split (0: none; it chose by the test set).
    pub validation_images: usize,
    /// Best accuracy on the split it chose by (validation, or test without one).
    pub best_accuracy: Option<f64>,
    /// Latest test accuracy.
    pub final_test_accuracy: Option<f64>,
    /// Times it scored its test set.
    pub test_looks: u64,
    /// Seconds since it first started, at its last row.
    pub wall_seconds: Option<f64>,
    /// Its `[train]` settings as `key = value` text, by key (empty when its config is unread).
    pub train_settings: BTreeMap<String, String>,
    /// The `[train]` settings in which it differs from the other runs listed with it.
    pub differences: Vec<(String, String)>,
    /// Its newest layer statistics (`layers.jsonl`), if it recorded any.
    pub latest_layers: Option<LayerStats>,
}

impl RunOverview {
    /// The overview of the run in `run`; a folder that cannot be read is listed as damaged.
    pub fn of(run: RunDir) -> Self {
        let name = run.path().file_name().map_or_else(
            || run.path().display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let path = run.path().to_path_buf();
        let latest_layers = latest_layers(&run.layers_file());
        match RunHistory::open(run, Detail::Summary) {
            Ok(history) => Self {
                started_at: history.started_at(),
                status: history.status(),
                steps_done: history.steps_done(),
                total_steps: history.total_steps(),
                validation_images: history.events().validation_images(),
                best_accuracy: history.best_accuracy(),
                final_test_accuracy: history.final_test_accuracy(),
                test_looks: history.events().test_looks(),
                wall_seconds: history.wall_seconds(),
                train_settings: history.config().map(train_settings).unwrap_or_default(),
                differences: Vec::new(),
                latest_layers,
                name,
                path,
            },
            Err(error) => Self {
                started_at: None,
                status: RunStatus::Damaged {
                    reason: error.to_string(),
                },
                steps_done: 0,
                total_steps: None,
                validation_images: 0,
                best_accuracy: None,
                final_test_accuracy: None,
                test_looks: 0,
                wall_seconds: None,
                train_settings: BTreeMap::new(),
                differences: Vec::new(),
                latest_layers,
                name,
                path,
            },
        }
    }
}

/// The newest layer statistics of a `layers.jsonl`: its last whole line that is one, read
/// from the file's end (never more than [`MAX_LINE_BYTES`]), so a long run's file is not read
/// whole.
pub fn latest_layers(path: &Path) -> Option<LayerStats> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(MAX_LINE_BYTES)))
        .ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    tail.split(|&b| b == b'\n')
        .rev()
        .find_map(|line| match Record::from_json_line(line)? {
            Record::Layers(stats) => Some(stats),
            _ => None,
        })
}

/// Every folder under `parent` (hidden ones aside), by name, read as a run, with the settings
/// in which each differs from the others filled in; or, when `parent` is itself a run's
/// folder, that run alone.
pub fn list_runs(parent: &Path) -> Result<Vec<RunOverview>, HistoryError> {
    if !parent.is_dir() {
        return Err(HistoryError::NotAFolder {
            path: parent.to_path_buf(),
        });
    }
    let itself = RunDir::new(parent);
    if itself.holds_run() || itself.config_file().is_file() {
        return Ok(vec![RunOverview::of(itself)]);
    }
    let entries = std::fs::read_dir(parent).map_err(|source| TailError {
        path: parent.to_path_buf(),
        source,
    })?;
    let mut folders: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let mut runs: Vec<RunOverview> = folders
        .into_iter()
        .map(|p| RunOverview::of(RunDir::new(p)))
        .collect();
    let differences =
        setting_differences(&runs.iter().map(|r| &r.train_settings).collect::<Vec<_>>());
    for (run, differences) in runs.iter_mut().zip(differences) {
        run.differences = differences;
    }
    Ok(runs)
}

/// The `[train]` settings of `config` as text, by key; those of a sub-table by dotted key
/// (`augment.shift`).
pub fn train_settings(config: &crate::config::Config) -> BTreeMap<String, String> {
    let mut settings = BTreeMap::new();
    if let Ok(table) = toml::Table::try_from(&config.train) {
        flatten("", table, &mut settings);
    }
    settings
}

/// Puts each value of `table` into `out` as text under `prefix` and its key.
fn flatten(prefix: &str, table: toml::Table, out: &mut BTreeMap<String, String>) {
    for (key, value) in table {
        let key = format!("{prefix}{key}");
        match value {
            toml::Value::Table(inner) => flatten(&format!("{key}."), inner, out),
            toml::Value::String(s) => {
                out.insert(key, s);
            }
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

/// For each run's settings, the (key, value) pairs of the keys whose value is not the same in
/// every run that has settings. Runs without settings get none; a single run gets none.
pub fn setting_differences(runs: &[&BTreeMap<String, String>]) -> Vec<Vec<(String, String)>> {
    let with_settings: Vec<_> = runs.iter().filter(|s| !s.is_empty()).collect();
    let differing: Vec<&String> = with_settings
        .iter()
        .flat_map(|s| s.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|key| {
            let mut values = with_settings.iter().map(|s| s.get(*key));
            let first = values.next().flatten();
            values.any(|v| v != first)
        })
        .collect();
    runs.iter()
        .map(|settings| {
            if settings.is_empty() {
                return Vec::new();
            }
            differing
                .iter()
                .filter_map(|key| Some(((*key).clone(), settings.get(*key)?.clone())))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_layer_statistics_are_the_last_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layers.jsonl");
        assert_eq!(latest_layers(&path), None, "no file, none");
        let line = |step| Record::Layers(crate::run::layers::tests::example(step)).to_json_line();
        let text = format!("{}\n{}\n{{\"event\":\"lay", line(100), line(200));
        std::fs::write(&path, text).unwrap();
        assert_eq!(latest_layers(&path).map(|s| s.step), Some(200));
    }

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_the_keys_that_differ_are_listed() {
        let a = settings(&[("lr", "0.001"), ("batch", "50"), ("seed", "0")]);
        let b = settings(&[("lr", "0.0001"), ("batch", "50"), ("seed", "0")]);
        let c = settings(&[("lr", "0.001"), ("batch", "50"), ("seed", "1")]);
        let none = BTreeMap::new();
        let diff = setting_differences(&[&a, &b, &c, &none]);
        assert_eq!(
            diff[0],
            [("lr".into(), "0.001".into()), ("seed".into(), "0".into())]
        );
        assert_eq!(
            diff[1],
            [("lr".into(), "0.0001".into()), ("seed".into(), "0".into())]
        );
        assert!(diff[3].is_empty());
        assert!(setting_differences(&[&a])[0].is_empty());
    }

    #[test]
    fn train_settings_are_plain_text() {
        let settings = train_settings(&crate::config::Config::default());
        assert_eq!(settings["learning_rate"], "0.0001");
        assert_eq!(settings["schedule"], "constant");
        assert_eq!(settings["steps"], "20000");
    }
}
