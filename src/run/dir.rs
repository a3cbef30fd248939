//! A run's folder: every path and file name in it, and which checkpoint is the newest.
//!
//! ```text
//! runs/20261128-021500/
//!     config.toml                      the settings the run goes on with
//!     metrics.csv                      one row a step
//!     events.jsonl                     one record an evaluation, setting change, stop, ...
//!     layers.jsonl                     layer statistics every log.layer_stats_every steps
//!     checkpoints/step-00001000/       periodic checkpoints (the newest few are kept)
//!     checkpoints/best-step-00000800/  the best evaluation so far
//!     .lock                            locked by the process training into the folder
//!     writer.pid                       that process's id, for people (see `run::lock`)
//! ```

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::metrics::RowFormat;
use super::record::Record;
use super::tail::MAX_LINE_BYTES;

/// Settings file of a run.
const CONFIG_FILE: &str = "config.toml";
/// One CSV row a training step.
const METRICS_FILE: &str = "metrics.csv";
/// One JSON record an event.
const EVENTS_FILE: &str = "events.jsonl";
/// One JSON record of layer statistics a line.
const LAYERS_FILE: &str = "layers.jsonl";
/// Folder of the checkpoints.
const CHECKPOINTS_DIR: &str = "checkpoints";
/// The file a writer holds an OS lock on.
const LOCK_FILE: &str = ".lock";
/// The id of the process training into the folder, for people and for telling a crash.
const PID_FILE: &str = "writer.pid";
/// Weights file inside a checkpoint folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Metadata file inside a checkpoint folder.
pub const META_FILE: &str = "checkpoint.json";

/// Which of a run's checkpoints a folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointKind {
    /// Written every `run.checkpoint_every` steps and at the end; the newest few are kept.
    Periodic,
    /// The best evaluation so far; one is kept.
    Best,
}

impl CheckpointKind {
    /// The folder name's prefix, before the step number.
    fn prefix(self) -> &'static str {
        match self {
            CheckpointKind::Periodic => "step-",
            CheckpointKind::Best => "best-step-",
        }
    }
}

/// What a folder holds, as far as starting a new run in it goes: digitdash writes only into a
/// folder it creates, an empty one, or one that holds a run of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderContents {
    /// It does not exist yet.
    Missing,
    /// It is a file, not a folder.
    NotAFolder,
    /// It exists and holds nothing (a lock file of this program's aside).
    Empty,
    /// It holds a digitdash run (its records).
    Run,
    /// It holds runs in sub-folders: a folder of runs (their names).
    Runs(Vec<String>),
    /// It holds files or folders that are not a digitdash run (their names).
    Foreign(Vec<String>),
}

/// The folder of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// The run kept in `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// A new run's folder under `parent`, named by the current UTC time: `20261128-021500`.
    pub fn timestamped(parent: &Path) -> Self {
        Self::new(parent.join(timestamp_name(Timestamp::now())))
    }

    /// The folder itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The settings the run goes on with.
    pub fn config_file(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// One CSV row a training step.
    pub fn metrics_file(&self) -> PathBuf {
        self.root.join(METRICS_FILE)
    }

    /// One JSON record an event.
    pub fn events_file(&self) -> PathBuf {
        self.root.join(EVENTS_FILE)
    }

    /// One JSON record of layer statistics a line (runs recorded before them have none).
    pub fn layers_file(&self) -> PathBuf {
        self.root.join(LAYERS_FILE)
    }

    /// The folder of the checkpoints.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.root.join(CHECKPOINTS_DIR)
    }

    /// The file a writer holds an OS lock on while it trains into the folder.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    /// The id of the process training into the folder (removed when it ends cleanly).
    pub fn pid_file(&self) -> PathBuf {
        self.root.join(PID_FILE)
    }

    /// Whether the folder already holds a run's records (`metrics.csv`).
    pub fn holds_run(&self) -> bool {
        self.metrics_file().exists()
    }

    /// Whether the folder holds a digitdash run, told by its records rather than by their
    /// names: a `metrics.csv` that starts with this program's header, or an `events.jsonl`
    /// whose first line is one of its records.
    pub fn is_run(&self) -> bool {
        let first = |path: PathBuf| -> Option<String> {
            let file = fs::File::open(path).ok()?;
            let mut line = String::new();
            BufReader::new(file.take(MAX_LINE_BYTES))
                .read_line(&mut line)
                .ok()?;
            Some(line)
        };
        let metrics = first(self.metrics_file())
            .is_some_and(|line| RowFormat::from_header(line.trim_end()).1.is_none());
        metrics
            || first(self.events_file())
                .is_some_and(|line| Record::from_json_line(line.trim_end().as_bytes()).is_some())
    }

    /// What the folder holds, as far as starting a new run in it goes.
    pub fn contents(&self) -> io::Result<FolderContents> {
        let entries = match fs::read_dir(&self.root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FolderContents::Missing),
            Err(_) if self.root.exists() && !self.root.is_dir() => {
                return Ok(FolderContents::NotAFolder)
            }
            other => other?,
        };
        if self.is_run() {
            return Ok(FolderContents::Run);
        }
        let mut names = Vec::new();
        let mut runs = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            // A lock file is all a start that failed leaves; it is this program's own.
            if name == LOCK_FILE {
                continue;
            }
            if entry.file_type()?.is_dir() && RunDir::new(entry.path()).is_run() {
                runs.push(name.clone());
            }
            names.push(name);
        }
        names.sort();
        runs.sort();
        Ok(match (names.is_empty(), runs.is_empty()) {
            (true, _) => FolderContents::Empty,
            (false, false) => FolderContents::Runs(runs),
            (false, true) => FolderContents::Foreign(names),
        })
    }

    /// The folder name of a checkpoint of `kind` at `step`.
    pub fn checkpoint_name(kind: CheckpointKind, step: u64) -> String {
        format!("{}{step:08}", kind.prefix())
    }

    /// The step in a checkpoint folder's name (`step-00000300`, `best-step-00000300`).
    pub fn checkpoint_step(folder: &Path) -> Option<u64> {
        let name = folder.file_name()?.to_str()?;
        name.rsplit('-').next()?.parse().ok()
    }

    /// Complete checkpoints of `kind` (folders with their metadata file), oldest first.
    pub fn checkpoints(&self, kind: CheckpointKind) -> Vec<PathBuf> {
        let prefix = kind.prefix();
        let mut found: Vec<(u64, PathBuf)> = fs::read_dir(self.checkpoints_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let step = name.strip_prefix(prefix)?.parse().ok()?;
                let path = entry.path();
                path.join(META_FILE).is_file().then_some((step, path))
            })
            .collect();
        found.sort();
        found.into_iter().map(|(_, path)| path).collect()
    }

    /// The newest periodic checkpoint: where a rollback goes back to.
    pub fn latest_checkpoint(&self) -> Option<PathBuf> {
        self.checkpoints(CheckpointKind::Periodic).pop()
    }

    /// Every checkpoint folder of either kind, whether or not it is complete, newest step
    /// first (at one step, the periodic one first): what a resume tries, in order.
    pub fn checkpoint_folders(&self) -> Vec<PathBuf> {
        let kinds = [CheckpointKind::Periodic, CheckpointKind::Best];
        let mut found: Vec<(u64, usize, PathBuf)> = self
            .entries()
            .filter_map(|(name, path)| {
                kinds.iter().enumerate().find_map(|(rank, kind)| {
                    let step = name.strip_prefix(kind.prefix())?.parse().ok()?;
                    path.is_dir().then(|| (step, rank, path.clone()))
                })
            })
            .collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        found.into_iter().map(|(_, _, path)| path).collect()
    }

    /// Checkpoint folders a crashed writer left half-done: half-written ones under their
    /// temporary names (`.NAME.tmp-PID`), and half-deleted ones without their metadata (a
    /// checkpoint is only ever renamed into place complete).
    pub fn unfinished_checkpoints(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = self
            .entries()
            .filter(|(name, _)| name.starts_with('.') && name.contains(".tmp-"))
            .map(|(_, path)| path)
            .collect();
        found.extend(
            self.checkpoint_folders()
                .into_iter()
                .filter(|folder| !folder.join(META_FILE).exists()),
        );
        found
    }

    /// The names and paths in the checkpoints folder (none if it cannot be read).
    fn entries(&self) -> impl Iterator<Item = (String, PathBuf)> {
        fs::read_dir(self.checkpoints_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| Some((entry.file_name().into_string().ok()?, entry.path())))
    }
}

