//! One writer per run folder: the process that trains into a run holds an OS advisory lock on
//! its `.lock` file for as long as it runs, and writes its process id to `writer.pid` for
//! people.
//!
//! The lock is the operating system's (`flock` on Linux, through [`File::try_lock`]), so it
//! goes away with the process however it ends: a `writer.pid` left behind by a killed writer
//! names a process that no longer holds the lock, and the next writer takes over with a
//! note. Readers (`eval`) never take it; [`writer_state`] tells them whether the run is being
//! trained now or was interrupted.
//!
//! Within one process the lock is shared: `digitdash --resume` takes it before anything else,
//! and the run's records take the same lock again when they open, for as long as they are
//! open.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use thiserror::Error;

use super::dir::RunDir;
use crate::durable::write_atomic;

/// How often, and how long apart, a writer tries again when the lock is busy: a reader
/// checking on the run holds it (shared) for a moment.
const RETRIES: u32 = 10;
/// The pause between two tries.
const RETRY_PAUSE: Duration = Duration::from_millis(20);
/// The most of `writer.pid` read.
const MAX_PID_FILE_BYTES: u64 = 256;

/// The run folder could not be locked for writing.
#[derive(Debug, Error)]
pub enum LockError {
    /// Another process trains into the folder.
    #[error("{}", held_message(run, *pid))]
    Held {
        /// The run folder.
        run: PathBuf,
        /// The process holding the lock, from `writer.pid` (when it could be read).
        pid: Option<u32>,
    },
    /// The lock file cannot be created, opened or locked.
    #[error("cannot lock the run folder {} for writing: {cause} ({}). Check that the folder \
             is writable and on a file system with file locks, or choose another --run-dir.",
             run.display(), file.display())]
    Io {
        /// The run folder.
        run: PathBuf,
        /// The file that could not be locked or written.
        file: PathBuf,
        /// Why.
        cause: io::Error,
    },
}

/// The message of [`LockError::Held`]: who holds it and the way out.
fn held_message(run: &Path, pid: Option<u32>) -> String {
    let (who, stop) = match pid {
        Some(pid) => (
            format!("process {pid}"),
            format!("stop it (Ctrl-C in its terminal, or kill {pid})"),
        ),
        None => (
            "another process".to_string(),
            "stop it (Ctrl-C in its terminal)".to_string(),
        ),
    };
    format!(
        "the run {} is being trained by {who}; a run folder takes one writer at a time, or \
         the records of the two would mix. Wait for it to finish or {stop}, then resume \
         again; to train alongside it, start a new run instead (without --resume, or another \
         --run-dir).",
        run.display()
    )
}

/// Whether someone is training into a run folder, as a reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterState {
    /// A live process holds the lock: the run is being trained now.
    Running {
        /// Its process id, from `writer.pid` (when it could be read).
        pid: Option<u32>,
    },
    /// Nobody holds the lock but `writer.pid` is still there: the last writer was killed or
    /// crashed before it could finish (`--resume` goes on from its newest good checkpoint).
    Interrupted {
        /// The process id of that writer.
        pid: u32,
    },
    /// Nobody trains into the folder and the last writer ended cleanly (or never started).
    Idle,
}

/// The lock held on one run folder; shared by every holder in this process.
#[derive(Debug)]
struct Held {
    /// The canonical path of the run folder (the key among held locks).
    key: PathBuf,
    /// The lock file, locked while it is open.
    _file: File,
    /// `writer.pid`, removed when the lock is let go.
    pid_file: PathBuf,
    /// The process id in a `writer.pid` found when the lock was taken.
    taken_over_from: Option<u32>,
}

