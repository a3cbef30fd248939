//! A program running in a detached tmux session on a private socket: send keys, read the
//! screen, wait for text. The tmux server is killed, and its socket file removed, when the
//! session is dropped, even when a test fails.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// A tmux server with one session of a fixed size.
pub struct Tmux {
    /// The server's socket, in the temporary folder (tmux leaves the file when it is killed).
    socket: PathBuf,
}

impl Tmux {
    /// Starts `shell_command` under `sh -c` in a `width` x `height` session with `cwd` as its
    /// working folder. Panics with a hint when tmux is missing.
    pub fn start(name: &str, width: u16, height: u16, cwd: &str, shell_command: &str) -> Self {
        let tmux = Self {
            socket: std::env::temp_dir()
                .join(format!("digitdash-{name}-{}.tmux", std::process::id())),
        };
        let (w, h) = (width.to_string(), height.to_string());
        let args = [
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &w,
            "-y",
            &h,
            "-c",
            cwd,
            shell_command,
        ];
        let out = tmux.run(&args);
        assert!(out.status.success(), "tmux new-session failed: {out:?}");
        // Keep the session's size fixed whatever clients attach.
        let _ = tmux.run(&["set-option", "-g", "window-size", "manual"]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run tmux ({e}): install it, e.g. apt-get install tmux")
            })
    }

    /// Types `keys` as tmux key names (`Space`, `Escape`, `q`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success(), "send-keys {keys:?}");
    }

    /// Types `text` literally (so `+` is a plus, not a key name).
    pub fn text(&self, text: &str) {
        let out = self.run(&["send-keys", "-t", "main", "-l", text]);
        assert!(out.status.success(), "send-keys -l {text:?}");
    }

    /// Sends raw bytes as input, as a terminal would (e.g. mouse reports).
    pub fn bytes(&self, bytes: &[u8]) {
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut args = vec!["send-keys", "-t", "main", "-H"];
        args.extend(hex.iter().map(String::as_str));
        assert!(self.run(&args).status.success(), "send-keys -H {hex:?}");
    }

    /// The screen as plain text.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "main"]).stdout).into()
    }

    /// The screen with colours, as ANSI escape sequences.
    pub fn screen_with_colours(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-e", "-t", "main"]);
        String::from_utf8_lossy(&out.stdout).into()
    }

    /// The process id of the program the pane's shell started: the shell's only child.
    pub fn program_pid(&self) -> String {
        let shell = self.pane_info("#{pane_pid}");
        let children = format!("/proc/{shell}/task/{shell}/children");
        let pids = std::fs::read_to_string(&children).expect("the shell's children");
        pids.split_whitespace()
            .next()
            .expect("the program's process id")
            .to_string()
    }

    /// A tmux format string evaluated for the pane, e.g. `#{alternate_on}`.
    pub fn pane_info(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "main", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits up to `timeout` for a screen that satisfies `test`; returns it, or panics with
    /// `what` and the last screen.
    ///
    /// The screen returned is a settled one: the same on two captures a moment apart, so a
    /// capture taken while a frame was half written is never what a test reads. A screen that
    /// keeps changing (a run training live) is returned after [`SETTLE_AT_MOST`] as it last
    /// satisfied `test`.
    pub fn wait_for(&self, what: &str, timeout: Duration, test: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        let mut satisfied: Option<(String, Instant)> = None;
        loop {
            let screen = self.screen();
            if test(&screen) {
                match &satisfied {
                    Some((earlier, _)) if *earlier == screen => return screen,
                    Some((_, since)) if since.elapsed() > SETTLE_AT_MOST => return screen,
                    Some((_, since)) => satisfied = Some((screen, *since)),
                    None => satisfied = Some((screen, Instant::now())),
                }
                sleep(SETTLE_GAP);
                continue;
            }
            satisfied = None;
            if Instant::now() > deadline {
                panic!("timed out after {timeout:?} waiting for {what}; the screen:\n{screen}");
            }
            sleep(Duration::from_millis(100));
        }
    }
}

/// The gap between the two captures that must agree for a screen to count as settled.
const SETTLE_GAP: Duration = Duration::from_millis(60);
/// How long a screen that satisfies a wait may keep changing before it is taken as it is.
const SETTLE_AT_MOST: Duration = Duration::from_secs(2);

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
        let _ = std::fs::remove_file(&self.socket);
    }
}
