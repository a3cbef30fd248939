//! A sweep's folder: every path in it, creating it, and its journal of decisions.
//!
//! ```text
//! runs/sweep-20261206-101500/
//!     sweep.toml         the sweep file as it runs (--trials and --steps applied)
//!     base.toml          the settings every trial starts from (preset and config resolved)
//!     decisions.jsonl    one record a trial decision (sweep::record)
//!     leaderboard.txt    the trials ranked by validation accuracy, written when the sweep ends
//!     trial-000/         an ordinary run folder: config.toml, metrics.csv, events.jsonl, ...
//!     .lock, writer.pid  held by the local sweep that runs it (`sweep --resume` waits its turn)
//! ```
//!
//! Several processes may append to `decisions.jsonl` at once (the trials of a cluster job):
//! each appends whole lines under an exclusive lock on the file (`flock`), so lines never
//! interleave on a file system that honours appends and locks (local disks, NFSv4, Lustre
//! and GPFS mounted with locking).

use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::error::SweepError;
use super::record::SweepRecord;
use super::spec::SweepFile;
use crate::config::Config;
use crate::durable::write_atomic;
use crate::run::RunDir;

/// The sweep file as it runs.
const SWEEP_FILE: &str = "sweep.toml";
/// The settings the trials start from.
const BASE_FILE: &str = "base.toml";
/// One record a decision.
const DECISIONS_FILE: &str = "decisions.jsonl";
/// The ranked trials, written whole when the sweep ends.
const LEADERBOARD_FILE: &str = "leaderboard.txt";

/// The folder of one sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepDir {
    root: PathBuf,
}

impl SweepDir {
    /// The sweep kept in `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The sweep file as it runs.
    pub fn sweep_file(&self) -> PathBuf {
        self.root.join(SWEEP_FILE)
    }

    /// The settings every trial starts from.
    pub fn base_file(&self) -> PathBuf {
        self.root.join(BASE_FILE)
    }

    /// The journal of decisions.
    pub fn decisions_file(&self) -> PathBuf {
        self.root.join(DECISIONS_FILE)
    }

    /// The ranked trials, as `sweep report` prints them, written when the sweep ends.
    pub fn leaderboard_file(&self) -> PathBuf {
        self.root.join(LEADERBOARD_FILE)
    }

    /// Writes `lines` whole as the sweep's leaderboard.
    pub fn write_leaderboard(&self, lines: &[String]) -> Result<(), SweepError> {
        let path = self.leaderboard_file();
        let mut text = lines.join("\n");
        text.push('\n');
        write_atomic(&path, text.as_bytes()).map_err(|e| SweepError::io("write", &path, e))
    }

    /// Whether the folder holds a sweep (its `sweep.toml`).
    pub fn is_sweep(&self) -> bool {
        self.sweep_file().is_file()
    }

    /// The folder name of trial `trial`: `trial-007`.
    pub fn trial_name(trial: usize) -> String {
        format!("trial-{trial:03}")
    }

    /// The run folder of trial `trial`.
    pub fn trial(&self, trial: usize) -> RunDir {
        RunDir::new(self.root.join(Self::trial_name(trial)))
    }

    /// The run folder as the sweep's own, for its lock (`.lock`, `writer.pid`).
    pub fn as_run(&self) -> RunDir {
        RunDir::new(&self.root)
    }

    /// Creates the sweep in a folder that is missing or empty: its sweep file and base
    /// settings, each written whole.
    pub fn create(&self, file: &SweepFile, base: &Config) -> Result<(), SweepError> {
        match fs::read_dir(&self.root) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(SweepError::io(
                        "create a sweep in",
                        &self.root,
                        std::io::Error::other(
                            "the folder is not empty: choose a new --out folder, or continue \
                             the sweep in it with `digitdash sweep --resume`",
                        ),
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.root)
                    .map_err(|e| SweepError::io("create", &self.root, e))?;
            }
            Err(e) => return Err(SweepError::io("read", &self.root, e)),
        }
        let write = |path: PathBuf, text: String| {
            write_atomic(&path, text.as_bytes()).map_err(|e| SweepError::io("write", &path, e))
        };
        write(self.base_file(), base.to_toml())?;
        write(self.sweep_file(), file.to_toml())
    }

    /// Reads the sweep file and the base settings back.
    pub fn load(&self) -> Result<(SweepFile, Config), SweepError> {
        if !self.is_sweep() {
            return Err(SweepError::NotASweep {
                dir: self.root.clone(),
            });
        }
        let file = SweepFile::load(&self.sweep_file())?;
        let base = Config::load(&self.base_file()).map_err(|e| SweepError::Base {
            path: self.base_file(),
            message: e.to_string(),
        })?;
        Ok((file, base))
    }

    /// Appends `records` to the journal, each a whole line, under the file's lock; a line torn
    /// by a crash before is ended first, so it cannot swallow the next.
    pub fn append(&self, records: &[SweepRecord]) -> Result<(), SweepError> {
        if records.is_empty() {
            return Ok(());
        }
        let path = self.decisions_file();
        let io = |e| SweepError::io("write", &path, e);
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        let mut text = String::new();
        if ends_torn(&mut file).map_err(io)? {
            text.push('\n');
        }
        for record in records {
            text.push_str(&record.to_json_line());
            text.push('\n');
        }
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_data());
        let _ = file.unlock();
        written.map_err(io)
    }

    /// The journal's records in order (a missing journal: none); lines that are not records
    /// (a torn last line) are passed over.
    pub fn records(&self) -> Result<Vec<SweepRecord>, SweepError> {
        let path = self.decisions_file();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(SweepError::io("read", &path, e)),
        };
        Ok(bytes
            .split(|b| *b == b'\n')
            .filter_map(SweepRecord::from_json_line)
            .collect())
    }
}

/// Whether `file` is non-empty and does not end with a line end.
fn ends_torn(file: &mut fs::File) -> std::io::Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::record::{Planned, TrialFailed};

    #[test]
    fn the_journal_survives_a_torn_line_and_a_second_create_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sweep = SweepDir::new(dir.path().join("s"));
        let file = SweepFile::from_toml(
            "method = \"grid\"\n[budget]\nsteps = 5\n[space]\ndropout = [0.1]\n",
            Path::new("x"),
        )
        .unwrap();
        sweep.create(&file, &Config::default()).unwrap();
        assert!(sweep.create(&file, &Config::default()).is_err());
        let (read, base) = sweep.load().unwrap();
        assert_eq!((read, base), (file, Config::default()));
        let planned = SweepRecord::Planned(Planned {
            trial: 0,
            settings: Default::default(),
        });
        sweep.append(std::slice::from_ref(&planned)).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(sweep.decisions_file())
            .unwrap();
        f.write_all(b"{\"decision\":\"fai").unwrap();
        let failed = SweepRecord::Failed(TrialFailed {
            trial: 0,
            rung: 0,
            message: "x".into(),
        });
        sweep.append(std::slice::from_ref(&failed)).unwrap();
        assert_eq!(sweep.records().unwrap(), [planned, failed]);
        assert_eq!(SweepDir::trial_name(7), "trial-007");
        assert_eq!(SweepDir::trial_name(1234), "trial-1234");
    }
}