impl Drop for Held {
    fn drop(&mut self) {
        // Removed while the lock is still held, so no new writer's file is removed.
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

/// The locks this process holds, by canonical run folder.
static HELD: Mutex<Vec<Weak<Held>>> = Mutex::new(Vec::new());

/// The write lock on a run folder, held until every clone of it is dropped.
#[derive(Debug, Clone)]
pub struct RunLock {
    held: Arc<Held>,
}

impl RunLock {
    /// Locks the existing folder `run` for writing, or shares the lock this process already
    /// holds on it. Refused at once (after a few tries over a fifth of a second, in case a
    /// reader is checking on the run) when another process holds it.
    pub fn acquire(run: &RunDir) -> Result<Self, LockError> {
        let io_error = |file: &Path, cause| LockError::Io {
            run: run.path().to_path_buf(),
            file: file.to_path_buf(),
            cause,
        };
        let key = run
            .path()
            .canonicalize()
            .map_err(|e| io_error(run.path(), e))?;
        let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.retain(|weak| weak.strong_count() > 0);
        if let Some(same) = held.iter().filter_map(Weak::upgrade).find(|h| h.key == key) {
            return Ok(Self { held: same });
        }
        let lock_path = run.lock_file();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io_error(&lock_path, e))?;
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if tries < RETRIES => {
                    tries += 1;
                    std::thread::sleep(RETRY_PAUSE);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(LockError::Held {
                        run: run.path().to_path_buf(),
                        pid: read_pid(&run.pid_file()),
                    })
                }
                Err(TryLockError::Error(e)) => return Err(io_error(&lock_path, e)),
            }
        }
        let pid_file = run.pid_file();
        let ours = std::process::id();
        let taken_over_from = read_pid(&pid_file).filter(|&pid| pid != ours);
        write_atomic(&pid_file, format!("{ours}\n").as_bytes())
            .map_err(|e| io_error(&pid_file, e))?;
        let lock = Arc::new(Held {
            key,
            _file: file,
            pid_file,
            taken_over_from,
        });
        held.push(Arc::downgrade(&lock));
        Ok(Self { held: lock })
    }

    /// The process id of a writer that had been killed or had crashed, when this lock took
    /// over from it (its `writer.pid` was still there).
    pub fn taken_over_from(&self) -> Option<u32> {
        self.held.taken_over_from
    }

    /// A note for people about a lock taken over from a dead writer, if this one was.
    pub fn takeover_note(&self, run: &RunDir) -> Option<String> {
        self.taken_over_from().map(|pid| {
            format!(
                "the run {} was last trained by process {pid}, which ended without letting go \
                 of it (killed or crashed); this process takes it over",
                run.path().display()
            )
        })
    }
}

/// Whether a live process trains into `run` now, without taking the write lock (a shared lock
/// is tried for a moment; a writer starting just then tries again).
pub fn writer_state(run: &RunDir) -> WriterState {
    let pid = read_pid(&run.pid_file());
    let Ok(file) = File::open(run.lock_file()) else {
        return pid.map_or(WriterState::Idle, |pid| WriterState::Interrupted { pid });
    };
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => WriterState::Running { pid },
        // A file system without locks: only the file can tell.
        Err(TryLockError::Error(_)) => pid.map_or(WriterState::Idle, |pid| {
            if pid == std::process::id() {
                WriterState::Running { pid: Some(pid) }
            } else {
                WriterState::Interrupted { pid }
            }
        }),
        Ok(()) => {
            drop(file);
            pid.map_or(WriterState::Idle, |pid| WriterState::Interrupted { pid })
        }
    }
}

/// The process id written in a `writer.pid` (its first line), if it is there and readable.
fn read_pid(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path)
        .ok()?
        .take(MAX_PID_FILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    text.lines().next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_shares_its_lock_and_lets_go_when_the_last_holder_drops() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert_eq!(writer_state(&run), WriterState::Idle);
        let first = RunLock::acquire(&run).unwrap();
        let second = RunLock::acquire(&run).unwrap();
        assert_eq!(first.taken_over_from(), None);
        let ours = std::process::id();
        assert_eq!(read_pid(&run.pid_file()), Some(ours));
        assert_eq!(writer_state(&run), WriterState::Running { pid: Some(ours) });
        drop(first);
        assert_eq!(read_pid(&run.pid_file()), Some(ours), "still held");
        drop(second);
        assert!(!run.pid_file().exists());
        assert_eq!(writer_state(&run), WriterState::Idle);
    }

    #[test]
    fn a_pid_file_without_a_lock_is_an_interrupted_run_taken_over_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        std::fs::write(run.pid_file(), "4000000\n").unwrap();
        assert_eq!(
            writer_state(&run),
            WriterState::Interrupted { pid: 4_000_000 }
        );
        let lock = RunLock::acquire(&run).unwrap();
        assert_eq!(lock.taken_over_from(), Some(4_000_000));
        let note = lock.takeover_note(&run).unwrap();
        assert!(note.contains("process 4000000"), "{note}");
        assert!(note.contains("takes it over"), "{note}");
    }

    #[test]
    fn the_refusal_names_the_process_and_the_way_out() {
        let message = LockError::Held {
            run: PathBuf::from("runs/a"),
            pid: Some(42),
        }
        .to_string();
        assert!(
            message.contains("runs/a is being trained by process 42"),
            "{message}"
        );
        assert!(message.contains("kill 42"), "{message}");
        assert!(message.contains("start a new run instead"), "{message}");
    }

    #[test]
    fn a_missing_folder_is_an_error_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path().join("absent"));
        let err = RunLock::acquire(&run).unwrap_err();
        assert!(matches!(err, LockError::Io { .. }), "{err:?}");
        assert!(!run.path().exists());
    }
}
