//! Runs read from their folders for the charts' overlay (`--compare`, the run picker, the
//! trials chosen on the Sweep page).

use std::path::PathBuf;

use super::app::ComparedRun;
use crate::run::history::RunHistory;
use crate::run::metrics::Detail;
use crate::run::RunDir;

/// Reads the runs in `paths` for the charts' overlay: the runs read, and a line for each
/// that could not be.
pub fn load_compared(paths: &[PathBuf]) -> (Vec<ComparedRun>, Vec<String>) {
    let mut runs = Vec::new();
    let mut failures = Vec::new();
    for path in paths {
        match RunHistory::open(RunDir::new(path), Detail::Full) {
            Ok(history) => runs.push(ComparedRun::from_history(&history)),
            Err(e) => failures.push(format!("cannot read {}: {e}", path.display())),
        }
    }
    (runs, failures)
}
