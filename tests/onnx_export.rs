//! `digitdash export`: the ONNX file read back by a second, independent runtime (tract) gives
//! the logits digitdash computes on 100 real test images, to 1e-4; `--probabilities` gives
//! the softmax; bad sources and destinations fail with a message and leave no file.
//!
//! The real test images come from `DIGITDASH_DATA_DIR` (see `common::real_data_dir`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dfdx::prelude::*;
use digitdash::data::{load, IMAGE_PIXELS};
use digitdash::model::image_batch;
use digitdash::model::score::classify;
use digitdash::run::checkpoint::load_on_cpu as load_model;

use common::{texts, Workspace};

/// Test images compared.
const IMAGES: usize = 100;
/// The largest difference allowed between the two runtimes' outputs.
const TOLERANCE: f32 = 1e-4;

/// A run trained for a few steps on the real data, shared by the tests: (workspace, run).
fn trained_run() -> &'static (Workspace, PathBuf) {
    static RUN: OnceLock<(Workspace, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let ws = Workspace::new();
        let run = ws.dir.path().join("run");
        let data = common::real_data_dir();
        let config = ws.config();
        let output = ws
            .bare_command(&[
                "--config",
                config.to_str().expect("a UTF-8 path"),
                "--headless",
                "--data-dir",
                data.to_str().expect("a UTF-8 path"),
                "--steps",
                "40",
                "--eval-every",
                "40",
                "--run-dir",
                run.to_str().expect("a UTF-8 path"),
            ])
            .output()
            .expect("run digitdash");
        let (_, err) = texts(&output);
        assert!(output.status.success(), "training failed: {err}");
        (ws, run)
    })
}

/// The first [`IMAGES`] real test images as pixels in 0..1.
fn test_pixels() -> Vec<f32> {
    let test = load(&common::real_data_dir()).expect("real data").test;
    let indices: Vec<usize> = (0..IMAGES).collect();
    let mut pixels = vec![0.0f32; IMAGES * IMAGE_PIXELS];
    test.fill_images(&indices, &mut pixels);
    pixels
}

/// Runs `digitdash export` in the run's workspace; returns (success, stderr).
fn export(ws: &Workspace, args: &[&str]) -> (bool, String) {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let output = ws.command(&all).output().expect("run digitdash export");
    (output.status.success(), texts(&output).1)
}

/// The outputs of the ONNX file at `path` on `pixels`, by tract: (shape, values).
fn tract_outputs(path: &Path, pixels: &[f32]) -> (Vec<usize>, Vec<f32>) {
    tract::outputs(path, pixels, IMAGES)
}

/// tract, kept apart: its prelude and dfdx's both name a `Tensor`.
mod tract {
    use std::path::Path;

    use tract_onnx::prelude::*;

    /// Runs the ONNX file at `path` on `images` images of `pixels`, the batch size left to
    /// the file's symbolic `N`; returns the first output's shape and values.
    pub fn outputs(path: &Path, pixels: &[f32], images: usize) -> (Vec<usize>, Vec<f32>) {
        let model = onnx()
            .model_for_path(path)
            .expect("tract reads the file")
            .into_optimized()
            .expect("tract types and optimises the graph")
            .into_runnable()
            .expect("tract plans it");
        let input = Tensor::from_shape(&[images, 1, 28, 28], pixels).expect("input tensor");
        let outputs = model
            .run(tvec!(input.into_tvalue()))
            .expect("tract runs it");
        let view = outputs[0]
            .to_plain_array_view::<f32>()
            .expect("float output");
        (view.shape().to_vec(), view.iter().copied().collect())
    }
}

/// The largest absolute difference between two equally long vectors.
fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn tract_computes_digitdashs_logits_on_real_test_images() {
    let (ws, run) = trained_run();
    let onnx = ws.dir.path().join("logits.onnx");
    let (ok, err) = export(ws, &[run.to_str().unwrap(), "-o", onnx.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("best-step-00000040"),
        "the best checkpoint: {err}"
    );
    assert!(err.contains("output 'logits'"), "{err}");

    let pixels = test_pixels();
    let best = run.join("checkpoints/best-step-00000040");
    let (device, model) = load_model(&best).expect("the checkpoint loads");
    let mut ours = vec![0.0f32; IMAGES * 10];
    model
        .forward(image_batch(&device, pixels.clone()))
        .copy_into(&mut ours);

    let (shape, theirs) = tract_outputs(&onnx, &pixels);
    assert_eq!(shape, [IMAGES, 10]);
    let difference = max_difference(&ours, &theirs);
    eprintln!("largest logit difference over {IMAGES} images: {difference:e}");
    assert!(difference <= TOLERANCE, "{difference}");
    // Not a trivially small network: the logits vary between images and classes.
    let spread = ours.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(spread > 1.0, "{spread}");
}

#[test]
fn probabilities_are_the_softmax_digitdash_computes() {
    let (ws, run) = trained_run();
    let onnx = ws.dir.path().join("probabilities.onnx");
    let best = run.join("checkpoints/best-step-00000040");
    let (ok, err) = export(
        ws,
        &[
            best.to_str().unwrap(),
            "--probabilities",
            "-o",
            onnx.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(err.contains("output 'probabilities'"), "{err}");
    let pixels = test_pixels();
    let (device, model) = load_model(&best).expect("the checkpoint loads");
    let images: Vec<Vec<f32>> = pixels.chunks(IMAGE_PIXELS).map(<[f32]>::to_vec).collect();
    let ours: Vec<f32> = classify(&model, &device, &images.concat());
    let (shape, theirs) = tract_outputs(&onnx, &pixels);
    assert_eq!(shape, [IMAGES, 10]);
    assert!(max_difference(&ours, &theirs) <= TOLERANCE);
    for row in theirs.chunks(10) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{row:?}");
    }
}

/// Runs `digitdash export SOURCE -o OUTPUT`, asserts that it failed, and returns stderr.
fn refused(ws: &Workspace, source: &Path, output: &Path) -> String {
    let (ok, err) = export(
        ws,
        &[source.to_str().unwrap(), "-o", output.to_str().unwrap()],
    );
    assert!(!ok, "{} was exported: {err}", source.display());
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_sources_and_destinations_fail_and_leave_no_file() {
    let (ws, run) = trained_run();
    let dir = ws.dir.path();
    let out = dir.join("never.onnx");
    let err = refused(ws, &dir.join("no-such-run"), &out);
    assert!(
        err.contains("does not exist") && err.contains("no-such-run"),
        "{err}"
    );

    let empty = dir.join("empty-run");
    std::fs::create_dir_all(empty.join("checkpoints")).unwrap();
    std::fs::write(empty.join("config.toml"), "").unwrap();
    let err = refused(ws, &empty, &out);
    assert!(err.contains("holds no checkpoint"), "{err}");

    let err = refused(ws, &dir.join("data"), &out);
    assert!(err.contains("cannot read checkpoint"), "{err}");
    assert!(!out.exists());

    let err = refused(ws, run, &dir.join("absent-folder/model.onnx"));
    assert!(
        err.contains("cannot write") && err.contains("absent-folder"),
        "{err}"
    );
    assert!(!dir.join("absent-folder").exists());
    let strays: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".tmp"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}
