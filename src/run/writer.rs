//! The run's records as it goes: the effective config, one CSV row a step, one JSON line for
//! every evaluation, setting change, pause, stop and error, and one JSON line of layer
//! statistics every `log.layer_stats_every` steps (`layers.jsonl`).
//!
//! Rows and layer statistics are buffered and flushed at least every [`FLUSH_INTERVAL`];
//! events are flushed at once.
//!
//! The records are open for one process at a time: they hold the run's write lock
//! ([`RunLock`]) for as long as they are open. Reopening them after a crash repairs what the
//! crash can leave: a torn last line, and half-written checkpoint folders. Reading them is
//! bounded by the file's size, line by line ([`MAX_LINE_BYTES`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

use super::dir::{FolderContents, RunDir};
use super::layers::LayerStats;
use super::lock::{LockError, RunLock};
use super::metrics::{metrics_header, MetricsRow, RowFormat};
use super::record::Record;
use crate::config::Config;
use crate::durable::{write_atomic, write_atomic_with};

/// The longest a step row waits in memory before reaching the disk.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);
pub use super::tail::MAX_LINE_BYTES;

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
    /// The folder for a new run is in use, is not a folder, or holds what is not ours.
    #[error("cannot start a run in {path}: {problem}")]
    Unusable {
        /// The run folder.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// The run's folder or its record files were deleted, moved or replaced while the run
    /// went on.
    #[error("the run folder {path} was deleted or moved while the run went on: {what}. Its records and checkpoints are lost; nothing more is written there.")]
    Vanished {
        /// The run folder.
        path: PathBuf,
        /// What is missing.
        what: String,
    },
    /// Another process trains into the folder, or it cannot be locked.
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// Refuses a folder a new run may not be started in: one that holds a run already, a folder
/// of runs, a file, or anything that is not this program's. A missing or empty folder is
/// fine. The refusal says what is there and what to do.
pub fn check_new_run_folder(run: &RunDir) -> Result<(), RecordError> {
    let dir = run.path();
    let contents = run.contents().map_err(|e| record_error(dir, e))?;
    let problem = match contents {
        FolderContents::Missing | FolderContents::Empty => return Ok(()),
        FolderContents::NotAFolder => {
            "it is a file, not a folder. Choose another --run-dir.".into()
        }
        FolderContents::Run => "it already holds a run. Pass --resume with it to continue that \
             run, or choose another --run-dir."
            .into(),
        FolderContents::Runs(runs) => format!(
            "it is a folder of runs ({}), not a run. Pass a new folder inside it, e.g. \
             --run-dir {}, or leave --run-dir out to start one there by time.",
            listed(&runs),
            dir.join("NAME").display()
        ),
        FolderContents::Foreign(names) => format!(
            "it holds files that are not a digitdash run ({}), and digitdash writes only into \
             a new or empty folder or one holding its own run. Choose a new --run-dir, e.g. \
             {}.",
            listed(&names),
            dir.join("run").display()
        ),
    };
    Err(RecordError::Unusable {
        path: dir.to_path_buf(),
        problem,
    })
}

/// The first few of `names`, and how many more.
fn listed(names: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut text = names
        .iter()
        .take(SHOWN)
        .map(|n| crate::output::escape_line(n).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

fn record_error(path: &Path, cause: impl std::fmt::Display) -> RecordError {
    RecordError::Write {
        path: path.to_path_buf(),
        cause: cause.to_string(),
    }
}

/// Open record files of one run, and the run's write lock.
#[derive(Debug)]
pub struct RunRecords {
    dir: RunDir,
    metrics: BufWriter<File>,
    events: BufWriter<File>,
    layers: BufWriter<File>,
    last_flush: Instant,
    /// Held as long as the records are open.
    lock: RunLock,
    /// What reopening the records found and repaired, for people and for `events.jsonl`.
    notes: Vec<String>,
}

/// What [`keep_rows_through`] (or [`keep_layers_through`]) dropped besides the lines after
/// the step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetricsRepair {
    /// Rows or lines kept (a header not counted).
    pub kept: u64,
    /// Bytes of a last line without its line end (a crash mid-write), dropped.
    pub torn_bytes: u64,
    /// Lines that are not rows or records (no step number, not text, or over
    /// [`MAX_LINE_BYTES`]), dropped.
    pub damaged: u64,
}

impl RunRecords {
    /// Creates the run folder, locks it for this process and writes `config.toml`. The folder
    /// must be new or empty ([`check_new_run_folder`]).
    pub fn create(run: &RunDir, config: &Config) -> Result<Self, RecordError> {
        let dir = run.path();
        check_new_run_folder(run)?;
        fs::create_dir_all(dir).map_err(|e| record_error(dir, e))?;
        let lock = RunLock::acquire(run)?;
        if run.is_run() {
            // Another process started a run here in the meantime.
            return Err(RecordError::Unusable {
                path: dir.to_path_buf(),
                problem: "another process has just started a run in it. Choose another \
                          --run-dir."
                    .into(),
            });
        }
        write_config(run, config)?;
        let mut records = Self::open(run, lock, Vec::new())?;
        writeln!(records.metrics, "{}", metrics_header()).map_err(|e| record_error(dir, e))?;
        records.flush()?;
        Ok(records)
    }

    /// Reopens a run's records to continue after `step`, locking the folder for this
    /// process: rows of later steps (written after the checkpoint the run resumes from) are
    /// dropped, and `config.toml` is rewritten with the settings the run goes on with. What a
    /// crash left is repaired first (a torn last line of `metrics.csv` or `events.jsonl`,
    /// half-written checkpoint folders) and noted in [`RunRecords::take_notes`].
    pub fn resume(run: &RunDir, step: u64, config: &Config) -> Result<Self, RecordError> {
        let lock = RunLock::acquire(run)?;
        let mut notes: Vec<String> = lock.takeover_note(run).into_iter().collect();
        notes.extend(remove_leftovers(run));
        let events = run.events_file();
        if let Some(torn) = repair_torn_tail(&events).map_err(|e| record_error(&events, e))? {
            notes.push(format!(
                "{} ended in a torn line ({torn} bytes, cut off by a crash); it was dropped",
                events.display()
            ));
        }
        write_config(run, config)?;
        let repair = keep_rows_through(&run.metrics_file(), step)?;
        notes.extend(repair.note(&run.metrics_file(), "row"));
        let layers = run.layers_file();
        let kept = keep_layers_through(&layers, step)?;
        notes.extend(kept.note(&layers, "line"));
        Self::open(run, lock, notes)
    }

    /// Drops the rows and layer statistics of steps after `step` (after a rollback to it) and
    /// goes on appending.
    pub fn rewind(&mut self, step: u64) -> Result<(), RecordError> {
        self.flush()?;
        keep_rows_through(&self.dir.metrics_file(), step)?;
        keep_layers_through(&self.dir.layers_file(), step)?;
        let [metrics, events, layers] = Self::open_files(&self.dir)?;
        self.metrics = metrics;
        self.events = events;
        self.layers = layers;
        Ok(())
    }

    fn open(run: &RunDir, lock: RunLock, notes: Vec<String>) -> Result<Self, RecordError> {
        let [metrics, events, layers] = Self::open_files(run)?;
        Ok(Self {
            dir: run.clone(),
            metrics,
            events,
            layers,
            last_flush: Instant::now(),
            lock,
            notes,
        })
    }

    /// `metrics.csv`, `events.jsonl` and `layers.jsonl`, opened to append.
    fn open_files(run: &RunDir) -> Result<[BufWriter<File>; 3], RecordError> {
        let append = |path: PathBuf| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map(BufWriter::new)
                .map_err(|e| record_error(&path, e))
        };
        Ok([
            append(run.metrics_file())?,
            append(run.events_file())?,
            append(run.layers_file())?,
        ])
    }

    /// What reopening the records repaired, once (empty for a new run).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// The run's write lock, held while the records are open.
    pub fn lock(&self) -> &RunLock {
        &self.lock
    }

    /// The run folder.
    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    /// Appends a step's row; flushes when the last flush is older than [`FLUSH_INTERVAL`].
    pub fn step(&mut self, row: &MetricsRow) -> Result<(), RecordError> {
        writeln!(self.metrics, "{}", row.to_csv())
            .map_err(|e| record_error(&self.dir.metrics_file(), e))?;
        if self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends a line of layer statistics to `layers.jsonl`; flushes as [`Self::step`] does.
    pub fn layers(&mut self, stats: &LayerStats) -> Result<(), RecordError> {
        let line = Record::Layers(stats.clone()).to_json_line();
        writeln!(self.layers, "{line}").map_err(|e| record_error(&self.dir.layers_file(), e))?;
        if self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends an event record as one JSON line and flushes.
    pub fn event(&mut self, record: &Record) -> Result<(), RecordError> {
        let path = self.dir.events_file();
        writeln!(self.events, "{}", record.to_json_line()).map_err(|e| record_error(&path, e))?;
        self.flush()
    }

    /// Writes everything buffered to the disk, after checking that the record files are
    /// still where they were ([`RecordError::Vanished`] when not).
    pub fn flush(&mut self) -> Result<(), RecordError> {
        self.last_flush = Instant::now();
        self.check_in_place()?;
        self.metrics
            .flush()
            .map_err(|e| record_error(&self.dir.metrics_file(), e))?;
        self.layers
            .flush()
            .map_err(|e| record_error(&self.dir.layers_file(), e))?;
        self.events
            .flush()
            .map_err(|e| record_error(&self.dir.events_file(), e))
    }

    /// Whether the files this process writes are still the run's `metrics.csv`,
    /// `events.jsonl` and `layers.jsonl`: a folder deleted, moved or replaced under a running
    /// run would take the writes into files nobody can see.
    fn check_in_place(&self) -> Result<(), RecordError> {
        for (path, file) in [
            (self.dir.metrics_file(), self.metrics.get_ref()),
            (self.dir.events_file(), self.events.get_ref()),
            (self.dir.layers_file(), self.layers.get_ref()),
        ] {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            let what = match (fs::metadata(&path), file.metadata()) {
                (Err(_), _) => format!("{name} is gone"),
                (Ok(named), Ok(open)) if !same_file(&named, &open) => {
                    format!("{name} was replaced by another file")
                }
                _ => continue,
            };
            return Err(RecordError::Vanished {
                path: self.dir.path().to_path_buf(),
                what,
            });
        }
        Ok(())
    }
}

/// Whether two metadata describe the same file (device and inode where the system has them).
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (a.dev(), a.ino()) == (b.dev(), b.ino())
    }
    #[cfg(not(unix))]
    {
        a.len() == b.len()
    }
}

/// Writes the settings the run goes on with.
fn write_config(run: &RunDir, config: &Config) -> Result<(), RecordError> {
    let path = run.config_file();
    write_atomic(&path, config.to_toml().as_bytes()).map_err(|e| record_error(&path, e))
}

impl MetricsRepair {
    /// A note for people on what was dropped besides later lines, if anything was; a line
    /// is called a `row`, or what `noun` says.
    fn note(&self, path: &Path, noun: &str) -> Option<String> {
        let mut parts = Vec::new();
        if self.torn_bytes > 0 {
            parts.push(format!(
                "a torn last {noun} ({} bytes, cut off by a crash)",
                self.torn_bytes
            ));
        }
        if self.damaged > 0 {
            parts.push(format!("{} damaged line(s)", self.damaged));
        }
        (!parts.is_empty()).then(|| format!("{}: dropped {}", path.display(), parts.join(" and ")))
    }
}

/// Keeps the header and the rows of steps up to `step` of a `metrics.csv`, and drops the
/// rest: later rows, a torn last row and damaged lines. The file is read line by line
/// (never more than [`MAX_LINE_BYTES`] of it at once) and replaced whole.
pub fn keep_rows_through(path: &Path, step: u64) -> Result<MetricsRepair, RecordError> {
    let file = File::open(path).map_err(|e| record_error(path, e))?;
    let mut repair = MetricsRepair::default();
    write_atomic_with(path, |out| {
        repair = filter_rows(BufReader::new(file), step, out)?;
        Ok(())
    })
    .map_err(|e| record_error(path, e))?;
    Ok(repair)
}

/// Keeps the lines of `layers.jsonl` of steps up to `step` and drops the rest: later lines, a
/// torn last line and lines that are not layer statistics. An absent file is left absent.
/// Read line by line (never more than [`MAX_LINE_BYTES`] at once) and replaced whole.
pub fn keep_layers_through(path: &Path, step: u64) -> Result<MetricsRepair, RecordError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(MetricsRepair::default()),
        Err(e) => return Err(record_error(path, e)),
    };
    let mut repair = MetricsRepair::default();
    write_atomic_with(path, |out| {
        for_each_whole_line(BufReader::new(file), &mut repair, |line, repair| {
            match Record::from_json_line(line) {
                Some(Record::Layers(stats)) if stats.step <= step => {
                    repair.kept += 1;
                    out.write_all(line)?;
                    out.write_all(b"\n")?;
                }
                Some(Record::Layers(_)) => {}
                _ => repair.damaged += 1,
            }
            Ok(())
        })
    })
    .map_err(|e| record_error(path, e))?;
    Ok(repair)
}

