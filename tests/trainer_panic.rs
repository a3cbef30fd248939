//! End to end in tmux: a panic in the trainer thread while the dashboard runs. The dashboard
//! shows the failure, and on quitting gives the terminal back (cooked mode, main screen,
//! cursor shown), prints the panic's report and the error after that, and exits with status 1.
//!
//! The panic comes from a test-only switch (`DIGITDASH_TEST_PANIC_AT_STEP`, cargo feature
//! `test-hooks`) that no normal build has. The test builds the `digitdash-test-hooks` binary
//! itself, with the same cargo, profile and target folder as the suite (cargo holds no lock on
//! it while tests run): only the crate itself is compiled again, and the `digitdash` binary the
//! other tests run is left as it is.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::tmux::Tmux;
use common::Workspace;

/// Upper bound for the tiny run to reach the panic (a hang guard, not a speed limit).
const START: Duration = Duration::from_secs(600);
/// Upper bound for a key to act, or the program to exit (a hang guard, not a speed limit).
const REACT: Duration = Duration::from_secs(300);

/// Builds `digitdash-test-hooks` into the suite's own target folder and profile; returns its
/// path.
fn build_test_hooks_binary() -> PathBuf {
    let main_binary = Path::new(env!("CARGO_BIN_EXE_digitdash"));
    let profile_dir = main_binary.parent().expect("the profile folder");
    let target_dir = profile_dir.parent().expect("the target folder");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => panic!("no profile in {}", main_binary.display()),
    };
    let output = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--offline",
            "--profile",
            profile,
            "--features",
            "test-hooks",
        ])
        .args(["--bin", "digitdash-test-hooks", "--target-dir"])
        .arg(target_dir)
        .output()
        .expect("running cargo");
    assert!(
        output.status.success(),
        "cargo build --features test-hooks failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let binary = profile_dir.join(format!(
        "digitdash-test-hooks{}",
        std::env::consts::EXE_SUFFIX
    ));
    assert!(binary.is_file(), "no {}", binary.display());
    binary
}

#[test]
fn a_panic_in_the_trainer_restores_the_terminal_then_reports_and_exits_1() {
    let binary = build_test_hooks_binary();
    let ws = Workspace::new();
    let cwd = ws.cwd();
    let command = format!(
        "DIGITDASH_TEST_PANIC_AT_STEP=3 '{}' --config '{}' --data-dir '{}' --steps 1000 \
         --batch-size 10 --run-dir run; \
         echo digitdash-exit=$?; \
         case \"$(stty -a)\" in *-icanon*) echo terminal=raw;; *) echo terminal=cooked;; esac; \
         sleep 600",
        binary.display(),
        ws.config().display(),
        ws.data_dir().display()
    );
    let tmux = Tmux::start("trainer-panic", 100, 30, &cwd, &command);
    let message = "test hook: the trainer panics at step 3";

    let failed = tmux.wait_for("the failure on the dashboard", START, |s| {
        s.lines().nth(1).unwrap_or("").contains("FAILED")
    });
    // While the dashboard is up the report is held, not written over it.
    assert!(!failed.contains("panicked"), "{failed}");
    assert_eq!(
        tmux.pane_info("#{alternate_on}"),
        "1",
        "the dashboard's screen"
    );

    tmux.text("q");
    let after = tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=") && s.contains("terminal=")
    });
    assert!(after.contains("digitdash-exit=1"), "{after}");
    assert!(after.contains("terminal=cooked"), "still raw:\n{after}");
    assert_eq!(tmux.pane_info("#{alternate_on}"), "0", "alternate screen");
    assert_eq!(tmux.pane_info("#{cursor_flag}"), "1", "hidden cursor");
    assert_eq!(tmux.pane_info("#{mouse_any_flag}"), "0", "mouse capture");

    // On the main screen, after the restore: the held report, then the error, then the exit.
    let position = |needle: &str| {
        after
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} on the screen:\n{after}"))
    };
    let report = position("thread 'trainer' panicked");
    let payload = report + after[report..].find(message).expect("the panic's message");
    let error = position(&format!("error: the trainer crashed: {message}"));
    let exit = position("digitdash-exit=1");
    assert!(
        report < payload && payload < error && error < exit,
        "{after}"
    );
    assert!(
        !after.contains("FAILED"),
        "dashboard left on screen:\n{after}"
    );
}
