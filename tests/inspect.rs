//! What the dashboard's Inspect and Draw pages compute, checked against the subcommands a user
//! would reach for: the confusion matrix against `digitdash eval`, a saved drawing against
//! `digitdash predict`, for the same weights (a checkpoint of a short run on tiny data). A
//! run folder stands for its best checkpoint: in `eval`, `predict` and a watched run's pages.

mod common;

use std::path::{Path, PathBuf};

use common::{texts, Workspace};
use digitdash::data::{self, CLASSES};
use digitdash::frontend::dashboard::app::ChartExport;
use digitdash::frontend::dashboard::app::{Canvas, Confusion};
use digitdash::frontend::dashboard::effects::{export_charts, save_drawing};
use digitdash::model::score::{argmax, evaluate};
use digitdash::run::checkpoint::load_on_cpu as load_model;
use digitdash::run::history::RunHistory;
use digitdash::run::metrics::Detail;
use digitdash::run::{CheckpointKind, RunDir};
use digitdash::source::replay::{Replay, ReplayOptions};
use digitdash::source::Source;
use digitdash::train::Event;

/// A 20-step run on the workspace's tiny data; returns its final checkpoint.
fn checkpoint(ws: &Workspace) -> PathBuf {
    let run = ws.dir.path().join("run");
    let output = ws.run(&[
        "--steps",
        "20",
        "--batch-size",
        "10",
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", texts(&output).1);
    run.join("checkpoints").join("step-00000020")
}

/// The matrix `digitdash eval` prints: ten rows of a label and ten counts.
fn printed_matrix(out: &str) -> Vec<Vec<usize>> {
    out.lines()
        .skip_while(|l| !l.starts_with("true\\pred"))
        .skip(1)
        .take(CLASSES)
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .take(CLASSES)
                .map(|n| n.parse().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn the_dashboards_confusion_matrix_is_the_one_eval_prints() {
    let ws = Workspace::new();
    let checkpoint = checkpoint(&ws);
    let (out, _) = ws.eval(&checkpoint);
    let printed = printed_matrix(&out);
    assert_eq!(printed.len(), CLASSES, "{out}");

    // The dashboard's matrix, from an evaluation of the same weights as the trainer runs it.
    let (device, model) = load_model(&checkpoint).unwrap();
    let test = data::load(&ws.data_dir()).unwrap().test;
    let scores = evaluate(&model, &device, &test, 500);
    let dashboard = Confusion::new(20, &scores.probabilities, &test);
    for (truth, row) in printed.iter().enumerate() {
        let ours: Vec<usize> = (0..CLASSES).map(|p| dashboard.count(truth, p)).collect();
        assert_eq!(&ours, row, "row {truth}:\n{out}");
    }
    let total: usize = printed.iter().flatten().sum();
    assert_eq!(total, test.len());
}

#[test]
fn a_saved_drawing_is_read_back_by_predict_as_the_same_class() {
    let ws = Workspace::new();
    let checkpoint = checkpoint(&ws);
    let (device, model) = load_model(&checkpoint).unwrap();
    let image = drawing();
    let expected = argmax(&digitdash::model::score::classify(&model, &device, &image));

    let dir = ws.dir.path();
    let first = save_drawing(dir, &image).unwrap();
    assert!(first.ends_with("drawing-001.png"));
    let second = save_drawing(dir, &image).unwrap();
    assert!(
        second.ends_with("drawing-002.png"),
        "a new name, nothing overwritten"
    );
    let output = ws
        .command(&[
            "predict",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            first.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let class = predicted_class(&out, &first);
    assert_eq!(class, expected, "{out}");
}

/// The class `digitdash predict` printed for `path` (`PATH: D (P%; then ...)`).
fn predicted_class(out: &str, path: &Path) -> usize {
    let prefix = format!("{}: ", path.display());
    let line = out
        .lines()
        .find(|l| l.starts_with(&prefix))
        .expect("a line for the file");
    line[prefix.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_dashboards_export_plots_the_runs_records_into_its_folder() {
    let ws = Workspace::new();
    checkpoint(&ws);
    let run = ws.dir.path().join("run");
    let export = ChartExport {
        run: run.clone(),
        compared: vec![run.clone()],
        smoothing: 0.6,
        log_loss: true,
    };
    let first = export_charts(&export).unwrap();
    assert_eq!(first, run.join("charts-001.png"));
    let second = export_charts(&export).unwrap();
    assert_eq!(
        second,
        run.join("charts-002.png"),
        "a new name, nothing overwritten"
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&first).unwrap(),
    ));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    assert!(
        info.width >= 300 && info.height >= 300,
        "{}x{}",
        info.width,
        info.height
    );
    let missing = ChartExport {
        compared: vec![ws.dir.path().join("absent")],
        ..export
    };
    let err = export_charts(&missing).unwrap_err();
    assert!(err.contains("absent"), "{err}");
}

/// A drawn stroke, as the Draw page hands it to the network.
fn drawing() -> Vec<f32> {
    let mut canvas = Canvas::default();
    canvas.move_cursor(-4, -8);
    canvas.toggle_pen();
    canvas.move_cursor(8, 0);
    canvas.move_cursor(0, 14);
    canvas.as_mnist().to_vec()
}

#[test]
fn a_run_folder_stands_for_its_best_checkpoint_or_the_one_of_a_step() {
    let ws = Workspace::new();
    checkpoint(&ws);
    let run = ws.dir.path().join("run");
    let best = RunDir::new(&run)
        .checkpoints(CheckpointKind::Best)
        .pop()
        .expect("a best checkpoint");
    assert_eq!(ws.eval(&run).0, ws.eval(&best).0);

    let image = drawing();
    let saved = save_drawing(ws.dir.path(), &image).unwrap();
    let predict = |args: &[&str]| {
        let mut all = vec!["predict", "--checkpoint"];
        all.extend_from_slice(args);
        all.push(saved.to_str().unwrap());
        let output = ws.command(&all).output().unwrap();
        let (out, err) = texts(&output);
        assert!(output.status.success(), "{err}");
        out
    };
    let run_text = run.to_str().unwrap();
    let step_20 = run.join("checkpoints").join("step-00000020");
    assert_eq!(
        predict(&[run_text, "--step", "20"]),
        predict(&[step_20.to_str().unwrap()])
    );
    assert_eq!(predict(&[run_text]), predict(&[best.to_str().unwrap()]));
}

#[test]
fn a_watched_finished_run_draws_with_its_best_checkpoint() {
    let ws = Workspace::new();
    checkpoint(&ws);
    let run = RunDir::new(ws.dir.path().join("run"));
    let best = run
        .checkpoints(CheckpointKind::Best)
        .pop()
        .expect("a best checkpoint");
    let history = RunHistory::open(run, Detail::Full).unwrap();
    let options = ReplayOptions {
        inspect: true,
        data_dir: Some(ws.data_dir()),
    };
    let replay = Replay::spawn(history, options).unwrap();
    let weights = replay
        .events()
        .iter()
        .find_map(|event| match event {
            Event::Weights(weights) => Some(weights),
            _ => None,
        })
        .expect("the replay sends weights");
    let (device, model) = load_model(&best).unwrap();
    let image = drawing();
    let ours = digitdash::model::score::classify(&weights.model, &device, &image);
    let saved = digitdash::model::score::classify(&model, &device, &image);
    assert_eq!(
        ours, saved,
        "the Draw page's probabilities are the best checkpoint's"
    );
    replay.join();
}

#[test]
fn a_watched_finished_runs_confusion_matrix_is_the_one_eval_prints_for_its_best_checkpoint() {
    let ws = Workspace::new();
    checkpoint(&ws);
    let folder = ws.dir.path().join("run");
    let (out, _) = ws.eval(&folder);
    let printed = printed_matrix(&out);
    assert_eq!(printed.len(), CLASSES, "{out}");

    // What the Inspect page builds its matrix from: the scores the replay sends for the
    // checkpoint it loaded (on the test set: this run holds no validation split).
    let history = RunHistory::open(RunDir::new(folder), Detail::Full).unwrap();
    let options = ReplayOptions {
        inspect: true,
        data_dir: Some(ws.data_dir()),
    };
    let replay = Replay::spawn(history, options).unwrap();
    let scores = replay
        .events()
        .iter()
        .find_map(|event| match event {
            Event::CheckpointScored(scores) => Some(scores),
            _ => None,
        })
        .expect("the replay scores the checkpoint it shows");
    replay.join();
    let test = data::load(&ws.data_dir()).unwrap().test;
    let dashboard = Confusion::new(scores.step, &scores.probabilities, &test);
    for (truth, row) in printed.iter().enumerate() {
        let ours: Vec<usize> = (0..CLASSES).map(|p| dashboard.count(truth, p)).collect();
        assert_eq!(&ours, row, "row {truth}:\n{out}");
    }
    assert_eq!(printed.iter().flatten().sum::<usize>(), test.len());
}