/// Copies the header ([`metrics_header`]) and the rows of steps up to `step` from `input` to
/// `out`, each row rewritten in today's column order; see [`keep_rows_through`]. Rows are
/// read by the file's own header (columns added, missing or reordered, a byte-order mark,
/// `\r\n` line ends), or by today's header when the file has none.
pub fn filter_rows(
    input: impl BufRead,
    step: u64,
    out: &mut dyn Write,
) -> io::Result<MetricsRepair> {
    let mut repair = MetricsRepair::default();
    writeln!(out, "{}", metrics_header())?;
    let mut format = None;
    for_each_whole_line(input, &mut repair, |line, repair| {
        let text = std::str::from_utf8(line).ok();
        if format.is_none() {
            let (header, problem) = RowFormat::from_header(text.unwrap_or_default());
            let has_header = problem.is_none();
            format = Some(if has_header {
                header
            } else {
                RowFormat::from_header(metrics_header()).0
            });
            if has_header {
                return Ok(());
            }
        }
        let row = text.and_then(|t| format.as_ref()?.row(t));
        match row {
            Some(row) if row.step <= step => {
                repair.kept += 1;
                writeln!(out, "{}", row.to_csv())?;
            }
            Some(_) => {}
            None => repair.damaged += 1,
        }
        Ok(())
    })?;
    Ok(repair)
}

