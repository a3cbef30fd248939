//! End to end: `digitdash sweep` in a terminal (tmux) opens the dashboard on the Sweep page of
//! the sweep it trains, on tiny data. A sweep that ends while it is open quits on `q` at once
//! and prints its leaderboard; quitting one with trials left asks first, stops them at a
//! checkpoint, and says how to resume.

mod common;

use std::path::Path;
use std::time::Duration;

use common::tmux::Tmux;
use common::Workspace;

/// Upper bound for the dashboard to show what the sweep's folder says, or to answer a key;
/// it only keeps a hung program from blocking the suite.
const REACT: Duration = Duration::from_secs(120);

/// A workspace holding out 50 validation images, checkpointing every 5 steps, with a grid of
/// four trials (batch 8 or 16, dropout 0 or 0.5) of `steps` steps in `grid.toml`.
fn workspace(steps: u64) -> Workspace {
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\nvalidation = 50\n[train]\neval_every = 0\n\
         [run]\ncheckpoint_every = 5\n",
    );
    std::fs::write(
        ws.dir.path().join("grid.toml"),
        format!(
            "method = \"grid\"\n[budget]\nsteps = {steps}\n[space]\nbatch_size = [8, 16]\n\
             dropout = [0.0, 0.5]\n"
        ),
    )
    .unwrap();
    ws
}

/// `digitdash sweep grid.toml --out sweep` in a 120x40 tmux session named `name`, on one
/// thread.
fn sweep(ws: &Workspace, name: &str) -> Tmux {
    let command = format!(
        "RAYON_NUM_THREADS=1 '{}' sweep '{}' --out '{}' --data-dir '{}'; \
         echo digitdash-exit=$?; sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        ws.dir.path().join("grid.toml").display(),
        ws.dir.path().join("sweep").display(),
        ws.data_dir().display()
    );
    Tmux::start(name, 120, 40, &ws.cwd(), &command)
}

#[test]
fn a_sweep_in_a_terminal_shows_its_page_and_prints_its_leaderboard_after() {
    let ws = workspace(6);
    let tmux = sweep(&ws, "sweep-live-done");
    let screen = tmux.wait_for("the sweep's end on its page", REACT, |s| {
        s.contains("4 finished")
    });
    assert!(screen.contains(" 5 Sweep "), "{screen}");
    assert!(screen.contains("this process trains the sweep"), "{screen}");
    for trial in ["trial-000", "trial-001", "trial-002", "trial-003"] {
        assert!(screen.contains(trial), "{screen}");
    }
    // Every trial has ended: q quits without a question, and the table follows.
    tmux.text("q");
    let screen = tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=")
    });
    assert!(screen.contains("digitdash-exit=0"), "{screen}");
    assert!(screen.contains("# best: trial-"), "{screen}");
    assert!(!screen.contains("Stop its trials"), "{screen}");
    assert!(ws.dir.path().join("sweep/leaderboard.txt").is_file());
}

#[test]
fn quitting_a_sweep_with_trials_left_asks_then_stops_them_resumable() {
    let ws = workspace(1_000_000);
    let tmux = sweep(&ws, "sweep-live-quit");
    tmux.wait_for("a running trial", REACT, |s| {
        s.contains("1 running · 3 planned")
    });
    tmux.text("q");
    let screen = tmux.wait_for("the question", REACT, |s| {
        s.contains("The sweep is still training. Stop its trials and quit?")
    });
    let resume = format!(
        "digitdash sweep --resume {}",
        ws.dir.path().join("sweep").display()
    );
    assert!(screen.contains("keeps a checkpoint"), "{screen}");
    // n keeps it training.
    tmux.text("n");
    tmux.wait_for("the question gone", REACT, |s| {
        !s.contains("Stop its trials") && s.contains("running")
    });
    tmux.text("q");
    tmux.wait_for("the question again", REACT, |s| {
        s.contains("Stop its trials")
    });
    tmux.text("y");
    let screen = tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=")
    });
    assert!(screen.contains("digitdash-exit=0"), "{screen}");
    assert!(
        screen.contains("stopped by quitting its dashboard"),
        "{screen}"
    );
    assert!(screen.replace('\n', "").contains(&resume), "{screen}");
    let checkpoints = ws.dir.path().join("sweep/trial-000/checkpoints");
    let kept = std::fs::read_dir(&checkpoints)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("step-"));
    assert!(kept, "no checkpoint in {}", checkpoints.display());
    assert!(!Path::new(&ws.dir.path().join("sweep/leaderboard.txt")).exists());
}
