//! Child processes: signals, waiting without hanging the suite, reading pipes.

use std::io::Read;
use std::process::{Child, ExitStatus};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a test waits for a child that should end before calling it hung: far beyond any
/// run the tests start, even on a busy two-core machine. It only keeps a hang from blocking
/// the suite; no test asserts how fast anything is.
pub const HANG_GUARD: Duration = Duration::from_secs(600);

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
