//! A run read back from its folder, and kept up to date while another process writes it:
//! settings, one value a step, the event records, and where the run stands.
//!
//! [`RunHistory::open`] reads everything once; [`RunHistory::refresh`] reads only what was
//! appended since (see [`super::tail`]), so a caller may call it a few times a second on a run
//! being written, here or over a network file system.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jiff::civil::DateTime;
use jiff::Timestamp;
use thiserror::Error;

use super::dir::RunDir;
use super::events::{Ending, RecordLog};
use super::metrics::{Detail, MetricsSeries};
use super::record::Record;
use super::status::{writer_alive, RunStatus};
use super::tail::{TailError, TailItem, TailReader};
use crate::config::Config;

/// A run folder that could not be read.
#[derive(Debug, Error)]
pub enum HistoryError {
    /// The folder does not exist or is not a folder.
    #[error("{path} is not a folder. Give the folder of a run (runs/NAME) or of runs (runs).")]
    NotAFolder {
        /// The path given.
        path: PathBuf,
    },
    /// A file or folder could not be read.
    #[error(transparent)]
    Read(#[from] TailError),
}

/// What one [`RunHistory::refresh`] changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// `metrics.csv` was truncated or rewritten (a resume or rollback): the metrics were read
    /// again from the start, so drop anything derived from them.
    pub metrics_reset: bool,
    /// Rows read this time (after a reset: all of them).
    pub new_rows: u64,
    /// A row read this time went back to a step already held, replacing the rows from there
    /// on (values already drawn may have changed, as after a reset).
    pub metrics_rewound: bool,
    /// `events.jsonl` was truncated or rewritten: the event log was read again.
    pub events_reset: bool,
    /// The records read this time, oldest first (after a reset: all of them).
    pub new_events: Vec<Record>,
    /// `config.toml` changed (a resume rewrites it) and was read again.
    pub config_changed: bool,
}

impl Changes {
    /// Whether anything changed.
    pub fn any(&self) -> bool {
        self.metrics_reset
            || self.events_reset
            || self.config_changed
            || self.metrics_rewound
            || self.new_rows > 0
            || !self.new_events.is_empty()
    }
}

/// `config.toml` as last read.
#[derive(Debug, Clone)]
enum ConfigState {
    Missing,
    Invalid(String),
    Read(Box<Config>),
}

/// A run read back from its folder.
#[derive(Debug, Clone)]
pub struct RunHistory {
    run: RunDir,
    config: ConfigState,
    /// Size and modification time of `config.toml` when last read.
    config_stamp: Option<(u64, SystemTime)>,
    metrics: MetricsSeries,
    metrics_tail: TailReader,
    metrics_exists: bool,
    events: RecordLog,
    events_tail: TailReader,
    events_exists: bool,
}

impl RunHistory {
    /// Reads the run in `run`, keeping every step's values ([`Detail::Full`]) or only the last
    /// row ([`Detail::Summary`]). A damaged folder is read as far as it goes ([`Self::status`]
    /// says what is wrong); only a path that is not a folder, or a file that cannot be read,
    /// is an error.
    pub fn open(run: RunDir, detail: Detail) -> Result<Self, HistoryError> {
        if !run.path().is_dir() {
            return Err(HistoryError::NotAFolder {
                path: run.path().to_path_buf(),
            });
        }
        let mut history = Self {
            metrics_tail: TailReader::new(run.metrics_file()),
            events_tail: TailReader::new(run.events_file()),
            run,
            config: ConfigState::Missing,
            config_stamp: None,
            metrics: MetricsSeries::new(detail),
            metrics_exists: false,
            events: RecordLog::default(),
            events_exists: false,
        };
        history.refresh()?;
        Ok(history)
    }

    /// Reads what was appended to the run's files since the last read (all of a file that was
    /// truncated or rewritten), and `config.toml` again if it changed.
    pub fn refresh(&mut self) -> Result<Changes, HistoryError> {
        let mut changes = Changes {
            config_changed: self.refresh_config(),
            ..Changes::default()
        };

        let metrics = &mut self.metrics;
        let mut rows_before = metrics.rows();
        let rewinds_before = metrics.rewinds();
        let read = self.metrics_tail.read(|item| match item {
            TailItem::Reset => {
                metrics.clear();
                rows_before = 0;
                changes.metrics_reset = true;
            }
            TailItem::Line(line) => metrics.push_line(line),
        })?;
        self.metrics_exists = read.exists;
        changes.new_rows = self.metrics.rows() - rows_before;
        changes.metrics_rewound = !changes.metrics_reset && self.metrics.rewinds() > rewinds_before;

        let events = &mut self.events;
        let mut new_events = Vec::new();
        let read = self.events_tail.read(|item| match item {
            TailItem::Reset => {
                *events = RecordLog::default();
                new_events.clear();
                changes.events_reset = true;
            }
            TailItem::Line(line) => new_events.extend(events.push_line(line)),
        })?;
        self.events_exists = read.exists;
        changes.new_events = new_events;
        Ok(changes)
    }

