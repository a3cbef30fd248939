//! What reaches the terminal cannot drive it: a run folder named with escape codes prints as
//! visible escapes in `runs`, in error messages and on the dashboard; and a terminal that
//! cannot draw the dashboard (`TERM=dumb`, `TERM` unset) gets progress lines instead.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::run_fixtures::{write_run, End, Spec};
use common::script::{self, render};
use common::tmux::Tmux;
use common::{digitdash, Workspace};
use digitdash::frontend::dashboard::app::{App, ComparedRun};
use digitdash::run::listing::list_runs;
use digitdash::run::record::CheckpointWritten;
use digitdash::run::{Detail, RunDir, RunHistory};
use digitdash::train::Event;

/// A folder name that, printed raw, retitles the terminal (OSC 0) and turns its text red.
const EVIL: &str = "evil\u{1b}]0;PWNED\u{7}\u{1b}[31mred";
/// [`EVIL`] as it must be shown: every control character as a visible escape.
const EVIL_SHOWN: &str = "evil\\u001b]0;PWNED\\u0007\\u001b[31mred";

/// Upper bound for a program under tmux to show what is waited for; it only keeps a hang
/// from blocking the suite.
const REACT: Duration = Duration::from_secs(300);

/// Writes a finished run named [`EVIL`] and one named `plain` under `runs`; returns the
/// first's folder.
fn evil_runs(runs: &Path) -> PathBuf {
    let evil = runs.join(EVIL);
    write_run(&evil, &Spec::new(20, 20, End::Finished));
    write_run(&runs.join("plain"), &Spec::new(20, 20, End::Finished));
    evil
}

/// Asserts that `bytes` hold no byte a terminal acts on (C0 controls but line feed and
/// tab, DEL) and no C1 control.
fn assert_no_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let control = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t');
    assert!(control.is_none(), "{what} holds {control:?}:\n{text}");
}

#[test]
fn runs_shows_a_folder_named_with_escape_codes_as_visible_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let evil = evil_runs(&runs);
    let output = digitdash(dir.path(), &["runs", runs.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    assert_no_controls("the table", &output.stdout);
    let table = String::from_utf8(output.stdout).unwrap();
    let row = table
        .lines()
        .find(|l| l.starts_with(EVIL_SHOWN))
        .unwrap_or_else(|| panic!("no row for the escaped name:\n{table}"));
    let plain = table.lines().find(|l| l.starts_with("plain")).unwrap();
    assert_eq!(
        row.find("finished"),
        plain.find("finished"),
        "columns line up:\n{table}"
    );

    // JSON keeps the name exactly, through JSON's own escapes.
    let output = digitdash(dir.path(), &["runs", "--json", runs.to_str().unwrap()]);
    assert_no_controls("the JSON", &output.stdout);
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(listed.iter().any(|r| r["name"] == EVIL), "{listed:?}");

    // An error naming the folder says it on stderr with the same escapes.
    let absent = evil.join("absent");
    let output = digitdash(dir.path(), &["runs", absent.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_no_controls("the error", &output.stderr);
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(err.contains(EVIL_SHOWN), "{err}");
}

#[test]
fn the_dashboard_shows_names_from_disk_with_visible_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let evil = evil_runs(&runs);
    let history = RunHistory::open(RunDir::new(&evil), Detail::Full).unwrap();
    let mut app = App::new(&script::config());
    for event in script::first_300_steps() {
        app.update(event);
    }
    app.update(Event::Checkpoint(CheckpointWritten {
        step: 300,
        path: Path::new(EVIL).join("checkpoints"),
    }));
    // Overlaid: its name in the compared-runs panel and the chart legends, and the flash.
    app.compared_loaded(vec![ComparedRun::from_history(&history)], Vec::new());
    let screen = render(&app, 140, 45);
    assert_no_controls("the screen", screen.as_bytes());
    assert!(
        screen.contains(&format!("━━ {EVIL_SHOWN}")),
        "the compared run's name:\n{screen}"
    );
    assert!(
        screen.contains(&format!("overlaid {EVIL_SHOWN}")),
        "the flash:\n{screen}"
    );
    assert!(
        screen.contains(&format!("checkpoint written to {}", &EVIL_SHOWN[..20])),
        "the event log (as much as its panel's width shows):\n{screen}"
    );

    // The run picker lists the folder under its escaped name.
    app.runs_listed(runs.clone(), Ok(list_runs(&runs).unwrap()));
    let screen = render(&app, 140, 45);
    assert_no_controls("the picker", screen.as_bytes());
    assert!(
        screen.contains(EVIL_SHOWN.get(..20).unwrap()),
        "the picker's row (20 columns of name):\n{screen}"
    );
}

/// The shell command that runs `digitdash args` with `env` before it, then prints its exit
/// status and waits.
fn shell_line(env: &str, ws: &Workspace, args: &str) -> String {
    format!(
        "env {env} '{}' --config '{}' --data-dir '{}' {args}; echo digitdash-exit=$?; sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        ws.config().display(),
        ws.data_dir().display(),
    )
}

#[test]
fn a_dumb_terminal_or_none_named_trains_headless_and_watch_says_why_it_cannot_run() {
    let ws = Workspace::new();
    let cwd = ws.cwd();
    for (name, env) in [("dumb", "TERM=dumb"), ("unset", "-u TERM")] {
        let line = shell_line(
            env,
            &ws,
            &format!("--steps 3 --log-every 1 --run-dir run-{name}"),
        );
        let tmux = Tmux::start(&format!("term-{name}"), 200, 50, &cwd, &line);
        let screen = tmux.wait_for("the run's end", REACT, |s| s.contains("digitdash-exit="));
        assert!(screen.contains("digitdash-exit=0"), "{screen}");
        assert!(
            screen.contains("so training runs headless"),
            "the reason is noted:\n{screen}"
        );
        assert!(
            screen.contains("step 3, training accuracy"),
            "progress lines, not the dashboard:\n{screen}"
        );
    }

    let run = ws.dir.path().join("run-dumb");
    let line = shell_line("TERM=dumb", &ws, &format!("watch '{}'", run.display()));
    let tmux = Tmux::start("watch-dumb", 200, 50, &cwd, &line);
    let screen = tmux.wait_for("watch to exit", REACT, |s| s.contains("digitdash-exit="));
    assert!(screen.contains("digitdash-exit=1"), "{screen}");
    assert!(
        screen.contains("TERM=dumb") && screen.contains("pass --json"),
        "{screen}"
    );
}
