//! End to end: `digitdash watch SWEEP_DIR` in tmux over a sweep planned for a cluster on tiny
//! data. One trial is trained before the dashboard opens, two more (as a cluster's tasks
//! would, with `sweep trial DIR N`) while it is open: the Sweep page lists the trials as their
//! folders say, follows the two to their end, and overlays the ones chosen with the mouse and
//! the keyboard on the Training page's charts. Another opens the page before any trial has
//! started: pages 1-4 say they show no run, and the page follows the first trial as it trains.

mod common;

use std::path::Path;
use std::time::Duration;

use common::tmux::Tmux;
use common::{texts, Workspace};

/// Upper bound for the dashboard to show what the sweep's folder says, or to answer a key;
/// it only keeps a hung program from blocking the suite.
const REACT: Duration = Duration::from_secs(120);

/// A workspace holding out 50 validation images, checkpointing every 5 steps.
fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\nvalidation = 50\n[train]\neval_every = 0\n\
         [run]\ncheckpoint_every = 5\n",
    );
    ws
}

/// Runs `digitdash` in the workspace on one thread; asserts it succeeded.
fn digitdash(ws: &Workspace, args: &[&str]) {
    let output = ws
        .command(args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run digitdash");
    assert!(output.status.success(), "{args:?}: {}", texts(&output).1);
}

/// The table's row of `trial`: its name after its mark (`[ ]`, `[x]` or `(●)`).
fn row<'a>(screen: &'a str, trial: &str) -> &'a str {
    let name = format!(" {trial} ");
    let is_row = |l: &str| {
        let at = l.find(&name);
        ["[ ]", "[x]", "(●)"]
            .iter()
            .any(|mark| l.find(mark).is_some_and(|m| at.is_some_and(|a| m < a)))
    };
    screen
        .lines()
        .find(|l| is_row(l))
        .unwrap_or_else(|| panic!("no row for {trial}:\n{screen}"))
}

/// Sends a left click (SGR mouse report, press and release) at the 0-based cell (`x`, `y`).
fn click(tmux: &Tmux, x: usize, y: usize) {
    for end in ['M', 'm'] {
        let report = format!("\x1b[<0;{};{}{end}", x + 1, y + 1);
        tmux.bytes(report.as_bytes());
    }
}

/// Plans a grid of four 6-step trials (batch 8 or 16, dropout 0 or 0.5) into `sweep/` for a
/// cluster; returns the folder.
fn planned_sweep(ws: &Workspace) -> String {
    let file = ws.dir.path().join("grid.toml");
    std::fs::write(
        &file,
        "method = \"grid\"\n[budget]\nsteps = 6\n[space]\nbatch_size = [8, 16]\n\
         dropout = [0.0, 0.5]\n",
    )
    .unwrap();
    let dir = ws.dir.path().join("sweep");
    let sweep = dir.to_str().unwrap();
    digitdash(
        ws,
        &[
            "sweep",
            "plan",
            file.to_str().unwrap(),
            "--out",
            sweep,
            "--emit",
            "commands",
        ],
    );
    sweep.to_string()
}

/// `digitdash watch SWEEP` in a 120x40 tmux session named `name`.
fn watch(ws: &Workspace, name: &str, sweep: &str) -> Tmux {
    let command = format!(
        "'{}' watch '{sweep}' --data-dir '{}'; echo digitdash-exit=$?; sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        ws.data_dir().display()
    );
    Tmux::start(name, 120, 40, &ws.cwd(), &command)
}

