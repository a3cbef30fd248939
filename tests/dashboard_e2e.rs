//! End to end: the real binary's dashboard in tmux on real MNIST. One test pauses, doubles the
//! learning rate twice, resumes and quits with `q` `y` at 120x40, checking the screen at each
//! stage, the run's metrics, the exit status and that the terminal was given back; another
//! checks that the dashboard's threads run below the training threads' priority, then stops
//! the run with SIGTERM; a third quits at once on a second signal.
//!
//! Data come from the folder in `DIGITDASH_DATA_DIR` (CI: `../shared/mnist`); without it the
//! tests download MNIST once into `target/mnist-cache`, as the binary would on a first run. With
//! `DIGITDASH_SCREENSHOT=assets/dashboard` (under `cargo test --release`), the test waits for
//! the first evaluation, shows a misclassified digit and saves the paused screen as
//! `dashboard.txt` and `dashboard.svg` there.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::process::{kill, own_nice, thread_priorities};
use common::svg;
use common::tmux::Tmux;

// The bounds below only keep a hung program from blocking the suite; none says how fast
// anything should be, so each is far beyond what a busy two-core machine needs.

/// Upper bound for data loading and the first step (a debug build is slow).
const START: Duration = Duration::from_secs(600);
/// Upper bound for a command to show on screen.
const REACT: Duration = Duration::from_secs(300);
/// Upper bound for the final evaluation and exit (10,000 images; slow in a debug build).
const FINISH: Duration = Duration::from_secs(600);

/// The step in the status line `step N / TOTAL`.
fn step_of(screen: &str) -> Option<u64> {
    let rest = &screen[screen.find(" step ")? + 6..];
    rest.split_whitespace().next()?.parse().ok()
}

/// The status line: the second line of the screen, under the tab bar.
fn status(screen: &str) -> &str {
    screen.lines().nth(1).unwrap_or("")
}

/// The shell command that runs the dashboard in the session's folder, then reports its exit
/// status and whether the terminal is back in cooked mode.
fn dashboard_command() -> String {
    let dir = common::real_data_dir();
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let data = format!("--data-dir '{}'", dir.display());
    format!(
        "'{}' {data} --steps 100000 --eval-every 200 --run-dir run; \
         echo digitdash-exit=$?; \
         case \"$(stty -a)\" in *-icanon*) echo terminal=raw;; *) echo terminal=cooked;; esac; \
         sleep 600",
        env!("CARGO_BIN_EXE_digitdash")
    )
}

/// Checks that the program printed its summary, exited with `status` and gave the terminal
/// back (cooked mode, main screen, visible cursor).
fn assert_clean_exit(tmux: &Tmux, status: u8) {
    // The shell prints the exit status, then runs `stty` for the terminal's mode: wait for the
    // second line, which can trail the first on a busy machine.
    let exited = |s: &str| s.contains("digitdash-exit=") && s.contains("terminal=");
    let after = tmux.wait_for("the program to exit", FINISH, exited);
    assert!(
        after.contains(&format!("digitdash-exit={status}")),
        "{after}"
    );
    assert!(after.contains("test accuracy 0."), "no summary:\n{after}");
    assert!(after.contains("terminal=cooked"), "still raw:\n{after}");
    assert_eq!(tmux.pane_info("#{alternate_on}"), "0", "alternate screen");
    assert_eq!(tmux.pane_info("#{cursor_flag}"), "1", "hidden cursor");
}

#[test]
fn pause_change_the_learning_rate_resume_and_quit() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cwd = dir.path().to_str().expect("a UTF-8 temp path").to_string();
    let command = dashboard_command();
    let tmux = Tmux::start("e2e", 120, 40, &cwd, &command);

    let running = tmux.wait_for("the first training step", START, |s| {
        status(s).contains("RUNNING") && step_of(s).is_some_and(|n| n > 0)
    });
    assert!(running.contains("lr 1.00e-4"), "{running}");
    let screenshot = std::env::var_os("DIGITDASH_SCREENSHOT").map(PathBuf::from);
    if screenshot.is_some() {
        tmux.wait_for("the first evaluation", START, |s| s.contains("(step 200)"));
        tmux.text("m");
    }

    tmux.keys(&["Space"]);
    let paused = tmux.wait_for("the paused state", REACT, |s| status(s).contains("PAUSED"));
    let paused_at = step_of(&paused).expect("a step number");
    tmux.text("+");
    tmux.text("+");
    let changed = tmux.wait_for("the new learning rate", REACT, |s| {
        s.contains("learning rate 2.000e-4 → 4.000e-4") && s.contains("learning rate   4.00e-4")
    });
    assert!(
        changed.contains("learning rate 1.000e-4 → 2.000e-4"),
        "{changed}"
    );
    assert!(status(&changed).contains("PAUSED"), "{changed}");
    assert_eq!(
        step_of(&changed),
        Some(paused_at),
        "no steps while paused:\n{changed}"
    );
    if let Some(base) = &screenshot {
        save_screenshot(&tmux, base);
    }

    tmux.keys(&["Space"]);
    let resumed = tmux.wait_for("steps at the new rate", REACT, |s| {
        status(s).contains("RUNNING")
            && s.contains("lr 4.00e-4")
            && step_of(s).is_some_and(|n| n > paused_at)
    });
    let resumed_at = step_of(&resumed).expect("a step number");

    tmux.text("q");
    tmux.wait_for("the quit question", REACT, |s| {
        s.contains("Stop it and quit?")
    });
    tmux.text("y");
    assert_clean_exit(&tmux, 0);

    let metrics =
        std::fs::read_to_string(dir.path().join("run/metrics.csv")).expect("the run's metrics");
    assert_learning_rate_changed(&metrics, paused_at, resumed_at);
}

