//! Reading a file that another process appends to, a piece at a time: each read returns only
//! the complete lines appended since the last one.
//!
//! A partial last line (the writer has not written its newline yet, or died mid-line) is held
//! back until the rest arrives, never handed out early. A file that got shorter than what was
//! read, or whose bytes already read changed (a rewrite, as after a rollback, which replaces
//! `metrics.csv` with a shorter copy and then appends to it), is read again from the start:
//! the reader keeps the first bytes of the file and the bytes just before its offset and
//! compares them with the file on every read. The file is opened anew on every read, so a file
//! replaced by a rename is followed, and only plain reads are used, so it works over a network
//! file system or `sshfs`.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Bytes read at a time.
const CHUNK: usize = 256 * 1024;
/// Bytes at the start of the file kept to notice a rewrite.
const HEAD: usize = 64;
/// Bytes before the offset kept to notice a rewrite that keeps the first bytes.
const WINDOW: usize = 64;
/// The longest line of a record file kept, by every reader of the run's records; a row is
/// about 60 bytes, an event a few hundred to a few thousand (a start record holds the
/// settings). A longer line is damage: it is skipped (and counted) up to its newline, never
/// held in memory.
pub const MAX_LINE_BYTES: u64 = 64 << 10;
/// [`MAX_LINE_BYTES`] as a length in memory.
const MAX_LINE: usize = MAX_LINE_BYTES as usize;

/// A file that could not be read.
#[derive(Debug, Error)]
#[error("cannot read {path}: {source}. Check that the file is readable (and, for a run folder on another machine, that its file system is still mounted).")]
pub struct TailError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// What a [`TailReader::read`] hands to its caller, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TailItem<'a> {
    /// The file was truncated, rewritten or removed: forget every line handed out before.
    /// Comes first, before the lines read again from the start.
    Reset,
    /// A complete, non-empty line, without its `\n` or `\r\n`.
    Line(&'a [u8]),
}

/// What one [`TailReader::read`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailRead {
    /// The file was truncated, rewritten or removed since the last read: everything read
    /// before is void, and the lines handed out this time are read from the start.
    pub reset: bool,
    /// Complete lines handed out.
    pub lines: usize,
    /// Lines longer than [`MAX_LINE_BYTES`] skipped.
    pub overlong: usize,
    /// Whether the file exists.
    pub exists: bool,
}

/// Reads the lines appended to one file since the last read.
#[derive(Debug, Clone)]
pub struct TailReader {
    path: PathBuf,
    /// Bytes consumed: complete lines and the partial line held.
    offset: u64,
    /// The partial last line, without its newline yet.
    partial: Vec<u8>,
    /// Skipping the rest of an overlong line.
    skipping: bool,
    /// The file's first bytes, up to [`HEAD`].
    head: Vec<u8>,
    /// The bytes just before `offset`, up to [`WINDOW`].
    before: Vec<u8>,
}

