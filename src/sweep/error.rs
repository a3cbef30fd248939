//! What can be wrong with a sweep: its file, its folder, or its records.

use std::path::PathBuf;

use thiserror::Error;

/// A sweep that cannot be read, started or resumed.
#[derive(Debug, Error)]
pub enum SweepError {
    /// The sweep file cannot be read.
    #[error("cannot read the sweep file {path}: {cause}. Check the path (examples/sweep.toml is a documented example).")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not chained).
        cause: std::io::Error,
    },
    /// The sweep file is not TOML of the sweep's shape (syntax, unknown key, wrong type).
    #[error("sweep file {path} is invalid: {message}\nFix that line; examples/sweep.toml lists every key with its meaning.")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key of the sweep file has a value that cannot be used.
    #[error("sweep file {path}: {key}: {problem}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The dotted key, e.g. `space.learning_rate`.
        key: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The base config of the sweep is not valid.
    #[error("sweep file {path}: its base settings are invalid: {message}")]
    Base {
        /// The file.
        path: PathBuf,
        /// The config error.
        message: String,
    },
    /// A folder holds no sweep.
    #[error("{dir} holds no sweep (no sweep.toml): pass the folder `digitdash sweep` or `sweep plan` wrote")]
    NotASweep {
        /// The folder.
        dir: PathBuf,
    },
    /// The sweep's folder or one of its files cannot be written or read.
    #[error(
        "cannot {action} {path}: {cause}. Check that the folder is writable and the disk has room."
    )]
    Io {
        /// What was being done: `write`, `read`, `create`.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// A trial number beyond the sweep's plan.
    #[error("the sweep in {dir} plans trials 0 to {last}; there is no trial {trial}")]
    NoSuchTrial {
        /// The sweep folder.
        dir: PathBuf,
        /// The trial asked for.
        trial: usize,
        /// The last planned trial.
        last: usize,
    },
}

impl SweepError {
    /// Whether the sweep file (or the command line that overrides it) needs fixing, as
    /// against a folder or a disk: the exit status of a bad config, 2.
    pub fn is_in_the_file(&self) -> bool {
        matches!(
            self,
            SweepError::Parse { .. } | SweepError::Key { .. } | SweepError::Base { .. }
        )
    }

    /// An error about `key` of the sweep file `path`.
    pub fn key(path: &std::path::Path, key: impl Into<String>, problem: impl Into<String>) -> Self {
        SweepError::Key {
            path: path.to_path_buf(),
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// An I/O error while doing `action` to `path`.
    pub fn io(action: &'static str, path: &std::path::Path, cause: std::io::Error) -> Self {
        SweepError::Io {
            action,
            path: path.to_path_buf(),
            cause,
        }
    }
}
