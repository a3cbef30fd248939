//! The run's records as it goes: the effective config, one CSV row a step, and one JSON line
//! for every evaluation, setting change, pause, stop and error.
//!
//! Rows are buffered and flushed at least every [`FLUSH_INTERVAL`]; events are flushed at once.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use super::dir::RunDir;
use crate::config::Config;
use crate::durable::write_atomic;

/// The longest a step row waits in memory before reaching the disk.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);
/// Header of `metrics.csv`.
pub const METRICS_HEADER: &str = "step,loss,accuracy,learning_rate,samples_per_sec,wall_seconds";

/// A record that could not be written, or a run folder that cannot take a new run.
#[derive(Debug, Error)]
pub enum RecordError {
    /// Writing failed.
    #[error("cannot write the run records in {path}: {cause}. Check that the folder is writable and the disk has space (--run-dir chooses another folder).")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The folder for a new run is in use or is not a folder.
    #[error("cannot start a run in {path}: {problem}")]
    Unusable {
        /// The run folder.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: &'static str,
    },
}

fn record_error(path: &Path, cause: impl std::fmt::Display) -> RecordError {
    RecordError::Write {
        path: path.to_path_buf(),
        cause: cause.to_string(),
    }
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsRow {
    /// Steps done (1 for the first).
    pub step: u64,
    /// Mean cross-entropy of the step's batch.
    pub loss: f32,
    /// Fraction of the batch classified right.
    pub accuracy: f32,
    /// Learning rate the step used.
    pub learning_rate: f64,
    /// Training throughput of the step, images per second.
    pub samples_per_sec: f64,
    /// Seconds since the run first started, resumes included.
    pub wall_seconds: f64,
}

/// Open record files of one run.
#[derive(Debug)]
pub struct RunRecords {
    dir: RunDir,
    metrics: BufWriter<File>,
    events: BufWriter<File>,
    last_flush: Instant,
}

impl RunRecords {
    /// Creates the run folder (it must not hold records already) and writes `config.toml`.
    pub fn create(run: &RunDir, config: &Config) -> Result<Self, RecordError> {
        let dir = run.path();
        let unusable = |problem| RecordError::Unusable {
            path: dir.to_path_buf(),
            problem,
        };
        if dir.exists() && !dir.is_dir() {
            return Err(unusable(
                "it is a file, not a folder. Choose another --run-dir.",
            ));
        }
        if run.holds_run() {
            return Err(unusable(
                "it already holds a run. Pass --resume with it to continue that run, or choose another --run-dir.",
            ));
        }
        fs::create_dir_all(dir).map_err(|e| record_error(dir, e))?;
        write_config(run, config)?;
        let mut records = Self::open(run)?;
        writeln!(records.metrics, "{METRICS_HEADER}").map_err(|e| record_error(dir, e))?;
        records.flush()?;
        Ok(records)
    }

    /// Reopens a run's records to continue after `step`: rows of later steps (written after
    /// the checkpoint the run resumes from) are dropped, and `config.toml` is rewritten with
    /// the settings the run goes on with.
    pub fn resume(run: &RunDir, step: u64, config: &Config) -> Result<Self, RecordError> {
        write_config(run, config)?;
        truncate_metrics_after(&run.metrics_file(), step)?;
        Self::open(run)
    }

    /// Drops the rows of steps after `step` (after a rollback to it) and goes on appending.
    pub fn rewind(&mut self, step: u64) -> Result<(), RecordError> {
        self.flush()?;
        truncate_metrics_after(&self.dir.metrics_file(), step)?;
        *self = Self::open(&self.dir)?;
        Ok(())
    }

    fn open(run: &RunDir) -> Result<Self, RecordError> {
        let append = |path: PathBuf| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map(BufWriter::new)
                .map_err(|e| record_error(&path, e))
        };
        Ok(Self {
            dir: run.clone(),
            metrics: append(run.metrics_file())?,
            events: append(run.events_file())?,
            last_flush: Instant::now(),
        })
    }

    /// The run folder.
    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// Appends a step's row; flushes when the last flush is older than [`FLUSH_INTERVAL`].
    pub fn step(&mut self, row: &MetricsRow) -> Result<(), RecordError> {
        writeln!(
            self.metrics,
            "{},{},{},{},{:.1},{:.3}",
            row.step,
            row.loss,
            row.accuracy,
            row.learning_rate,
            row.samples_per_sec,
            row.wall_seconds
        )
        .map_err(|e| record_error(&self.dir.metrics_file(), e))?;
        if self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends an event record as one JSON line and flushes.
    pub fn event(&mut self, record: &impl Serialize) -> Result<(), RecordError> {
        let path = self.dir.events_file();
        let line = serde_json::to_string(record).map_err(|e| record_error(&path, e))?;
        writeln!(self.events, "{line}").map_err(|e| record_error(&path, e))?;
        self.flush()
    }

    /// Writes everything buffered to the disk.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.last_flush = Instant::now();
        self.metrics
            .flush()
            .map_err(|e| record_error(&self.dir.metrics_file(), e))?;
        self.events
            .flush()
            .map_err(|e| record_error(&self.dir.events_file(), e))
    }
}