#[test]
fn watch_follows_a_sweep_on_its_page_and_overlays_the_chosen_trials() {
    let ws = workspace();
    let sweep = &planned_sweep(&ws);
    digitdash(&ws, &["sweep", "trial", sweep, "0"]);
    let tmux = watch(&ws, "sweep-page", sweep);
    let screen = tmux.wait_for("the Sweep page", REACT, |s| s.contains("trial-003"));
    assert!(screen.contains(" 5 Sweep "), "{screen}");
    assert!(row(&screen, "trial-000").contains("finished"), "{screen}");
    assert!(row(&screen, "trial-000").contains("(●) ★"), "{screen}");
    assert!(screen.contains("pages 1-4 show trial-000"), "{screen}");
    for trial in ["trial-001", "trial-002", "trial-003"] {
        assert!(row(&screen, trial).contains("planned"), "{screen}");
    }
    assert!(screen.contains("1 finished · 3 planned"), "{screen}");

    // Two cluster tasks train trials 1 and 2 while the dashboard watches.
    digitdash(&ws, &["sweep", "trial", sweep, "1"]);
    digitdash(&ws, &["sweep", "trial", sweep, "2"]);
    let screen = tmux.wait_for("the trials trained meanwhile", REACT, |s| {
        s.contains("3 finished · 1 planned")
    });
    for trial in ["trial-001", "trial-002"] {
        let line = row(&screen, trial);
        assert!(line.contains("finished") && line.contains('%'), "{screen}");
    }

    // By trial number; a click on trial-001's row overlays it.
    tmux.text("s");
    let screen = tmux.wait_for("the order by trial number", REACT, |s| {
        s.contains("by trial number")
    });
    let line = row(&screen, "trial-001");
    let y = screen
        .lines()
        .position(|l| l == line)
        .expect("trial-001's row");
    click(&tmux, line.find("trial-001").unwrap(), y);
    tmux.wait_for("trial-001 overlaid", REACT, |s| {
        row(s, "trial-001").contains("[x]")
    });
    // The keyboard: down to trial-002, space.
    tmux.keys(&["Down"]);
    tmux.text(" ");
    let screen = tmux.wait_for("trial-002 overlaid", REACT, |s| {
        row(s, "trial-002").contains("[x]")
    });
    assert!(row(&screen, "trial-003").contains("[ ]"), "{screen}");
    tmux.keys(&["Down"]);
    tmux.text(" ");
    tmux.wait_for("the refusal of a planned trial", REACT, |s| {
        s.contains("trial-003 has not started")
    });

    tmux.text("1");
    // The whole of page 1, not a capture taken while the terminal was still redrawing it.
    let screen = tmux.wait_for("the overlay on the charts", REACT, |s| {
        s.contains("compared runs") && s.contains("watching trial-000")
    });
    assert!(screen.contains("━━ trial-001"), "{screen}");
    assert!(screen.contains("━━ trial-002"), "{screen}");
    assert!(screen.contains("watching trial-000"), "{screen}");
    assert!(Path::new(sweep).join("trial-002").is_dir());

    tmux.text("q");
    tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=0")
    });
}

#[test]
fn a_sweep_with_no_trial_started_shows_no_run_and_follows_the_first_one() {
    let ws = workspace();
    let sweep = &planned_sweep(&ws);
    let tmux = watch(&ws, "sweep-idle", sweep);
    let screen = tmux.wait_for("the planned trials", REACT, |s| s.contains("4 planned"));
    assert!(screen.contains("pages 1-4 show no trial"), "{screen}");
    assert!(screen.contains("★ no validation accuracy yet"), "{screen}");
    tmux.text(" ");
    tmux.wait_for("the refusal of a planned trial", REACT, |s| {
        s.contains("has not started")
    });

    digitdash(&ws, &["sweep", "trial", sweep, "0"]);
    let screen = tmux.wait_for("the trial trained meanwhile", REACT, |s| {
        s.contains("1 finished · 3 planned")
    });
    assert!(
        row(&screen, "trial-000").contains("★ trial-000"),
        "{screen}"
    );
    tmux.text("1");
    let screen = tmux.wait_for("the Training page", REACT, |s| {
        s.contains("no trial of the sweep had started")
    });
    assert!(screen.contains("PREPARING"), "{screen}");
    tmux.text("q");
    tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=0")
    });
}
