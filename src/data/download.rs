//! Downloading the dataset files that are missing from the data folder.
//!
//! Each missing file is fetched from the mirrors in order. The body is streamed into a temporary
//! file in the same folder (`.{name}.part-{pid}-{n}`) while its SHA-256 (and MD5, when the table
//! has one) is computed; a response longer or shorter than the file's known size is refused;
//! only when the checksums match is the file synced and renamed to its final name. On any failure the
//! temporary file is removed and the next mirror is tried, so a half-downloaded or wrong file
//! never carries a final name. Temporary files left by an interrupted earlier run are removed
//! before starting. Files already present (under any accepted spelling, see
//! [`crate::data::find_file`]) are left alone; the IDX reader checks them.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::durable::sync_dir;

use super::error::DataError;
use super::files::{find_file, DataFile, MNIST_FILES};

/// MNIST's mirrors, tried in order; a file's URL is the mirror followed by its name.
pub const DEFAULT_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for each read of the response.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Progress is reported when this much time has passed since the last report...
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// ...or this many bytes have arrived since the last report.
const PROGRESS_BYTES: u64 = 256 * 1024;
/// A response larger than this is refused (the largest MNIST file is under 10 MB).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Size of the copy buffer.
const CHUNK: usize = 64 * 1024;

/// A file to download: its name (in the mirror and on disk), the SHA-256 it must have, and
/// its MD5 and size when they are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// File name, both after the mirror URL and in the data folder.
    pub name: String,
    /// Expected SHA-256 of the file, in hex (either case).
    pub sha256: String,
    /// Expected MD5 of the file, in hex (either case), if known.
    pub md5: Option<String>,
    /// Expected size in bytes, if known: a mirror that announces or sends another size is
    /// passed over without waiting for the rest.
    pub size: Option<u64>,
}

impl RemoteFile {
    /// A file with the given name and hex SHA-256.
    pub fn new(name: impl Into<String>, sha256: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            sha256: sha256.into(),
            md5: None,
            size: None,
        }
    }

    /// The same file, with the MD5 it must also have.
    pub fn with_md5(self, md5: impl Into<String>) -> Self {
        Self {
            md5: Some(md5.into()),
            ..self
        }
    }

    /// The same file, with the size it must have.
    pub fn with_size(self, size: u64) -> Self {
        Self {
            size: Some(size),
            ..self
        }
    }
}

impl From<&DataFile> for RemoteFile {
    fn from(file: &DataFile) -> Self {
        RemoteFile::new(file.name, file.sha256)
            .with_md5(file.md5)
            .with_size(file.size)
    }
}

/// A progress report while a file downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The file being downloaded.
    pub file: String,
    /// The mirror it is coming from (as given).
    pub mirror: String,
    /// Bytes received so far.
    pub bytes: u64,
    /// The size the server announced, if it did.
    pub total: Option<u64>,
    /// True in the last report for a file: it was verified and saved under its final name.
    pub done: bool,
}

/// The four MNIST files with their built-in sizes and checksums (from [`MNIST_FILES`]).
pub fn default_files() -> Vec<RemoteFile> {
    MNIST_FILES.iter().map(RemoteFile::from).collect()
}

/// MNIST's mirrors as owned strings.
pub fn default_mirrors() -> Vec<String> {
    DEFAULT_MIRRORS.iter().map(|m| m.to_string()).collect()
}

/// The URL of `name` on `mirror` (a `/` is added between them if the mirror lacks one).
pub fn file_url(mirror: &str, name: &str) -> String {
    if mirror.ends_with('/') {
        format!("{mirror}{name}")
    } else {
        format!("{mirror}/{name}")
    }
}

/// A fresh temporary name for `name`: unique to this process (by its id) and to this attempt
/// (by a counter), so two downloads never share a temporary file.
fn part_name(name: &str) -> String {
    static ATTEMPT: AtomicU64 = AtomicU64::new(0);
    let attempt = ATTEMPT.fetch_add(1, Ordering::Relaxed);
    format!("{}{}-{attempt}", part_prefix(name), std::process::id())
}

/// What every temporary name for `name` starts with, whichever process made it.
fn part_prefix(name: &str) -> String {
    format!(".{name}.part-")
}