/// A folder name for a run started at `time` (UTC): `20261128-021500`.
fn timestamp_name(time: Timestamp) -> String {
    time.strftime("%Y%m%d-%H%M%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_folders_are_named_by_their_utc_start() {
        let time: Timestamp = "2024-02-29T23:59:58Z".parse().unwrap();
        assert_eq!(timestamp_name(time), "20240229-235958");
        assert_eq!(timestamp_name(Timestamp::UNIX_EPOCH), "19700101-000000");
    }

    #[test]
    fn the_latest_checkpoint_is_the_highest_complete_periodic_one() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert_eq!(run.latest_checkpoint(), None);
        for (kind, step, complete) in [
            (CheckpointKind::Periodic, 900, true),
            (CheckpointKind::Periodic, 1000, true),
            (CheckpointKind::Periodic, 1100, false),
            (CheckpointKind::Best, 1200, true),
        ] {
            let folder = run
                .checkpoints_dir()
                .join(RunDir::checkpoint_name(kind, step));
            fs::create_dir_all(&folder).unwrap();
            if complete {
                fs::write(folder.join(META_FILE), "{}").unwrap();
            }
        }
        let latest = run.latest_checkpoint().unwrap();
        assert!(latest.ends_with("checkpoints/step-00001000"), "{latest:?}");
        assert_eq!(run.checkpoints(CheckpointKind::Periodic).len(), 2);
        let best = run.checkpoints(CheckpointKind::Best);
        assert!(best[0].ends_with("best-step-00001200"), "{best:?}");
    }

    #[test]
    fn a_resume_tries_every_checkpoint_folder_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert!(run.checkpoint_folders().is_empty());
        for name in [
            "step-00000005",
            "best-step-00000010",
            "step-00000010",
            "step-00000015",
            ".step-00000020.tmp-123",
            "notes",
        ] {
            fs::create_dir_all(run.checkpoints_dir().join(name)).unwrap();
        }
        fs::write(run.checkpoints_dir().join("step-00000030"), "a file").unwrap();
        let names: Vec<_> = run
            .checkpoint_folders()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "step-00000015",
                "step-00000010",
                "best-step-00000010",
                "step-00000005"
            ]
        );
        fs::write(
            run.checkpoints_dir().join("step-00000015").join(META_FILE),
            "{}",
        )
        .unwrap();
        fs::write(
            run.checkpoints_dir().join("step-00000010").join(META_FILE),
            "{}",
        )
        .unwrap();
        let unfinished = run.unfinished_checkpoints();
        assert_eq!(unfinished.len(), 3, "{unfinished:?}");
        assert!(unfinished[0].ends_with(".step-00000020.tmp-123"));
        assert!(unfinished[1].ends_with("best-step-00000010"));
        assert!(unfinished[2].ends_with("step-00000005"));
    }
}