#[test]
fn sigterm_stops_training_and_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cwd = dir.path().to_str().expect("a UTF-8 temp path").to_string();
    let tmux = Tmux::start("sigterm", 100, 30, &cwd, &dashboard_command());
    tmux.wait_for("the first training step", START, |s| {
        status(s).contains("RUNNING") && step_of(s).is_some_and(|n| n > 0)
    });
    let pid = tmux.program_pid();
    assert_dashboard_yields_to_training(&pid);
    kill("TERM", &pid);
    tmux.wait_for("the stopping state", REACT, |s| {
        status(s).contains("STOPPING")
    });
    assert_clean_exit(&tmux, 128 + 15);
}

#[test]
fn a_second_signal_restores_the_terminal_and_quits_at_once() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cwd = dir.path().to_str().expect("a UTF-8 temp path").to_string();
    let tmux = Tmux::start("second-signal", 100, 30, &cwd, &dashboard_command());
    tmux.wait_for("the first training step", START, |s| {
        status(s).contains("RUNNING") && step_of(s).is_some_and(|n| n > 0)
    });
    // Frozen, the program cannot finish a graceful stop between the two signals; both are
    // handled as soon as it goes on. (Two different signals: a second of the same kind
    // would merge with the first while pending.)
    let pid = tmux.program_pid();
    kill("STOP", &pid);
    kill("INT", &pid);
    kill("TERM", &pid);
    kill("CONT", &pid);
    let after = tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=") && s.contains("terminal=")
    });
    // 128 + whichever of the two was handled second.
    assert!(
        after.contains("digitdash-exit=130") || after.contains("digitdash-exit=143"),
        "{after}"
    );
    assert!(after.contains("again: quitting at once"), "{after}");
    assert!(
        after.contains("without waiting for the final evaluation"),
        "{after}"
    );
    assert!(after.contains("terminal=cooked"), "still raw:\n{after}");
    assert_eq!(tmux.pane_info("#{alternate_on}"), "0", "alternate screen");
    assert_eq!(tmux.pane_info("#{cursor_flag}"), "1", "hidden cursor");
}

/// While training runs, the threads that train (the trainer and rayon's workers, which it
/// starts and which carry its name) keep the process's priority, and the dashboard's own
/// threads (the frame loop, keyboard, inspector, sweep reader) run 10 nice levels below it
/// (`priority::below_training`).
fn assert_dashboard_yields_to_training(pid: &str) {
    let base = own_nice();
    let lower = digitdash::priority::below_training(base);
    let threads = thread_priorities(pid);
    let trainers = threads.iter().filter(|(name, _)| name == "trainer").count();
    assert!(trainers >= 2, "the trainer and its workers: {threads:?}");
    for (name, nice) in &threads {
        let expected = if name == "trainer" { base } else { lower };
        assert_eq!(*nice, expected, "thread {name}: {threads:?}");
    }
}

/// Steps up to `paused_at` used 1e-4 and the steps after it, up to `resumed_at`, 4e-4.
fn assert_learning_rate_changed(metrics: &str, paused_at: u64, resumed_at: u64) {
    let mut after_the_change = 0;
    for row in common::metrics::parse(metrics) {
        if row.step <= resumed_at {
            let expected = if row.step <= paused_at { 1e-4 } else { 4e-4 };
            assert!(
                (row.learning_rate - expected).abs() < 1e-12,
                "step {} used {}, not {expected}",
                row.step,
                row.learning_rate
            );
            after_the_change += usize::from(row.step > paused_at);
        }
    }
    assert!(
        after_the_change > 0,
        "no step after {paused_at} in the metrics"
    );
}

/// Saves the screen as `base/dashboard.txt` and, with its colours, `base/dashboard.svg`.
fn save_screenshot(tmux: &Tmux, base: &std::path::Path) {
    std::fs::create_dir_all(base).expect("the screenshot folder");
    let text = tmux.screen();
    std::fs::write(base.join("dashboard.txt"), &text).expect("writing dashboard.txt");
    let svg = svg::from_ansi(&tmux.screen_with_colours(), 120, 40);
    std::fs::write(base.join("dashboard.svg"), svg).expect("writing dashboard.svg");
}
