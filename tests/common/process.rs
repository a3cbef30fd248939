//! Child processes: signals, waiting without hanging the suite, reading pipes.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{texts, Workspace};

/// How long a test waits for a child that should end before calling it hung: far beyond any
/// run the tests start, even on a busy two-core machine. It only keeps a hang from blocking
/// the suite; no test asserts how fast anything is.
pub const HANG_GUARD: Duration = Duration::from_secs(600);

/// The name and nice value of each thread of process `pid` (or `self`), from `/proc`.
pub fn thread_priorities(pid: &str) -> Vec<(String, i32)> {
    let tasks = format!("/proc/{pid}/task");
    let mut threads = Vec::new();
    for task in std::fs::read_dir(&tasks).unwrap_or_else(|e| panic!("{tasks}: {e}")) {
        let path = task.expect("a thread's folder").path().join("stat");
        let Ok(stat) = std::fs::read_to_string(&path) else {
            continue; // the thread ended meanwhile
        };
        // `tid (name) state ...`: the name may hold spaces; the nice value is field 19.
        let (open, close) = (stat.find('(').unwrap(), stat.rfind(')').unwrap());
        let name = stat[open + 1..close].to_string();
        let nice = stat[close + 1..]
            .split_whitespace()
            .nth(16)
            .and_then(|field| field.parse().ok())
            .unwrap_or_else(|| panic!("no nice value in {}: {stat}", path.display()));
        threads.push((name, nice));
    }
    threads
}

/// The nice value this test process runs at (the lowest of its threads'): the one a program it
/// starts inherits.
pub fn own_nice() -> i32 {
    thread_priorities("self")
        .into_iter()
        .map(|(_, nice)| nice)
        .min()
        .expect("this process's threads")
}

/// Sends `signal` (a name for `kill`, e.g. `INT`) to process `pid`.
pub fn kill(signal: &str, pid: impl std::fmt::Display) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Waits for `child` to exit; after [`HANG_GUARD`] kills it and fails the test.
pub fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child still ran {HANG_GUARD:?} later: hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads all of `stream` on a thread; join it for the text.
pub fn read_all_on_a_thread(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Starts a headless run into the folder `run` of the workspace with `extra` flags and waits
/// until it prints the line of step `wait_for`.
#[expect(
    clippy::zombie_processes,
    reason = "the caller waits for the child it gets back"
)]
pub fn start_run(
    ws: &Workspace,
    run: &str,
    extra: &[&str],
    wait_for: u64,
) -> (Child, BufReader<ChildStdout>) {
    let mut args = vec!["--headless", "--log-every", "1", "--run-dir", run];
    args.extend_from_slice(extra);
    let mut child = ws
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line).unwrap_or(0) == 0 {
            let output = child.wait_with_output().unwrap();
            panic!("run ended early: {}", texts(&output).1);
        }
        if line.starts_with(&format!("step {wait_for}, training")) {
            return (child, stdout);
        }
    }
}