/// Hands each whole line of `input` (without its line end) to `on_line`; a torn last line is
/// counted in [`MetricsRepair::torn_bytes`] and a line past [`MAX_LINE_BYTES`] as damaged.
fn for_each_whole_line(
    mut input: impl BufRead,
    repair: &mut MetricsRepair,
    mut on_line: impl FnMut(&[u8], &mut MetricsRepair) -> io::Result<()>,
) -> io::Result<()> {
    let mut line = Vec::new();
    while let Some(end) = read_line(&mut input, &mut line)? {
        match end {
            LineEnd::Newline => on_line(&line, repair)?,
            LineEnd::Eof => {
                repair.torn_bytes = line.len() as u64;
                break;
            }
            LineEnd::TooLong => repair.damaged += 1,
        }
    }
    Ok(())
}

/// How a line read by [`read_line`] ended.
enum LineEnd {
    /// With its line end (not kept in the buffer).
    Newline,
    /// At the end of the input, without a line end: a torn line.
    Eof,
    /// Past [`MAX_LINE_BYTES`]; the rest of it was skipped and the buffer is empty.
    TooLong,
}

/// Reads one line into `line` (cleared first), holding at most [`MAX_LINE_BYTES`] of it.
/// `None` at the end of the input.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<Option<LineEnd>> {
    line.clear();
    let n = input.take(MAX_LINE_BYTES + 1).read_until(b'\n', line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(Some(LineEnd::Newline));
    }
    if (n as u64) <= MAX_LINE_BYTES {
        return Ok(Some(LineEnd::Eof));
    }
    // Skip the rest of the over-long line without keeping it.
    line.clear();
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                break;
            }
            None => {
                let len = chunk.len();
                input.consume(len);
            }
        }
    }
    Ok(Some(LineEnd::TooLong))
}

