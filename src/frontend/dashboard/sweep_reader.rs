//! The thread that reads a followed sweep's folder: its journal and every trial's records,
//! and the overlaid trials' curves. A sweep of many long trials takes longer to read than a
//! frame lasts, so the frame loop only asks and takes the answers as they come.

use std::io;
use std::path::PathBuf;
use std::thread;

use flume::{Receiver, Sender, TrySendError};

use super::app::ComparedRun;
use super::compared_runs::load_compared;
use crate::sweep::SweepBoard;

/// A read to make: the sweep's folder and the overlaid trials to read again.
struct Request {
    dir: PathBuf,
    reload: Vec<PathBuf>,
}

/// One read of a sweep.
pub struct SweepRead {
    /// The sweep as its folder says, or why it could not be read.
    pub board: Result<SweepBoard, String>,
    /// The overlaid trials read again (one that cannot be read now is left out: its older
    /// curves stay).
    pub runs: Vec<ComparedRun>,
}

/// Reads sweeps on a thread of its own.
pub struct SweepReader {
    requests: Sender<Request>,
    /// The reads, in the order they were made.
    pub reads: Receiver<SweepRead>,
}

impl SweepReader {
    /// Starts the reading thread; it ends when the reader is dropped.
    pub fn spawn() -> io::Result<Self> {
        // One read waiting at most: while a slow read runs, the next timer's request waits
        // and later ones are dropped, as the read that follows covers them.
        let (requests, inbox) = flume::bounded::<Request>(1);
        let (outbox, reads) = flume::unbounded();
        thread::Builder::new()
            .name("sweep-reader".into())
            .spawn(move || {
                for request in inbox.iter() {
                    let read = read(&request);
                    if outbox.send(read).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self { requests, reads })
    }

    /// Asks for a read of the sweep in `dir` and of the trials in `reload`; returns false
    /// when it was dropped (one waits already, or the thread has gone).
    pub fn ask(&self, dir: PathBuf, reload: Vec<PathBuf>) -> bool {
        match self.requests.try_send(Request { dir, reload }) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }
}

/// Makes one read.
fn read(request: &Request) -> SweepRead {
    let board = SweepBoard::read(&request.dir).map_err(|e| e.to_string());
    let (runs, _unread) = load_compared(&request.reload);
    SweepRead { board, runs }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_read_of_a_missing_folder_comes_back_as_its_error() {
        let reader = SweepReader::spawn().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-sweep-here");
        assert!(reader.ask(missing.clone(), Vec::new()));
        let read = reader.reads.recv_timeout(Duration::from_secs(10)).unwrap();
        let error = read.board.unwrap_err();
        assert!(error.contains("no-sweep-here"), "{error}");
        assert!(read.runs.is_empty());
    }
}