/// Downloads into `dir` (created if needed) each of `files` that is not there yet, trying
/// `mirrors` in order, and calls `progress` as bytes arrive.
pub fn download_missing(
    dir: &Path,
    mirrors: &[String],
    files: &[RemoteFile],
    progress: &mut dyn FnMut(Progress),
) -> Result<(), DataError> {
    download_missing_until(dir, mirrors, files, progress, &AtomicBool::new(false))
}

/// [`download_missing`] that gives up with [`DataError::DownloadStopped`] once `stop` is set,
/// removing the file it was writing. The flag is read between chunks of the response (64 KiB)
/// and between files, so a stop takes effect as soon as the next bytes arrive.
pub fn download_missing_until(
    dir: &Path,
    mirrors: &[String],
    files: &[RemoteFile],
    progress: &mut dyn FnMut(Progress),
    stop: &AtomicBool,
) -> Result<(), DataError> {
    fs::create_dir_all(dir).map_err(|cause| DataError::Io {
        action: "create the data folder",
        path: dir.to_path_buf(),
        cause,
    })?;
    remove_stale_parts(dir, files);
    let agent = agent();
    for file in files {
        if find_file(dir, &file.name).is_none() {
            download_one(&agent, dir, mirrors, file, progress, stop)?;
        }
    }
    Ok(())
}

/// Removes temporary files of `files` left behind by interrupted runs.
fn remove_stale_parts(dir: &Path, files: &[RemoteFile]) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefixes: Vec<String> = files.iter().map(|f| part_prefix(&f.name)).collect();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if prefixes
            .iter()
            .any(|prefix| name.starts_with(prefix.as_str()))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The HTTP client, with the timeouts set.
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(READ_TIMEOUT)
        .user_agent(concat!("digitdash/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why one mirror did not deliver a file.
enum Failure {
    /// The mirror failed (HTTP error, network error, wrong checksum): try the next one.
    Remote(String),
    /// A local file operation failed: no mirror can help.
    Local(DataError),
    /// A stop was asked for: no mirror is tried after this one.
    Stopped,
}

/// Fetches one file, trying each mirror until one delivers it intact.
fn download_one(
    agent: &ureq::Agent,
    dir: &Path,
    mirrors: &[String],
    file: &RemoteFile,
    progress: &mut dyn FnMut(Progress),
    stop: &AtomicBool,
) -> Result<(), DataError> {
    let stopped = || DataError::DownloadStopped {
        file: file.name.clone(),
        dir: dir.to_path_buf(),
    };
    let mut attempts = Vec::new();
    for mirror in mirrors {
        if stop.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        match fetch(agent, dir, mirror, file, progress, stop) {
            Ok(()) => return Ok(()),
            Err(Failure::Remote(reason)) => attempts.push((file_url(mirror, &file.name), reason)),
            Err(Failure::Local(err)) => return Err(err),
            Err(Failure::Stopped) => return Err(stopped()),
        }
    }
    Err(DataError::Download {
        file: file.name.clone(),
        attempts,
        dir: dir.to_path_buf(),
    })
}

/// Fetches one file from one mirror into its final place, or fails leaving nothing behind.
fn fetch(
    agent: &ureq::Agent,
    dir: &Path,
    mirror: &str,
    file: &RemoteFile,
    progress: &mut dyn FnMut(Progress),
    stop: &AtomicBool,
) -> Result<(), Failure> {
    let url = file_url(mirror, &file.name);
    let response = agent
        .get(&url)
        .set("Accept-Encoding", "identity")
        .call()
        .map_err(|err| Failure::Remote(describe(err)))?;
    let total = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if total.is_some_and(|t| t > MAX_FILE_BYTES) {
        return Err(too_big());
    }
    if let (Some(total), Some(size)) = (total, file.size) {
        if total != size {
            return Err(wrong_size(size, format!("the server announces {total}")));
        }
    }
    let mut reporter = Reporter::new(file, mirror, total, progress);
    let mut part = PartFile::create(dir, &file.name)?;
    let limit = file.size.unwrap_or(MAX_FILE_BYTES);
    let digests = copy_hashing(
        response.into_reader(),
        &mut part,
        &mut reporter,
        limit,
        stop,
    )?;
    check_digests(file, &digests)?;
    part.persist(dir, &file.name)?;
    reporter.finish(digests.bytes);
    Ok(())
}

/// Words for a failed request.
fn describe(err: ureq::Error) -> String {
    match err {
        ureq::Error::Status(code, response) => {
            format!("HTTP {code} {}", response.status_text())
        }
        ureq::Error::Transport(transport) => {
            let mut words = transport.kind().to_string();
            if let Some(message) = transport.message() {
                words = format!("{words}: {message}");
            }
            if let Some(source) = std::error::Error::source(&transport) {
                words = format!("{words}: {source}");
            }
            words
        }
    }
}

/// The failure for an oversized response.
fn too_big() -> Failure {
    Failure::Remote(format!(
        "the response is larger than {MAX_FILE_BYTES} bytes; this is not an MNIST file"
    ))
}

/// The failure for a response of the wrong size.
fn wrong_size(size: u64, found: String) -> Failure {
    Failure::Remote(format!(
        "wrong size: the file has {size} bytes but {found}; this mirror serves another file"
    ))
}

/// What was received: its length and checksums.
struct Received {
    /// Bytes received.
    bytes: u64,
    /// Lowercase hex SHA-256.
    sha256: String,
    /// Lowercase hex MD5.
    md5: String,
}

/// Streams `body` into `part`, hashing as it goes; refuses more than `limit` bytes. Gives up
/// (the caller's `part` is then dropped, which deletes it) when `stop` is set.
fn copy_hashing(
    mut body: impl Read,
    part: &mut PartFile,
    reporter: &mut Reporter<'_>,
    limit: u64,
    stop: &AtomicBool,
) -> Result<Received, Failure> {
    let mut hasher = Sha256::new();
    let mut md5 = Md5::new();
    let mut buffer = vec![0u8; CHUNK];
    let mut bytes = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(Failure::Stopped);
        }
        let n = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Failure::Remote(format!("reading the response: {err}"))),
        };
        hasher.update(&buffer[..n]);
        md5.update(&buffer[..n]);
        part.write_all(&buffer[..n])?;
        bytes += n as u64;
        if bytes > MAX_FILE_BYTES {
            return Err(too_big());
        }
        if bytes > limit {
            return Err(wrong_size(limit, format!("more arrived ({bytes} so far)")));
        }
        reporter.update(bytes);
    }
    Ok(Received {
        bytes,
        sha256: format!("{:x}", hasher.finalize()),
        md5: format!("{:x}", md5.finalize()),
    })
}

