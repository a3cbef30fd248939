//! What the dashboard's Inspect and Draw pages compute, checked against the subcommands a user
//! would reach for: the confusion matrix against `digitdash eval`, a saved drawing against
//! `digitdash predict`, for the same weights (a checkpoint of a short run on tiny data).

mod common;

use std::path::{Path, PathBuf};

use common::{texts, Workspace};
use digitdash::data::{self, CLASSES};
use digitdash::frontend::dashboard::app::ChartExport;
use digitdash::frontend::dashboard::app::{Canvas, Confusion};
use digitdash::frontend::dashboard::effects::{export_charts, save_drawing};
use digitdash::model::score::{argmax, evaluate};
use digitdash::run::checkpoint::load_on_cpu as load_model;

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
    let mut canvas = Canvas::default();
    canvas.move_cursor(-4, -8);
    canvas.toggle_pen();
    canvas.move_cursor(8, 0);
    canvas.move_cursor(0, 14);
    let image = canvas.as_mnist().to_vec();
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
