//! The run's records as it goes: the effective config, one CSV row a step, and one JSON line
//! for every evaluation, setting change, pause, stop and error.
//!
//! Rows are buffered and flushed at least every [`FLUSH_INTERVAL`]; events are flushed at once.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use thiserror::Error;

use crate::config::Config;
use crate::train::StepStats;

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

/// Open record files of one run.
#[derive(Debug)]
pub struct RunRecords {
    dir: PathBuf,
    metrics: BufWriter<File>,
    events: BufWriter<File>,
    last_flush: Instant,
}

impl RunRecords {
    /// Creates the run folder (it must not hold records already) and writes `config.toml`.
    pub fn create(dir: &Path, config: &Config) -> Result<Self, RecordError> {
        let unusable = |problem| RecordError::Unusable {
            path: dir.to_path_buf(),
            problem,
        };
        if dir.exists() && !dir.is_dir() {
            return Err(unusable(
                "it is a file, not a folder. Choose another --run-dir.",
            ));
        }
        if dir.join("metrics.csv").exists() {
            return Err(unusable(
                "it already holds a run. Pass --resume with it to continue that run, or choose another --run-dir.",
            ));
        }
        fs::create_dir_all(dir).map_err(|e| record_error(dir, e))?;
        write_atomic(&dir.join("config.toml"), config.to_toml().as_bytes())?;
        let mut records = Self::open(dir)?;
        writeln!(records.metrics, "{METRICS_HEADER}").map_err(|e| record_error(dir, e))?;
        records.flush()?;
        Ok(records)
    }

    /// Reopens a run's records to continue after `step`: rows of later steps (written after
    /// the checkpoint the run resumes from) are dropped, and `config.toml` is rewritten with
    /// the settings the run goes on with.
    pub fn resume(dir: &Path, step: u64, config: &Config) -> Result<Self, RecordError> {
        write_atomic(&dir.join("config.toml"), config.to_toml().as_bytes())?;
        truncate_metrics_after(&dir.join("metrics.csv"), step)?;
        Self::open(dir)
    }

    /// Drops the rows of steps after `step` (after a rollback to it) and goes on appending.
    pub fn rewind(&mut self, step: u64) -> Result<(), RecordError> {
        self.flush()?;
        truncate_metrics_after(&self.dir.join("metrics.csv"), step)?;
        *self = Self::open(&self.dir)?;
        Ok(())
    }

    fn open(dir: &Path) -> Result<Self, RecordError> {
        let append = |name: &str| {
            let path = dir.join(name);
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map(BufWriter::new)
                .map_err(|e| record_error(&path, e))
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            metrics: append("metrics.csv")?,
            events: append("events.jsonl")?,
            last_flush: Instant::now(),
        })
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends a step's row; flushes when the last flush is older than [`FLUSH_INTERVAL`].
    pub fn step(&mut self, s: &StepStats, wall_seconds: f64) -> Result<(), RecordError> {
        writeln!(
            self.metrics,
            "{},{},{},{},{:.1},{:.3}",
            s.step, s.loss, s.accuracy, s.learning_rate, s.samples_per_sec, wall_seconds
        )
        .map_err(|e| record_error(&self.dir.join("metrics.csv"), e))?;
        if self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends an event line (`kind` goes in the `event` field) and flushes.
    pub fn event(&mut self, kind: &str, mut value: Value) -> Result<(), RecordError> {
        if !value.is_object() {
            value = serde_json::json!({ "value": value });
        }
        value["event"] = Value::from(kind);
        writeln!(self.events, "{value}")
            .map_err(|e| record_error(&self.dir.join("events.jsonl"), e))?;
        self.flush()
    }

    /// Writes everything buffered to the disk.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.last_flush = Instant::now();
        self.metrics
            .flush()
            .map_err(|e| record_error(&self.dir.join("metrics.csv"), e))?;
        self.events
            .flush()
            .map_err(|e| record_error(&self.dir.join("events.jsonl"), e))
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let result = File::create(&temp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(record_error(path, e));
    }
    Ok(())
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
    write_atomic(path, kept.as_bytes())
}

/// A run folder name from the current UTC time: `20261128-021500`.
pub fn timestamp_name() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(step: u64) -> StepStats {
        StepStats {
            step,
            total_steps: 10,
            epoch: 0.0,
            loss: 0.5,
            accuracy: 0.75,
            learning_rate: 1e-4,
            batch_size: 50,
            samples_per_sec: 1000.0,
            train_seconds: 1.0,
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
    fn calendar_dates_are_right() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_785), (2026, 11, 28));
        assert_eq!(timestamp_name().len(), 15);
    }

    #[test]
    fn records_are_written_and_resume_drops_rows_after_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let mut records = RunRecords::create(&run, &Config::default()).unwrap();
        for step in 1..=5 {
            records.step(&stats(step), step as f64).unwrap();
        }
        records
            .event("evaluation", serde_json::json!({"step": 5}))
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
        let event: Value = serde_json::from_str(events.trim()).unwrap();
        assert_eq!(event["event"], "evaluation");
        let config = fs::read_to_string(run.join("config.toml")).unwrap();
        assert_eq!(
            Config::from_toml(&config, Path::new("x")).unwrap(),
            Config::default()
        );

        assert!(RunRecords::create(&run, &Config::default()).is_err());
        let mut resumed = RunRecords::resume(&run, 3, &Config::default()).unwrap();
        resumed.step(&stats(4), 9.0).unwrap();
        resumed.flush().unwrap();
        assert_eq!(row_steps(&run), ["1", "2", "3", "4"]);

        resumed.step(&stats(5), 10.0).unwrap();
        resumed.rewind(2).unwrap();
        resumed.step(&stats(3), 11.0).unwrap();
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
        let err = RunRecords::create(&blocker.join("run"), &Config::default()).unwrap_err();
        assert!(err.to_string().contains("--run-dir"), "{err}");
    }
}
