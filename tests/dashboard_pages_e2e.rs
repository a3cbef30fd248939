//! End to end: the dashboard's Draw page in tmux on real MNIST. One test trains a short run,
//! then draws a vertical stroke with the keyboard and reads the network's answer, `1`; another
//! drags the mouse over the pad (SGR mouse sequences, as a terminal sends them) and checks that
//! the drawing changed. With `DIGITDASH_SCREENSHOT=assets` the first also saves each page as
//! `page-N.txt` and `page-N.svg` there.
//!
//! Data come from `DIGITDASH_DATA_DIR` (CI: `../shared/mnist`); without it the tests download
//! MNIST once into `target/mnist-cache`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::svg;
use common::tmux::Tmux;

// Both bounds only keep a hung program from blocking the suite; neither says how fast anything
// should be.

/// Upper bound for data loading, the steps and the final evaluation.
const TRAIN: Duration = Duration::from_secs(600);
/// Upper bound for a key or a click to show on screen.
const REACT: Duration = Duration::from_secs(300);

/// The shell command that runs the dashboard with `args` in the session's folder.
fn dashboard_command(args: &str) -> String {
    let dir = common::real_data_dir();
    let dir = std::fs::canonicalize(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    format!(
        "'{}' --data-dir '{}' --run-dir run {args}; echo digitdash-exit=$?; sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        dir.display()
    )
}

/// The line of the Draw page's answer, e.g. `prediction 1  97%`.
fn prediction(screen: &str) -> Option<&str> {
    let start = screen.find("prediction ")?;
    screen[start..].lines().next()
}

/// Sends an SGR mouse report: `code` 0 left press, 32 left drag; `release` for the button's
/// release. `x` and `y` are 0-based screen cells.
fn mouse(tmux: &Tmux, code: u8, x: u16, y: u16, release: bool) {
    let end = if release { 'm' } else { 'M' };
    let report = format!("\x1b[<{code};{};{}{end}", x + 1, y + 1);
    tmux.bytes(report.as_bytes());
}

#[test]
fn a_vertical_stroke_drawn_with_the_keyboard_is_read_as_a_one() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cwd = dir.path().to_str().expect("a UTF-8 temp path").to_string();
    let command = dashboard_command("--preset fast --steps 300");
    let tmux = Tmux::start("draw", 120, 40, &cwd, &command);
    tmux.wait_for("the end of training", TRAIN, |s| s.contains("FINISHED"));
    let screenshots = std::env::var_os("DIGITDASH_SCREENSHOT").map(PathBuf::from);
    if let Some(base) = &screenshots {
        save(&tmux, base, 1);
        tmux.text("2");
        tmux.wait_for("the Inspect page", REACT, |s| {
            s.contains("confusion matrix, step 300")
        });
        tmux.keys(&["Down", "Right", "Right", "Right", "Right", "Right", "Right"]);
        tmux.text("o");
        tmux.wait_for("the occlusion overlay", REACT, |s| {
            s.contains("occlusion on")
        });
        std::thread::sleep(Duration::from_secs(2));
        save(&tmux, base, 2);
    }

    tmux.text("3");
    tmux.wait_for("the Draw page", REACT, |s| s.contains("prediction -"));
    // The cursor starts at (14, 14): up 9 rows, pen down, 18 rows down.
    for _ in 0..9 {
        tmux.keys(&["Up"]);
    }
    tmux.keys(&["Space"]);
    for _ in 0..18 {
        tmux.keys(&["Down"]);
    }
    let screen = tmux.wait_for("the network's answer", REACT, |s| {
        prediction(s).is_some_and(|p| p != "prediction -")
    });
    let line = prediction(&screen).expect("a prediction line");
    assert!(line.starts_with("prediction 1 "), "{line}\n{screen}");
    assert!(screen.contains("pen down"), "{screen}");
    if let Some(base) = &screenshots {
        save(&tmux, base, 3);
    }

    tmux.keys(&["BSpace"]);
    tmux.wait_for("a cleared pad", REACT, |s| s.contains("prediction -"));
    tmux.text("q");
    tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=0")
    });
}

#[test]
fn dragging_the_mouse_over_the_pad_draws() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cwd = dir.path().to_str().expect("a UTF-8 temp path").to_string();
    let command = dashboard_command("--steps 20 --eval-every 0");
    let tmux = Tmux::start("mouse", 100, 30, &cwd, &command);
    tmux.wait_for("the end of training", TRAIN, |s| s.contains("FINISHED"));
    // A click on the third tab opens the Draw page (tabs start after " digitdash ").
    let tab_x = tmux
        .screen()
        .lines()
        .next()
        .and_then(|l| l.find("3 Draw"))
        .expect("the tab bar");
    mouse(&tmux, 0, tab_x as u16, 0, false);
    mouse(&tmux, 0, tab_x as u16, 0, true);
    tmux.wait_for("the Draw page", REACT, |s| s.contains("prediction -"));
    assert_eq!(
        tmux.pane_info("#{mouse_any_flag}"),
        "1",
        "mouse capture while running"
    );
    let before = tmux.screen_with_colours();

    // The pad's first pixel sits at screen cell (1, 4): border, tab bar and two status rows.
    mouse(&tmux, 0, 1 + 8, 4 + 2, false);
    for row in 3..12 {
        mouse(&tmux, 32, 1 + 8 + (row - 3) / 2, 4 + row, false);
    }
    mouse(&tmux, 0, 1 + 12, 4 + 11, true);
    let answered = tmux.wait_for("the network's answer to the drawing", REACT, |s| {
        prediction(s).is_some_and(|p| p != "prediction -")
    });
    assert_ne!(
        before,
        tmux.screen_with_colours(),
        "the pad did not change:\n{answered}"
    );

    tmux.text("q");
    tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=0")
    });
    for flag in [
        "mouse_any_flag",
        "mouse_button_flag",
        "mouse_standard_flag",
        "mouse_sgr_flag",
    ] {
        let format = format!("#{{{flag}}}");
        assert_eq!(tmux.pane_info(&format), "0", "{flag} left on after exit");
    }
}

/// Saves the screen as `page-N.txt` and `page-N.svg` under `base`.
fn save(tmux: &Tmux, base: &Path, page: u8) {
    std::fs::create_dir_all(base).expect("the screenshot folder");
    std::fs::write(base.join(format!("page-{page}.txt")), tmux.screen()).expect("a text shot");
    let svg = svg::from_ansi(&tmux.screen_with_colours(), 120, 40);
    std::fs::write(base.join(format!("page-{page}.svg")), svg).expect("an SVG shot");
}