impl TailReader {
    /// A reader of `path` that has read nothing yet (the file need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            offset: 0,
            partial: Vec::new(),
            skipping: false,
            head: Vec::new(),
            before: Vec::new(),
        }
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes consumed so far, the partial line included.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether a partial last line (no newline yet) is held back.
    pub fn has_partial_line(&self) -> bool {
        !self.partial.is_empty() || self.skipping
    }

    /// Hands each complete, non-empty line appended since the last read to `on`, in order.
    /// When the file was truncated, rewritten or removed, it first hands [`TailItem::Reset`],
    /// forgets what it read and reads from the start.
    pub fn read(&mut self, mut on: impl FnMut(TailItem<'_>)) -> Result<TailRead, TailError> {
        let path = self.path.clone();
        let fail = |source| TailError {
            path: path.clone(),
            source,
        };
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let reset = self.offset > 0;
                if reset {
                    on(TailItem::Reset);
                }
                self.forget();
                return Ok(TailRead {
                    reset,
                    ..TailRead::default()
                });
            }
            Err(e) => return Err(fail(e)),
        };
        let mut answer = TailRead {
            exists: true,
            ..TailRead::default()
        };
        if self.offset > 0 && !self.unchanged(&mut file).map_err(fail)? {
            self.forget();
            answer.reset = true;
            on(TailItem::Reset);
        }
        file.seek(SeekFrom::Start(self.offset)).map_err(fail)?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(fail(e)),
            };
            self.consume(&buf[..n], &mut answer, &mut |line| on(TailItem::Line(line)));
        }
        Ok(answer)
    }

    /// Forgets everything read: the next read starts at the beginning.
    fn forget(&mut self) {
        *self = Self::new(std::mem::take(&mut self.path));
    }

    /// Whether the file still holds the bytes read so far, as far as the kept fingerprint
    /// (length, first bytes, bytes before the offset) tells.
    fn unchanged(&self, file: &mut File) -> std::io::Result<bool> {
        if file.metadata()?.len() < self.offset {
            return Ok(false);
        }
        let same_at = |file: &mut File, at: u64, expected: &[u8]| -> std::io::Result<bool> {
            let mut found = vec![0u8; expected.len()];
            file.seek(SeekFrom::Start(at))?;
            match file.read_exact(&mut found) {
                Ok(()) => Ok(found == expected),
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => Ok(false),
                Err(e) => Err(e),
            }
        };
        let before_at = self.offset - self.before.len() as u64;
        Ok(same_at(file, 0, &self.head)? && same_at(file, before_at, &self.before)?)
    }

    /// Takes `bytes` read at `offset`: hands out the lines they complete and keeps the rest.
    fn consume(&mut self, bytes: &[u8], answer: &mut TailRead, on_line: &mut impl FnMut(&[u8])) {
        self.fingerprint(bytes);
        self.offset += bytes.len() as u64;
        let mut rest = bytes;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let piece = &rest[..end];
            rest = &rest[end + 1..];
            if self.skipping {
                self.skipping = false;
                continue;
            }
            let line = if self.partial.is_empty() {
                piece
            } else if self.partial.len() + piece.len() > MAX_LINE {
                self.partial.clear();
                answer.overlong += 1;
                continue;
            } else {
                self.partial.extend_from_slice(piece);
                &self.partial[..]
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.len() > MAX_LINE {
                answer.overlong += 1;
            } else if !line.is_empty() {
                on_line(line);
                answer.lines += 1;
            }
            self.partial.clear();
        }
        if self.skipping {
            return;
        }
        if self.partial.len() + rest.len() > MAX_LINE {
            self.partial.clear();
            self.skipping = true;
            answer.overlong += 1;
        } else {
            self.partial.extend_from_slice(rest);
        }
    }

    /// Updates the kept first bytes and the bytes before the offset with `bytes`, read at the
    /// current offset.
    fn fingerprint(&mut self, bytes: &[u8]) {
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
        if bytes.len() >= WINDOW {
            self.before.clear();
            self.before
                .extend_from_slice(&bytes[bytes.len() - WINDOW..]);
        } else {
            self.before.extend_from_slice(bytes);
            let excess = self.before.len().saturating_sub(WINDOW);
            self.before.drain(..excess);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::OpenOptions;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    /// The lines read, after a `RESET` line when the reader said so.
    fn lines(reader: &mut TailReader) -> (Vec<String>, TailRead) {
        let mut out = Vec::new();
        let read = reader
            .read(|item| match item {
                TailItem::Reset => out.push("RESET".to_string()),
                TailItem::Line(line) => out.push(String::from_utf8_lossy(line).into_owned()),
            })
            .unwrap();
        (out, read)
    }

    #[test]
    fn only_appended_complete_lines_are_handed_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut reader = TailReader::new(&path);
        let (got, read) = lines(&mut reader);
        assert!(got.is_empty() && !read.exists && !read.reset);

        append(&path, "a\nb\r\n\npar");
        let (got, read) = lines(&mut reader);
        assert_eq!(got, ["a", "b"]);
        assert!(read.exists && !read.reset);
        assert!(reader.has_partial_line());

        let (got, _) = lines(&mut reader);
        assert!(got.is_empty(), "the partial line waits for its newline");
        append(&path, "tial\nc\n");
        let (got, _) = lines(&mut reader);
        assert_eq!(got, ["partial", "c"]);
        assert!(!reader.has_partial_line());
        assert_eq!(reader.offset(), 16);
    }

    #[test]
    fn truncation_rewrite_and_removal_read_again_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut reader = TailReader::new(&path);
        std::fs::write(&path, "header\n1,aaaa\n2,bbbb\n3,cccc\n").unwrap();
        assert_eq!(lines(&mut reader).0.len(), 4);

        std::fs::write(&path, "header\n1,aaaa\n").unwrap();
        let (got, read) = lines(&mut reader);
        assert!(read.reset);
        assert_eq!(got, ["RESET", "header", "1,aaaa"]);

        // Same first bytes, longer than the offset, but different bytes before it.
        std::fs::write(&path, "header\n1,aaaa\n2,zzzz\n3,yyyy\n").unwrap();
        let (_, read) = lines(&mut reader);
        assert!(!read.reset, "appended to an unchanged start");
        std::fs::write(&path, "header\n1,aaaa\n2,bbbb\n3,cccc\n4,dddd\n5,eeee\n").unwrap();
        let (got, read) = lines(&mut reader);
        assert!(read.reset, "rewritten with other rows after the first");
        assert_eq!(got.len(), 7);
        assert_eq!(got[0], "RESET");

        std::fs::remove_file(&path).unwrap();
        let (got, read) = lines(&mut reader);
        assert!(read.reset && !read.exists);
        assert_eq!(got, ["RESET"]);
        assert_eq!(reader.offset(), 0);
    }

    #[test]
    fn an_overlong_line_is_skipped_up_to_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut reader = TailReader::new(&path);
        append(&path, "ok\n");
        append(&path, &"x".repeat(MAX_LINE + 10));
        let (got, read) = lines(&mut reader);
        assert_eq!(got, ["ok"]);
        assert_eq!(read.overlong, 1);
        append(&path, "still the long line\nnext\n");
        let (got, read) = lines(&mut reader);
        assert_eq!(got, ["next"]);
        assert_eq!(read.overlong, 0);
    }
}