    /// Reads `config.toml` again when its size or modification time changed; whether it did.
    fn refresh_config(&mut self) -> bool {
        let path = self.run.config_file();
        let stamp = path
            .metadata()
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        if stamp.is_some() && stamp == self.config_stamp {
            return false;
        }
        let was_missing = matches!(self.config, ConfigState::Missing);
        self.config_stamp = stamp;
        self.config = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigState::Missing,
            Err(e) => ConfigState::Invalid(format!("cannot read {}: {e}", path.display())),
            Ok(text) => match Config::from_toml(&text, &path) {
                Ok(config) => ConfigState::Read(Box::new(config)),
                Err(e) => ConfigState::Invalid(e.to_string()),
            },
        };
        !(was_missing && matches!(self.config, ConfigState::Missing))
    }

    /// The run's folder.
    pub fn run(&self) -> &RunDir {
        &self.run
    }

    /// The folder's name (`20261128-021500`), or its whole path if it has no name.
    pub fn name(&self) -> String {
        let path = self.run.path();
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        )
    }

    /// The settings in `config.toml`, when it was read.
    pub fn config(&self) -> Option<&Config> {
        match &self.config {
            ConfigState::Read(config) => Some(config),
            _ => None,
        }
    }

    /// One value a step.
    pub fn metrics(&self) -> &MetricsSeries {
        &self.metrics
    }

    /// Drops the held values of the steps up to `step` (see [`MetricsSeries::forget_through`]).
    pub fn forget_metrics_through(&mut self, step: u64) {
        self.metrics.forget_through(step);
    }

    /// The event records and what follows from them.
    pub fn events(&self) -> &RecordLog {
        &self.events
    }

    /// Whether `metrics.csv` ends in a partial line (a writer mid-write, or one that died
    /// mid-line): it is held back until its newline arrives.
    pub fn has_partial_row(&self) -> bool {
        self.metrics_tail.has_partial_line()
    }

    /// Steps done: the last row's step (the summary's if there are no rows).
    pub fn steps_done(&self) -> u64 {
        match (self.metrics.last(), self.events.ending()) {
            (Some(row), _) => row.step,
            (None, Ending::Finished(summary)) => summary.steps,
            (None, _) => 0,
        }
    }

    /// Steps the run is set to take (`train.steps` of its settings).
    pub fn total_steps(&self) -> Option<u64> {
        self.config().map(|c| c.train.steps)
    }

    /// The best accuracy of the run as it stands, on the split it chose by
    /// ([`RecordLog::choosing_split`](super::events::RecordLog::choosing_split)).
    pub fn best_accuracy(&self) -> Option<f64> {
        self.events.best_accuracy()
    }

    /// The latest test accuracy of the run as it stands.
    pub fn final_test_accuracy(&self) -> Option<f64> {
        self.events.final_test_accuracy()
    }

    /// Seconds since the run first started, resumes included, at its last row (else the last
    /// process's wall time from its summary).
    pub fn wall_seconds(&self) -> Option<f64> {
        let from_rows = self.metrics.last().map(|r| r.wall_seconds);
        let from_summary = match self.events.ending() {
            Ending::Finished(summary) => Some(summary.wall_seconds),
            _ => None,
        };
        from_rows.or(from_summary).filter(|s| s.is_finite())
    }

    /// When the run started: from the folder's name (`YYYYMMDD-HHMMSS`, UTC) when it is one,
    /// else when `metrics.csv` (or the folder) was created, where the file system says.
    pub fn started_at(&self) -> Option<Timestamp> {
        start_from_name(&self.name()).or_else(|| {
            [self.run.metrics_file(), self.run.path().to_path_buf()]
                .iter()
                .find_map(|p| created(p))
        })
    }

    /// Where the run stands: damaged or not a run when its files say so; else finished or
    /// stopped by its summary; else running while [`writer_alive`] says so; else failed by an
    /// error record; else interrupted.
    pub fn status(&self) -> RunStatus {
        if let Some(status) = self.damage() {
            return status;
        }
        match self.events.ending() {
            // Early stopping is a normal finish: the run chose to end there.
            Ending::Finished(summary) if summary.stopped_early && summary.early_stop.is_none() => {
                RunStatus::Stopped
            }
            Ending::Finished(_) => RunStatus::Finished,
            _ if writer_alive(&self.run) => RunStatus::Running,
            Ending::Error(error) => RunStatus::Failed {
                message: error.message.clone(),
            },
            Ending::None => RunStatus::Interrupted,
        }
    }

    /// What makes the folder unreadable as a run, if anything.
    fn damage(&self) -> Option<RunStatus> {
        let config_missing = matches!(self.config, ConfigState::Missing);
        if !self.metrics_exists && !self.events_exists && config_missing {
            return Some(RunStatus::NotARun {
                reason: "no config.toml, metrics.csv or events.jsonl: not a digitdash run folder"
                    .into(),
            });
        }
        let reason = match &self.config {
            ConfigState::Missing => Some("config.toml is missing".to_string()),
            ConfigState::Invalid(message) => Some(message.clone()),
            ConfigState::Read(_) if !self.metrics_exists => {
                Some("metrics.csv is missing".to_string())
            }
            ConfigState::Read(_) if !self.metrics.has_header() => {
                Some("metrics.csv is empty (not even its header line)".to_string())
            }
            ConfigState::Read(_) => self.metrics.problem().map(str::to_string),
        };
        reason.map(|reason| RunStatus::Damaged { reason })
    }
}

/// The start time a run folder's name tells (`20261128-021500`, UTC).
pub fn start_from_name(name: &str) -> Option<Timestamp> {
    if name.len() != 15 {
        return None;
    }
    let time = DateTime::strptime("%Y%m%d-%H%M%S", name).ok()?;
    time.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// When the file system says `path` was created, if it says.
fn created(path: &Path) -> Option<Timestamp> {
    let time = path.metadata().ok()?.created().ok()?;
    Timestamp::try_from(time).ok()
}
