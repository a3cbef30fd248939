//! The downloader against a local HTTP server: mirrors that fail in different ways, a good one,
//! checksum and size verification, progress reports, and no stray files; each dataset's table
//! at work (the real MNIST files served, and other datasets' bytes refused). Only 127.0.0.1 is
//! contacted.

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::process::{kill, read_all_on_a_thread, wait, HANG_GUARD};
use digitdash::data::download::{
    download_missing, download_missing_until, Progress, RemoteFile, DEFAULT_MIRRORS,
};
use digitdash::data::{DataError, Dataset};
use md5::Md5;
use sha2::{Digest, Sha256};

/// A tiny HTTP/1.1 server on 127.0.0.1. Paths are `/{behaviour}/{file}`; behaviours:
/// `good` serves the file, `bad` serves it with one byte flipped, `short` announces more bytes
/// than it sends, `endless` announces no length (the body would end when the connection
/// closes) and sends a kilobyte of the file every 20 ms until the client goes away (over an
/// hour to reach a real file's size: it never finishes in a test), `missing` answers 404 and
/// `error` answers 500.
struct Server {
    /// `http://127.0.0.1:PORT`.
    base: String,
    /// Every requested path, in order.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(files: HashMap<String, Vec<u8>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let thread_log = Arc::clone(&log);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                handle(stream, &files, &thread_log);
            }
        });
        Server { base, log }
    }

    fn mirror(&self, behaviour: &str) -> String {
        format!("{}/{behaviour}/", self.base)
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// Reads the request head and returns its path.
fn read_path(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

fn handle(mut stream: TcpStream, files: &HashMap<String, Vec<u8>>, log: &Mutex<Vec<String>>) {
    let Some(path) = read_path(&mut stream) else {
        return;
    };
    log.lock().unwrap().push(path.clone());
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let behaviour = parts.next().unwrap_or("");
    let content = parts.next().and_then(|name| files.get(name));
    let (status, body, announced) = match (behaviour, content) {
        ("good", Some(c)) => ("200 OK", c.clone(), c.len()),
        ("bad", Some(c)) => {
            let (mut flipped, len) = (c.clone(), c.len());
            flipped[len / 2] ^= 1;
            ("200 OK", flipped, len)
        }
        ("short", Some(c)) => ("200 OK", c[..c.len() / 2].to_vec(), c.len()),
        ("endless", Some(c)) => {
            let head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            for piece in c.chunks(1024).cycle() {
                if stream
                    .write_all(piece)
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return; // the client went away
                }
                thread::sleep(Duration::from_millis(20));
            }
            return;
        }
        ("error", _) => ("500 Internal Server Error", b"oops".to_vec(), 4),
        _ => ("404 Not Found", b"not here".to_vec(), 8),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {announced}\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
    let _ = stream.flush();
}

/// Deterministic pseudo-random bytes.
fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A mirror URL on 127.0.0.1 where nothing listens.
fn closed_mirror() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/mnist/")
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Generated files by name.
type Contents = Vec<(String, Vec<u8>)>;

/// Two generated files (one over 256 KiB), the server holding them and their descriptions.
fn fixture() -> (Server, Contents, Vec<RemoteFile>) {
    let contents = vec![
        ("alpha.gz".to_string(), content(300 * 1024 + 7, 1)),
        ("beta.gz".to_string(), content(1000, 2)),
    ];
    let server = Server::start(contents.iter().cloned().collect());
    let remote = contents
        .iter()
        .map(|(name, bytes)| RemoteFile::new(name.clone(), sha256_hex(bytes)))
        .collect();
    (server, contents, remote)
}

#[test]
fn falls_through_failing_mirrors_to_the_good_one() {
    let (server, contents, files) = fixture();
    let dir = tempfile::TempDir::new().unwrap();
    fs::write(dir.path().join(".alpha.gz.part-4242"), b"stale").unwrap();
    let good = server.mirror("good").trim_end_matches('/').to_string();
    let mirrors = vec![
        closed_mirror(),
        server.mirror("missing"),
        server.mirror("error"),
        server.mirror("short"),
        server.mirror("bad"),
        good.clone(),
    ];
    let mut reports: Vec<Progress> = Vec::new();
    let mut mid_download: Vec<Vec<String>> = Vec::new();
    let mut record = |p: Progress| {
        if p.file == "alpha.gz" && p.bytes > 0 && !p.done {
            mid_download.push(dir_names(dir.path()));
        }
        reports.push(p);
    };
    download_missing(dir.path(), &mirrors, &files, &mut record).unwrap();

    // While bytes arrive, only a hidden temporary file exists: never a partial final name.
    assert!(!mid_download.is_empty());
    let pid = std::process::id();
    for listing in &mid_download {
        assert_eq!(listing.len(), 1, "{listing:?}");
        assert!(
            listing[0].starts_with(&format!(".alpha.gz.part-{pid}-")),
            "{listing:?}"
        );
    }

    assert_eq!(dir_names(dir.path()), ["alpha.gz", "beta.gz"]);
    for (name, bytes) in &contents {
        let saved = fs::read(dir.path().join(name)).unwrap();
        assert_eq!(sha256_hex(&saved), sha256_hex(bytes));
        assert_eq!(&saved, bytes);
        let done: Vec<&Progress> = reports
            .iter()
            .filter(|p| &p.file == name && p.done)
            .collect();
        assert_eq!(done.len(), 1, "one final report for {name}: {reports:?}");
        assert_eq!(done[0].bytes, bytes.len() as u64);
        assert_eq!(done[0].total, Some(bytes.len() as u64));
        assert_eq!(done[0].mirror, good);
    }
    let alpha_reports = reports.iter().filter(|p| p.file == "alpha.gz").count();
    assert!(
        alpha_reports >= 3,
        "start, at least one 256 KiB step, done: {reports:?}"
    );
    assert!(reports.iter().all(|p| p.total.is_none_or(|t| p.bytes <= t)));

    let expected: Vec<String> = ["alpha.gz", "beta.gz"]
        .iter()
        .flat_map(|name| {
            ["missing", "error", "short", "bad", "good"].map(|b| format!("/{b}/{name}"))
        })
        .collect();
    assert_eq!(server.requests(), expected);
}

#[test]
fn present_files_are_not_fetched_again() {
    let (server, contents, files) = fixture();
    let dir = tempfile::TempDir::new().unwrap();
    // The raw spelling of beta.gz counts as present.
    fs::write(dir.path().join("beta"), b"trusted to the IDX reader").unwrap();
    let mirrors = vec![server.mirror("good")];
    download_missing(dir.path(), &mirrors, &files, &mut |_| {}).unwrap();
    assert_eq!(server.requests(), ["/good/alpha.gz"]);
    assert_eq!(dir_names(dir.path()), ["alpha.gz", "beta"]);
    assert_eq!(
        fs::read(dir.path().join("alpha.gz")).unwrap(),
        contents[0].1
    );
}

#[test]
fn all_mirrors_failing_lists_each_and_leaves_nothing() {
    let (server, _, files) = fixture();
    let root = tempfile::TempDir::new().unwrap();
    let dir = root.path().join("mnist");
    let mirrors = vec![
        closed_mirror(),
        server.mirror("missing"),
        server.mirror("short"),
        server.mirror("bad"),
    ];
    let err = download_missing(&dir, &mirrors, &files, &mut |_| {}).unwrap_err();
    let DataError::Download {
        file,
        attempts,
        dir: err_dir,
    } = &err
    else {
        panic!("expected a download error, got {err:?}");
    };
    assert_eq!(file, "alpha.gz");
    assert_eq!(err_dir, &dir);
    assert_eq!(attempts.len(), 4);
    for ((url, _), mirror) in attempts.iter().zip(&mirrors) {
        assert_eq!(url, &format!("{mirror}alpha.gz"));
    }
    assert!(attempts[0].1.contains("Connect"), "{attempts:?}");
    assert!(attempts[1].1.contains("404"), "{attempts:?}");
    assert!(
        attempts[2].1.contains("reading the response"),
        "{attempts:?}"
    );
    assert!(attempts[3].1.contains("checksum mismatch"), "{attempts:?}");

    let msg = err.to_string();
    for mirror in &mirrors {
        assert!(msg.contains(mirror.as_str()), "{msg}");
    }
    assert!(msg.contains(&dir.display().to_string()), "{msg}");
    assert!(msg.contains("train-images-idx3-ubyte.gz"), "{msg}");
    assert!(msg.contains("by hand"), "{msg}");

    assert!(dir.is_dir(), "the folder is created");
    assert_eq!(dir_names(&dir), Vec::<String>::new());
    // The first file failed, so the second was never asked for.
    assert!(server.requests().iter().all(|p| p.ends_with("/alpha.gz")));
}

#[test]
fn no_mirrors_is_a_clear_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let files = [RemoteFile::new("x.gz", "00")];
    let err = download_missing(dir.path(), &[], &files, &mut |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("no mirrors are configured"),
        "{err}"
    );
    assert_eq!(dir_names(dir.path()), Vec::<String>::new());
}

#[test]
fn a_stop_mid_file_gives_up_at_once_and_leaves_nothing() {
    let (server, _, files) = fixture();
    let dir = tempfile::TempDir::new().unwrap();
    let mirrors = vec![server.mirror("good"), server.mirror("good")];
    let stop = AtomicBool::new(false);
    let mut ask_to_stop = |p: Progress| {
        if p.bytes > 0 && !p.done {
            stop.store(true, Ordering::Relaxed);
        }
    };
    let err =
        download_missing_until(dir.path(), &mirrors, &files, &mut ask_to_stop, &stop).unwrap_err();
    let DataError::DownloadStopped { file, dir: err_dir } = &err else {
        panic!("expected a stopped download, got {err:?}");
    };
    assert_eq!((file.as_str(), err_dir.as_path()), ("alpha.gz", dir.path()));
    assert!(err.to_string().contains("Run digitdash again"), "{err}");
    assert_eq!(
        dir_names(dir.path()),
        Vec::<String>::new(),
        "no partial file"
    );
    // Neither the second mirror nor the second file was asked for.
    assert_eq!(server.requests(), ["/good/alpha.gz"]);
}

#[test]
fn ctrl_c_during_the_download_exits_130_at_once_without_partial_files() {
    let name = "train-images-idx3-ubyte.gz";
    let server = Server::start([(name.to_string(), content(400 * 1024, 3))].into());
    let root = tempfile::TempDir::new().unwrap();
    let data = root.path().join("mnist");
    let config = root.path().join("config.toml");
    fs::write(
        &config,
        format!(
            "[data]\ndownload = true\nmirrors = [\"{}\"]\n",
            server.mirror("endless")
        ),
    )
    .unwrap();
    assert!(!DEFAULT_MIRRORS.iter().any(|m| m.contains("127.0.0.1")));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_digitdash"))
        .current_dir(root.path())
        .env_remove("DIGITDASH_DATA_DIR")
        .args(["--headless", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until bytes are arriving (a temporary file exists), then interrupt. The download
    // never ends by itself, so the program can only exit by acting on the signal mid-file.
    let started = Instant::now();
    while !data.is_dir() || dir_names(&data).is_empty() {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = read_all_on_a_thread(child.stderr.take().unwrap());
            panic!(
                "exited with {status} before downloading: {}",
                stderr.join().unwrap()
            );
        }
        assert!(started.elapsed() < HANG_GUARD, "no download began");
        thread::sleep(Duration::from_millis(20));
    }
    kill("INT", child.id());
    let stderr = read_all_on_a_thread(child.stderr.take().unwrap());
    let status = wait(&mut child);
    let stderr = stderr.join().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!("stopped: the download of {name} was stopped")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(dir_names(&data), Vec::<String>::new(), "no partial file");
    assert_eq!(server.requests(), [format!("/endless/{name}")]);
}

/// The real MNIST files (from `DIGITDASH_DATA_DIR`) by name.
fn real_mnist_files() -> Vec<(String, Vec<u8>)> {
    let dir = common::real_data_dir();
    Dataset::Mnist
        .files()
        .iter()
        .map(|file| {
            let path = dir.join(file.name);
            let bytes = fs::read(&path).unwrap_or_else(|err| {
                panic!("{} (the gzipped original is needed): {err}", path.display())
            });
            (file.name.to_string(), bytes)
        })
        .collect()
}

#[test]
fn mnist_downloads_through_its_table_from_a_local_mirror() {
    let files = real_mnist_files();
    let server = Server::start(files.iter().cloned().collect());
    let dir = tempfile::TempDir::new().unwrap();
    let mirrors = vec![server.mirror("bad"), server.mirror("good")];
    let mut done = Vec::new();
    download_missing(
        dir.path(),
        &mirrors,
        &Dataset::Mnist.remote_files(),
        &mut |p| {
            if p.done {
                done.push((p.file, p.bytes));
            }
        },
    )
    .unwrap();
    for (name, bytes) in &files {
        assert_eq!(&fs::read(dir.path().join(name)).unwrap(), bytes, "{name}");
    }
    let expected: Vec<(String, u64)> = Dataset::Mnist
        .files()
        .iter()
        .map(|f| (f.name.to_string(), f.size))
        .collect();
    assert_eq!(done, expected);
    // Every file was first refused by the mirror that flips a byte.
    let bad = server
        .requests()
        .iter()
        .filter(|p| p.starts_with("/bad/"))
        .count();
    assert_eq!(bad, 4);
}

#[test]
fn another_datasets_table_refuses_mnists_bytes_and_keeps_nothing() {
    let server = Server::start(real_mnist_files().into_iter().collect());
    for dataset in [Dataset::FashionMnist, Dataset::Kmnist] {
        let dir = tempfile::TempDir::new().unwrap();
        let mirrors = vec![server.mirror("good")];
        let err = download_missing(dir.path(), &mirrors, &dataset.remote_files(), &mut |_| {})
            .unwrap_err();
        let DataError::Download { file, attempts, .. } = &err else {
            panic!("expected a download error, got {err:?}");
        };
        assert_eq!(file, "train-images-idx3-ubyte.gz");
        let size = dataset.files()[0].size;
        assert!(
            attempts[0]
                .1
                .contains(&format!("the file has {size} bytes"))
                && attempts[0].1.contains("the server announces 9912422"),
            "{dataset}: {attempts:?}"
        );
        assert_eq!(dir_names(dir.path()), Vec::<String>::new(), "{dataset}");
    }
}

#[test]
fn the_md5_and_the_size_in_a_table_are_checked_too() {
    let (server, contents, _) = fixture();
    let (name, bytes) = &contents[1];
    let md5: String = Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let exact = RemoteFile::new(name.clone(), sha256_hex(bytes))
        .with_md5(md5.to_uppercase())
        .with_size(bytes.len() as u64);
    let wrong_md5 = exact.clone().with_md5("0".repeat(32));
    let wrong_size = exact.clone().with_size(bytes.len() as u64 + 1);
    let mirrors = vec![server.mirror("good")];
    for (file, problem) in [
        (wrong_md5, "checksum mismatch: expected MD5 00000000"),
        (
            wrong_size,
            "wrong size: the file has 1001 bytes but the server announces 1000",
        ),
    ] {
        let dir = tempfile::TempDir::new().unwrap();
        let err = download_missing(dir.path(), &mirrors, &[file], &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains(problem), "{err}");
        assert_eq!(dir_names(dir.path()), Vec::<String>::new());
    }
    // Without an announced length, bytes past the size are refused as they arrive.
    let endless = vec![server.mirror("endless")];
    let dir = tempfile::TempDir::new().unwrap();
    let small = exact.clone().with_size(3000);
    let err = download_missing(dir.path(), &endless, &[small], &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("more arrived"), "{err}");
    assert_eq!(dir_names(dir.path()), Vec::<String>::new());
    let dir = tempfile::TempDir::new().unwrap();
    download_missing(dir.path(), &mirrors, &[exact], &mut |_| {}).unwrap();
    assert_eq!(&fs::read(dir.path().join(name)).unwrap(), bytes);
}