/// Writes the settings the run goes on with.
fn write_config(run: &RunDir, config: &Config) -> Result<(), RecordError> {
    let path = run.config_file();
    write_atomic(&path, config.to_toml().as_bytes()).map_err(|e| record_error(&path, e))
}

/// Keeps the header and the rows of steps up to `step`.
fn truncate_metrics_after(path: &Path, step: u64) -> Result<(), RecordError> {
    let file = File::open(path).map_err(|e| record_error(path, e))?;
    let mut kept = String::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| record_error(path, e))?;
        let row_step = line.split(',').next().and_then(|s| s.parse::<u64>().ok());
        if row_step.is_none_or(|s| s <= step) && !line.is_empty() {
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    write_atomic(path, kept.as_bytes()).map_err(|e| record_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, wall_seconds: f64) -> MetricsRow {
        MetricsRow {
            step,
            loss: 0.5,
            accuracy: 0.75,
            learning_rate: 1e-4,
            samples_per_sec: 1000.0,
            wall_seconds,
        }
    }

    /// The step column of a run's metrics.csv.
    fn row_steps(run: &Path) -> Vec<String> {
        let csv = fs::read_to_string(run.join("metrics.csv")).unwrap();
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn records_are_written_and_resume_drops_rows_after_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = RunDir::new(dir.path().join("run"));
        let run = run_dir.path();
        let mut records = RunRecords::create(&run_dir, &Config::default()).unwrap();
        for step in 1..=5 {
            records.step(&row(step, step as f64)).unwrap();
        }
        records
            .event(&serde_json::json!({"event": "evaluation", "step": 5}))
            .unwrap();
        records.flush().unwrap();
        drop(records);
        let csv = fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 6);
        assert!(csv.starts_with(METRICS_HEADER));
        assert!(csv
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("1,0.5,0.75,0.0001,1000.0,1.000"));
        let events = fs::read_to_string(run.join("events.jsonl")).unwrap();
        let event: serde_json::Value = serde_json::from_str(events.trim()).unwrap();
        assert_eq!(event["event"], "evaluation");
        let config = fs::read_to_string(run.join("config.toml")).unwrap();
        assert_eq!(
            Config::from_toml(&config, Path::new("x")).unwrap(),
            Config::default()
        );

        assert!(RunRecords::create(&run_dir, &Config::default()).is_err());
        let mut resumed = RunRecords::resume(&run_dir, 3, &Config::default()).unwrap();
        resumed.step(&row(4, 9.0)).unwrap();
        resumed.flush().unwrap();
        assert_eq!(row_steps(run), ["1", "2", "3", "4"]);

        resumed.step(&row(5, 10.0)).unwrap();
        resumed.rewind(2).unwrap();
        resumed.step(&row(3, 11.0)).unwrap();
        resumed.flush().unwrap();
        let csv = fs::read_to_string(run.join("metrics.csv")).unwrap();
        let steps: Vec<&str> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(
            steps,
            ["1", "2", "3"],
            "a rollback to step 2 drops the later rows"
        );
    }

    #[test]
    fn an_unwritable_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "x").unwrap();
        let run = RunDir::new(blocker.join("run"));
        let err = RunRecords::create(&run, &Config::default()).unwrap_err();
        assert!(err.to_string().contains("--run-dir"), "{err}");
    }
}