/// Checks a downloaded file's size and checksums against the expected ones.
fn check_digests(file: &RemoteFile, received: &Received) -> Result<(), Failure> {
    let bytes = received.bytes;
    if let Some(size) = file.size.filter(|&size| size != bytes) {
        return Err(wrong_size(size, format!("only {bytes} arrived")));
    }
    check_digest("SHA-256", &file.sha256, &received.sha256, bytes)?;
    match &file.md5 {
        Some(md5) => check_digest("MD5", md5, &received.md5, bytes),
        None => Ok(()),
    }
}

/// Checks one digest of a downloaded file against the expected one.
fn check_digest(kind: &str, expected: &str, actual: &str, bytes: u64) -> Result<(), Failure> {
    if expected.trim().eq_ignore_ascii_case(actual) {
        return Ok(());
    }
    Err(Failure::Remote(format!(
        "checksum mismatch: expected {kind} {expected} but the {bytes} bytes received have {actual}"
    )))
}

/// Calls the progress callback, at most about every [`PROGRESS_INTERVAL`] or
/// [`PROGRESS_BYTES`].
struct Reporter<'a> {
    /// The file being fetched.
    file: &'a str,
    /// The mirror it comes from.
    mirror: &'a str,
    /// Announced size.
    total: Option<u64>,
    /// The caller's callback.
    callback: &'a mut dyn FnMut(Progress),
    /// When the last report was made.
    last_time: Instant,
    /// Bytes at the last report.
    last_bytes: u64,
}

