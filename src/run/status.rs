//! Where a run stands, told from its folder: finished, stopped, failed, running, interrupted,
//! or not readable as a run at all.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::dir::RunDir;
use super::lock::{writer_state, WriterState};

/// How recently a run's records must have changed for [`writer_alive`] to take its writer for
/// alive (the interim rule).
pub const LIVENESS_WINDOW: Duration = Duration::from_secs(30);

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// A process is writing it.
    Running,
    /// It took all its planned steps.
    Finished,
    /// It was stopped before its planned steps, and ended cleanly.
    Stopped,
    /// Its last process recorded an error and ended without a summary.
    Failed {
        /// The error record's message.
        message: String,
    },
    /// Its last process is gone without a final record (killed, crashed, power cut).
    Interrupted,
    /// A run folder that cannot be read as one.
    Damaged {
        /// What is wrong.
        reason: String,
    },
    /// A folder without any run records.
    NotARun {
        /// What is missing.
        reason: String,
    },
}

impl RunStatus {
    /// One word for tables and scripts: `running`, `finished`, `stopped`, `failed`,
    /// `interrupted`, `damaged` or `not a run`.
    pub fn label(&self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed { .. } => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Damaged { .. } => "damaged",
            RunStatus::NotARun { .. } => "not a run",
        }
    }

    /// The error message or what is wrong, for the statuses that carry one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            RunStatus::Failed { message } => Some(message),
            RunStatus::Damaged { reason } | RunStatus::NotARun { reason } => Some(reason),
            _ => None,
        }
    }

    /// Whether the folder reads as a run (anything but damaged or not a run).
    pub fn is_run(&self) -> bool {
        !matches!(self, RunStatus::Damaged { .. } | RunStatus::NotARun { .. })
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            Some(detail) => write!(f, "{}: {detail}", self.label()),
            None => f.write_str(self.label()),
        }
    }
}

/// Whether a process is writing the run now.
///
/// The writer's lock decides when it can: a live process holding it means yes; a `writer.pid`
/// left without a lock holder means the writer died (no). Without either (a run written before
/// run folders were locked, or a folder on a network file system whose locks do not reach this
/// machine), a writer is taken for alive when `metrics.csv` or `events.jsonl` changed within
/// the last [`LIVENESS_WINDOW`] (30 s): the trainer flushes a step's row within 2 s. A file
/// dated in the future (clock skew between machines) counts as changed now.
pub fn writer_alive(run: &RunDir) -> bool {
    match writer_state(run) {
        WriterState::Running { .. } => return true,
        WriterState::Interrupted { .. } => return false,
        WriterState::Idle => {}
    }
    let now = SystemTime::now();
    [run.metrics_file(), run.events_file()]
        .iter()
        .filter_map(|path| path.metadata().and_then(|m| m.modified()).ok())
        .any(|modified| {
            now.duration_since(modified)
                .map_or(true, |age| age <= LIVENESS_WINDOW)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, File, FileTimes};

    #[test]
    fn a_run_is_alive_while_its_records_change() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert!(!writer_alive(&run), "no records, no writer");
        fs::write(run.metrics_file(), "step\n").unwrap();
        assert!(writer_alive(&run));
        let old = SystemTime::now() - LIVENESS_WINDOW - Duration::from_secs(5);
        let file = File::options()
            .write(true)
            .open(run.metrics_file())
            .unwrap();
        file.set_times(FileTimes::new().set_modified(old)).unwrap();
        assert!(!writer_alive(&run));
    }

    #[test]
    fn labels_and_details() {
        let failed = RunStatus::Failed {
            message: "boom".into(),
        };
        assert_eq!(failed.to_string(), "failed: boom");
        assert_eq!(RunStatus::Interrupted.to_string(), "interrupted");
        assert!(!RunStatus::NotARun { reason: "x".into() }.is_run());
    }
}
