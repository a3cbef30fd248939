//! End to end: `digitdash watch` in tmux on a finished run (20 steps on tiny data, layer
//! statistics every 5 steps). The Draw page predicts with the run's best checkpoint: a stroke
//! drawn with the keyboard gets the class and probability that `digitdash predict` gives the
//! saved drawing, and the Draw and Inspect pages name that checkpoint. Page 4 shows the run's
//! layer statistics as charts. The checkpoint picker (`k`) then shows a periodic checkpoint,
//! whose answer is the one `predict --step` gives.

mod common;

use std::time::Duration;

use common::tmux::Tmux;
use common::{texts, Workspace};

/// Upper bound for a key, or the run's records and checkpoint, to show on screen; it only
/// keeps a hung program from blocking the suite.
const REACT: Duration = Duration::from_secs(120);

/// The Draw page's answer, e.g. `prediction 1  97%`: the class and the percentage.
fn prediction(screen: &str) -> Option<(String, f64)> {
    let start = screen.find("prediction ")?;
    let mut words = screen[start..].lines().next()?.split_whitespace().skip(1);
    let class = words.next()?.to_string();
    let percent = words.next()?.trim_end_matches('%').parse().ok()?;
    Some((class, percent))
}

/// What `digitdash predict` printed for its one image (`PATH: D (P%; then ...)`).
fn predicted(out: &str) -> (String, f64) {
    let line = out.lines().next().expect("a line for the image");
    let (_, answer) = line.rsplit_once(": ").expect("PATH: answer");
    let (class, rest) = answer.split_once(" (").expect("D (P%...");
    let percent = rest.split('%').next().unwrap().parse().unwrap();
    (class.to_string(), percent)
}

#[test]
fn a_watched_finished_run_predicts_a_drawing_with_its_best_checkpoint_and_shows_its_layers() {
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\n[train]\neval_every = 0\n[log]\nlayer_stats_every = 5\n\
         [run]\ncheckpoint_every = 5\nkeep_checkpoints = 4\n",
    );
    let trained = ws.run(&["--steps", "20", "--batch-size", "10", "--run-dir", "run"]);
    assert!(trained.status.success(), "{}", texts(&trained).1);
    let command = format!(
        "'{}' watch run --data-dir '{}'; echo digitdash-exit=$?; sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        ws.data_dir().display()
    );
    let tmux = Tmux::start("watch-finished", 100, 30, &ws.cwd(), &command);
    tmux.wait_for("the finished run", REACT, |s| s.contains("FINISHED"));

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
    // An answer to an earlier version of the drawing says it is updating.
    let screen = tmux.wait_for("the checkpoint's answer", REACT, |s| {
        prediction(s).is_some() && !s.contains("(updating)")
    });
    let (class, percent) = prediction(&screen).expect("a prediction");
    assert!(screen.contains("best checkpoint @20"), "{screen}");
    tmux.text("s");
    tmux.wait_for("the saved drawing", REACT, |s| s.contains("drawing saved"));
    let drawing = ws.dir.path().join("run").join("drawing-001.png");
    let output = ws
        .command(&["predict", "--checkpoint", "run", drawing.to_str().unwrap()])
        .output()
        .unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let (expected_class, expected_percent) = predicted(&out);
    assert_eq!(class, expected_class, "{out}\n{screen}");
    // The screen rounds to whole percents; the PNG holds the drawing in 8-bit levels.
    assert!(
        (percent - expected_percent).abs() <= 1.0,
        "{percent}% on screen, {expected_percent}% from predict"
    );

    tmux.text("2");
    tmux.wait_for("the best checkpoint's confusion matrix", REACT, |s| {
        s.contains("confusion matrix, best checkpoint @20")
    });

    // The checkpoint of step 10 in place of the best one, on the Draw page.
    tmux.text("3");
    tmux.text("k");
    tmux.wait_for("the checkpoint picker", REACT, |s| {
        s.contains("checkpoints shown by Inspect and Draw")
    });
    let under_cursor = |s: &str| s.lines().find(|l| l.contains('▶')).map(str::to_string);
    for _ in 0..8 {
        let screen = tmux.screen();
        if under_cursor(&screen).is_some_and(|l| l.contains("periodic  step      10 ")) {
            break;
        }
        tmux.keys(&["Down"]);
        tmux.wait_for("the cursor to move", REACT, |s| {
            under_cursor(s) != under_cursor(&screen)
        });
    }
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the answer of the checkpoint of step 10", REACT, |s| {
        // The flash says `loading the checkpoint @10` before the page names it.
        s.contains("checkpoint @10")
            && !s.contains("best checkpoint @20")
            && prediction(s).is_some()
            && !s.contains("(updating)")
    });
    let (class, percent) = prediction(&screen).expect("a prediction");
    let output = ws
        .command(&[
            "predict",
            "--checkpoint",
            "run",
            "--step",
            "10",
            drawing.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let (expected_class, expected_percent) = predicted(&out);
    assert_eq!(class, expected_class, "{out}\n{screen}");
    assert!(
        (percent - expected_percent).abs() <= 1.0,
        "{percent}% on screen, {expected_percent}% from predict --step 10"
    );

    tmux.text("4");
    let screen = tmux.wait_for("the layer charts", REACT, |s| {
        s.contains("update / weight (log)") && s.contains("layers at step 20")
    });
    for layer in ["conv1", "conv2", "hidden", "output"] {
        assert!(screen.contains(layer), "{layer}\n{screen}");
    }
    // The charts hold curves (half blocks), not only their frames.
    assert!(screen.matches(['▀', '▄']).count() > 20, "{screen}");
    tmux.text("q");
    tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=0")
    });
}