impl<'a> Reporter<'a> {
    /// Makes the first report (0 bytes).
    fn new(
        file: &'a RemoteFile,
        mirror: &'a str,
        total: Option<u64>,
        callback: &'a mut dyn FnMut(Progress),
    ) -> Self {
        let mut reporter = Self {
            file: &file.name,
            mirror,
            total,
            callback,
            last_time: Instant::now(),
            last_bytes: 0,
        };
        reporter.report(0, false);
        reporter
    }

    /// Reports `bytes` if enough time or data has passed since the last report.
    fn update(&mut self, bytes: u64) {
        let due = self.last_time.elapsed() >= PROGRESS_INTERVAL
            || bytes - self.last_bytes >= PROGRESS_BYTES;
        if due {
            self.report(bytes, false);
        }
    }

    /// Reports that the file is complete.
    fn finish(&mut self, bytes: u64) {
        self.report(bytes, true);
    }

    /// Calls the callback.
    fn report(&mut self, bytes: u64, done: bool) {
        self.last_time = Instant::now();
        self.last_bytes = bytes;
        (self.callback)(Progress {
            file: self.file.to_string(),
            mirror: self.mirror.to_string(),
            bytes,
            total: self.total,
            done,
        });
    }
}

/// A temporary download file that deletes itself unless [`PartFile::persist`] succeeds.
struct PartFile {
    /// Where it is.
    path: PathBuf,
    /// The open file (`None` once closed for renaming).
    file: Option<File>,
}

impl PartFile {
    /// Creates (or truncates) this process's temporary file for `name` in `dir`.
    fn create(dir: &Path, name: &str) -> Result<Self, Failure> {
        let path = dir.join(part_name(name));
        let file = File::create(&path).map_err(|cause| local("create", &path, cause))?;
        Ok(Self {
            path,
            file: Some(file),
        })
    }

    /// Appends `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let result = match self.file.as_mut() {
            Some(file) => file.write_all(bytes),
            None => Err(io::Error::other("file already closed")),
        };
        result.map_err(|cause| local("write", &self.path, cause))
    }

    /// Syncs the data to disk and renames the file to `name` in `dir`, its folder.
    fn persist(mut self, dir: &Path, name: &str) -> Result<(), Failure> {
        if let Some(file) = self.file.take() {
            file.sync_all()
                .map_err(|cause| local("write", &self.path, cause))?;
        }
        let dest = dir.join(name);
        fs::rename(&self.path, &dest).map_err(|cause| local("rename into place", &dest, cause))?;
        self.path = PathBuf::new();
        sync_dir(dir);
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A local I/O failure as a [`Failure`].
fn local(action: &'static str, path: &Path, cause: io::Error) -> Failure {
    Failure::Local(DataError::Io {
        action,
        path: path.to_path_buf(),
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_tolerate_a_missing_slash() {
        assert_eq!(file_url("http://h/m/", "a.gz"), "http://h/m/a.gz");
        assert_eq!(file_url("http://h/m", "a.gz"), "http://h/m/a.gz");
    }

    #[test]
    fn default_files_match_the_standard_names() {
        let names: Vec<String> = default_files().into_iter().map(|f| f.name).collect();
        assert_eq!(names, crate::data::files::MNIST_FILE_NAMES);
        assert!(default_files().iter().all(|f| f.sha256.len() == 64));
        assert!(default_files()
            .iter()
            .all(|f| f.md5.is_some() && f.size.is_some()));
    }

    #[test]
    fn hex_and_digest_check() {
        let digest = format!("{:x}", Sha256::digest(b"abc"));
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(digest, expected);
        assert!(check_digest("SHA-256", &expected.to_uppercase(), &digest, 3).is_ok());
        assert!(check_digest("SHA-256", &expected[1..], &digest, 3).is_err());
    }

    #[test]
    fn stale_parts_of_ours_are_removed_and_others_kept() {
        let dir = tempfile::TempDir::new().unwrap();
        let files = [RemoteFile::new("a.gz", "00")];
        for name in [
            ".a.gz.part-123",
            ".a.gz.part-",
            ".b.gz.part-1",
            "a.gz.part-1",
            "keep",
        ] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        remove_stale_parts(dir.path(), &files);
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".b.gz.part-1", "a.gz.part-1", "keep"]);
    }
}