/// Cuts a torn last line (one without its line end, left by a crash mid-write) off the end
/// of the file at `path`. Returns how many bytes were cut, `None` when the file ends with a
/// complete line, is empty or is absent. Reads backwards from the end, a block at a time.
pub fn repair_torn_tail(path: &Path) -> io::Result<Option<u64>> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut end = len;
    let mut block = vec![0u8; 64 << 10];
    let keep = loop {
        if end == 0 {
            break 0;
        }
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if end == len && chunk.last() == Some(&b'\n') {
            return Ok(None);
        }
        if let Some(at) = chunk.iter().rposition(|&b| b == b'\n') {
            break start + at as u64 + 1;
        }
        end = start;
    };
    if keep == len {
        return Ok(None);
    }
    file.set_len(keep)?;
    file.sync_all()?;
    Ok(Some(len - keep))
}

/// Removes what a crashed writer left half-done: checkpoint folders under their temporary
/// names or without their metadata ([`RunDir::unfinished_checkpoints`]), and temporary files
/// of replaced records. Only called with the run's
/// write lock held, so nobody is writing them. Returns a note when anything was removed.
fn remove_leftovers(run: &RunDir) -> Option<String> {
    let mut removed = Vec::new();
    for folder in run.unfinished_checkpoints() {
        if fs::remove_dir_all(&folder).is_ok() {
            removed.push(folder);
        }
    }
    let temporaries = fs::read_dir(run.path())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            crate::durable::is_temporary(&entry.file_name().to_string_lossy())
                && entry.file_type().is_ok_and(|t| t.is_file())
        });
    for entry in temporaries {
        if fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    (!removed.is_empty()).then(|| {
        let names: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
        format!(
            "removed what a crash left half-written or half-deleted: {}",
            names.join(", ")
        )
    })
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
            epoch: step as f64 / 4.0,
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
        records.event(&Record::Rollback { to_step: 5 }).unwrap();
        records.flush().unwrap();
        drop(records);
        let csv = fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 6);
        assert!(csv.starts_with(metrics_header()));
        assert!(csv
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("1,0.5,0.75,0.0001,1000.0,1.000"));
        let events = fs::read_to_string(run.join("events.jsonl")).unwrap();
        let event: serde_json::Value = serde_json::from_str(events.trim()).unwrap();
        assert_eq!(event["event"], "rollback");
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
    fn layer_statistics_after_a_rollback_or_resume_step_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("run"));
        let mut records = RunRecords::create(&run, &Config::default()).unwrap();
        for step in [2, 4, 6] {
            records
                .layers(&crate::run::layers::tests::example(step))
                .unwrap();
        }
        records.rewind(4).unwrap();
        records
            .layers(&crate::run::layers::tests::example(5))
            .unwrap();
        drop(records);
        let steps = |run: &RunDir| -> Vec<u64> {
            fs::read_to_string(run.layers_file())
                .unwrap()
                .lines()
                .map(|l| match Record::from_json_line(l.as_bytes()) {
                    Some(Record::Layers(s)) => s.step,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(steps(&run), [2, 4, 5]);
        let mut file = OpenOptions::new()
            .append(true)
            .open(run.layers_file())
            .unwrap();
        file.write_all(b"garbage\n{\"event\":\"lay").unwrap();
        let mut resumed = RunRecords::resume(&run, 4, &Config::default()).unwrap();
        let notes = resumed.take_notes().join("\n");
        assert!(
            notes.contains("a torn last line (13 bytes") && notes.contains("1 damaged line"),
            "{notes}"
        );
        drop(resumed);
        assert_eq!(steps(&run), [2, 4]);
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

    #[test]
    fn a_torn_last_line_is_cut_off_and_a_whole_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        assert_eq!(repair_torn_tail(&path).unwrap(), None, "absent");
        fs::write(&path, "").unwrap();
        assert_eq!(repair_torn_tail(&path).unwrap(), None, "empty");
        fs::write(&path, "{\"a\":1}\n{\"b\":2}\n").unwrap();
        assert_eq!(repair_torn_tail(&path).unwrap(), None, "whole");
        fs::write(&path, "{\"a\":1}\n{\"b\":").unwrap();
        assert_eq!(repair_torn_tail(&path).unwrap(), Some(5));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":1}\n");
        // A torn line longer than the block read at a time, and a file of one torn line.
        let long = format!("{{\"a\":1}}\n{}", "x".repeat(200_000));
        fs::write(&path, long).unwrap();
        assert_eq!(repair_torn_tail(&path).unwrap(), Some(200_000));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":1}\n");
        fs::write(&path, "{\"torn").unwrap();
        assert_eq!(repair_torn_tail(&path).unwrap(), Some(6));
        assert_eq!(fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn rows_after_the_step_a_torn_row_and_damaged_lines_are_dropped() {
        let long = "9".repeat(MAX_LINE_BYTES as usize + 10);
        let mut input = format!(
            "{}\n1,0.5,0.5,0.0001,10.0,1.000,0.1\nnot a row\n{long}\n2,0.4,0.6,0.0001,10.0,2.000,0.2\n\
             3,0.3,0.7,0.0001,10.0,3.000,0.3\n",
            metrics_header()
        )
        .into_bytes();
        input.extend_from_slice(b"\xff\n4,0.2");
        let mut out = Vec::new();
        let repair = filter_rows(&input[..], 2, &mut out).unwrap();
        assert_eq!(
            repair,
            MetricsRepair {
                kept: 2,
                torn_bytes: 5,
                damaged: 3
            }
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            format!(
                "{}\n1,0.5,0.5,0.0001,10.0,1.000,0.100000\n2,0.4,0.6,0.0001,10.0,2.000,0.200000\n",
                metrics_header()
            )
        );
        let note = repair.note(Path::new("m.csv"), "row").unwrap();
        assert!(note.contains("torn last row (5 bytes"), "{note}");
        assert!(note.contains("3 damaged line(s)"), "{note}");
        // A file without its header gets it back; nothing dropped, nothing noted.
        let mut out = Vec::new();
        let repair = filter_rows(&b"1,0.5,0.5,0.0001,10.0,1.000,0.1\n"[..], 5, &mut out).unwrap();
        assert_eq!(repair.kept, 1);
        assert_eq!(repair.note(Path::new("m.csv"), "row"), None);
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with(metrics_header()));
    }

    #[test]
    fn rows_are_read_by_their_header_and_rewritten_in_todays_order() {
        // Columns reordered, an older file without the epoch, a byte-order mark, CRLF.
        let input = "\u{feff}wall_seconds,step,accuracy,loss,learning_rate,samples_per_sec\r\n\
                     1.000,1,0.5,0.25,0.0001,10.0\r\n2.000,2,0.75,0.125,0.0001,10.0\r\n";
        let mut out = Vec::new();
        let repair = filter_rows(input.as_bytes(), 5, &mut out).unwrap();
        assert_eq!(
            repair,
            MetricsRepair {
                kept: 2,
                torn_bytes: 0,
                damaged: 0
            }
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "{}\n1,0.25,0.5,0.0001,10.0,1.000,NaN\n2,0.125,0.75,0.0001,10.0,2.000,NaN\n",
                metrics_header()
            )
        );
    }

    #[test]
    fn a_resume_repairs_what_a_crash_left_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("run"));
        let mut records = RunRecords::create(&run, &Config::default()).unwrap();
        assert!(records.take_notes().is_empty());
        for step in 1..=3 {
            records.step(&row(step, step as f64)).unwrap();
        }
        records.event(&Record::Stop { step: 3 }).unwrap();
        drop(records);
        // What a kill mid-write leaves.
        let mut events = OpenOptions::new()
            .append(true)
            .open(run.events_file())
            .unwrap();
        events.write_all(b"{\"event\":\"che").unwrap();
        let mut metrics = OpenOptions::new()
            .append(true)
            .open(run.metrics_file())
            .unwrap();
        metrics.write_all(b"4,0.1").unwrap();
        let half = run.checkpoints_dir().join(".step-00000004.tmp-99");
        fs::create_dir_all(&half).unwrap();
        fs::write(run.path().join(".tmpAbC123"), "half a config").unwrap();
        fs::write(run.path().join(".digitdash-tmpXyZ789"), "half a config").unwrap();
        fs::write(run.path().join(".tmp-my-notes"), "the user's own").unwrap();
        fs::write(run.pid_file(), "4000001\n").unwrap();

        let mut resumed = RunRecords::resume(&run, 3, &Config::default()).unwrap();
        let notes = resumed.take_notes().join("\n");
        assert!(notes.contains("process 4000001"), "{notes}");
        assert!(
            notes.contains("removed what a crash left half-written"),
            "{notes}"
        );
        assert!(
            notes.contains("events.jsonl ended in a torn line (13 bytes"),
            "{notes}"
        );
        assert!(notes.contains("a torn last row (5 bytes"), "{notes}");
        assert!(!half.exists());
        assert!(!run.path().join(".tmpAbC123").exists());
        assert!(!run.path().join(".digitdash-tmpXyZ789").exists());
        assert!(run.path().join(".tmp-my-notes").exists(), "not ours: kept");
        resumed.step(&row(4, 4.0)).unwrap();
        resumed.event(&Record::Stop { step: 4 }).unwrap();
        drop(resumed);
        assert_eq!(row_steps(run.path()), ["1", "2", "3", "4"]);
        for line in fs::read_to_string(run.events_file()).unwrap().lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
}
