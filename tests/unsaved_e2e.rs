//! End to end in tmux, on the tiny data: the dashboard never saves diverged weights when `c`
//! asks, and after a run whose final checkpoint found no room, `c` writes it once there is
//! room again, and quitting before that asks first.

mod common;

use std::path::Path;
use std::time::Duration;

use common::tmux::Tmux;
use common::Workspace;

/// Upper bound for a screen to show what the test waits for (a hang guard, not a speed limit).
const REACT: Duration = Duration::from_secs(300);

/// The dashboard in the workspace with `args`, then its exit status, in the tmux session
/// `name`.
fn dashboard(ws: &Workspace, name: &str, args: &str) -> Tmux {
    let command = format!(
        "'{}' --config '{}' --data-dir '{}' {args}; echo digitdash-exit=$?; sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        ws.config().display(),
        ws.data_dir().display()
    );
    let cwd = ws.cwd();
    Tmux::start(name, 120, 40, &cwd, &command)
}

/// The checkpoint folders of the run in `run`.
fn checkpoints(run: &Path) -> Vec<String> {
    std::fs::read_dir(run.join("checkpoints"))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn c_refuses_diverged_weights() {
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\n[train]\neval_every = 0\n[run]\ncheckpoint_every = 0\n",
    );
    let tmux = dashboard(&ws, "diverged", "--steps 1000 --lr 1e30 --run-dir run");
    tmux.wait_for("the divergence", REACT, |s| s.contains("PAUSED"));
    tmux.text("c");
    let screen = tmux.wait_for("the refusal", REACT, |s| s.contains("not written"));
    assert!(screen.contains("diverged"), "{screen}");
    assert!(checkpoints(&ws.dir.path().join("run")).is_empty());
    tmux.text("q");
    tmux.text("y");
    let screen = tmux.wait_for("the exit", REACT, |s| s.contains("digitdash-exit="));
    assert!(screen.contains("digitdash-exit=1"), "{screen}");
    assert!(
        checkpoints(&ws.dir.path().join("run")).is_empty(),
        "not at the end either"
    );
}

#[test]
fn after_a_full_disk_c_saves_the_final_weights_and_quitting_asks_first() {
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 10\n[run]\ncheckpoint_every = 0\n",
    );
    let run = ws.dir.path().join("run");
    let tmux = dashboard(&ws, "full-disk", "--steps 400 --run-dir run");
    // As soon as the run exists, no room for its checkpoints (a file where their folder goes).
    let deadline = std::time::Instant::now() + REACT;
    while !run.join("metrics.csv").exists() {
        assert!(std::time::Instant::now() < deadline, "{}", tmux.screen());
        std::thread::sleep(Duration::from_millis(5));
    }
    let blocker = run.join("checkpoints");
    std::fs::write(&blocker, "no room").unwrap();
    tmux.wait_for("the end", REACT, |s| s.contains("FINISHED"));

    tmux.text("q");
    let question = tmux.wait_for("the question", REACT, |s| s.contains("not saved"));
    assert!(question.contains("press c"), "{question}");
    tmux.text("n");
    std::fs::remove_file(&blocker).unwrap();
    tmux.text("c");
    tmux.wait_for("the save", REACT, |s| s.contains("final weights are saved"));
    assert_eq!(checkpoints(&run), ["step-00000400"]);
    tmux.text("q");
    let screen = tmux.wait_for("the exit", REACT, |s| s.contains("digitdash-exit="));
    assert!(screen.contains("digitdash-exit=0"), "{screen}");
}
