//! `digitdash runs` and `digitdash plot` through the binary, on fixture run folders.

mod common;

use common::digitdash;
use common::run_fixtures as fixtures;

use std::path::Path;
use std::process::Output;

use fixtures::{write_every_state, write_run, End, Spec};

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn runs_lists_every_folder_with_its_status_and_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    write_every_state(&runs);
    let out = stdout(&digitdash(dir.path(), &["runs", runs.to_str().unwrap()]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("DIFFERS"),
        "{out}"
    );
    let line = |name: &str| {
        *lines
            .iter()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for {name}:\n{out}"))
    };
    let finished = line("finished");
    for part in [
        "finished",
        "100/100",
        "98.50%",
        "1.0s",
        "learning_rate=0.001",
    ] {
        assert!(finished.contains(part), "{part} in {finished:?}");
    }
    assert!(line("stopped").contains("60/100"), "{out}");
    assert!(line("stopped").contains("learning_rate=0.0001"), "{out}");
    for (name, status) in [
        ("failed", "failed"),
        ("running", "running"),
        ("interrupted", "interrupted"),
        ("bad-config", "damaged"),
        ("no-metrics", "damaged"),
        ("empty", "not a run"),
    ] {
        assert!(line(name).contains(status), "{name}: {out}");
    }
    assert!(!out.contains("notes.txt"), "files are not runs: {out}");
    assert!(
        out.contains("failed: training failed: the loss became NaN"),
        "reasons are listed under the table: {out}"
    );
    assert!(out.contains("no-metrics: metrics.csv is missing"), "{out}");
}

#[test]
fn runs_json_is_one_array_of_objects() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    write_every_state(&runs);
    let out = stdout(&digitdash(
        dir.path(),
        &["runs", "--json", runs.to_str().unwrap()],
    ));
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    let array = value.as_array().unwrap();
    assert_eq!(array.len(), 8);
    let run = |name: &str| array.iter().find(|r| r["name"] == name).unwrap();
    let finished = run("finished");
    assert_eq!(finished["status"], "finished");
    assert_eq!(finished["steps_done"], 100);
    assert_eq!(finished["total_steps"], 100);
    assert_eq!(finished["differences"]["learning_rate"], "0.001");
    assert_eq!(finished["train"]["batch_size"], "50");
    let best = finished["best_accuracy"].as_f64().unwrap();
    assert_eq!(best, fixtures::accuracy_at(100));
    assert_eq!(
        run("failed")["status_detail"],
        "training failed: the loss became NaN"
    );
    assert_eq!(run("empty")["status"], "not a run");
    assert_eq!(run("running")["wall_seconds"], 0.4);
}

#[test]
fn runs_defaults_to_the_configured_run_folder_and_names_start_times() {
    let dir = tempfile::tempdir().unwrap();
    write_run(
        &dir.path().join("my-runs/20261128-021500"),
        &Spec::new(10, 10, End::Finished),
    );
    std::fs::write(dir.path().join("config.toml"), "[run]\ndir = \"my-runs\"\n").unwrap();
    let out = stdout(&digitdash(dir.path(), &["runs"]));
    assert!(
        out.contains("20261128-021500  2026-11-28 02:15:00  finished"),
        "{out}"
    );
    let alone = stdout(&digitdash(dir.path(), &["runs", "my-runs/20261128-021500"]));
    assert_eq!(
        alone.lines().count(),
        2,
        "a run's own folder lists that run:\n{alone}"
    );
    let empty = digitdash(
        dir.path(),
        &["runs", "--json", "my-runs/20261128-021500/checkpoints"],
    );
    let err = String::from_utf8_lossy(&empty.stderr);
    assert!(
        !empty.status.success() && err.contains("not a folder"),
        "{err}"
    );
}

/// Writes two finished fixture runs, `a` and `b`, under `dir`.
fn two_runs(dir: &Path) -> (String, String) {
    let a = dir.join("a");
    let b = dir.join("b");
    write_run(&a, &Spec::new(300, 300, End::Finished));
    write_run(
        &b,
        &Spec {
            learning_rate: 1e-3,
            ..Spec::new(200, 300, End::Stopped)
        },
    );
    (a.display().to_string(), b.display().to_string())
}

#[test]
fn plot_writes_an_svg_with_a_line_per_series_and_run_and_a_legend() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_runs(dir.path());
    let file = dir.path().join("cmp.svg");
    let out = digitdash(dir.path(), &["plot", &a, &b, "-o", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
    // Tableau blue for the first run, orange for the second.
    for colour in ["#1F77B4", "#FF7F0E"] {
        let polylines: Vec<&str> = svg
            .split("<polyline")
            .skip(1)
            .filter_map(|p| p.split('>').next())
            .filter(|p| p.contains(&format!("stroke=\"{colour}\"")))
            .collect();
        let curves = polylines.iter().filter(|p| points(p) > 2).count();
        let faint = polylines
            .iter()
            .filter(|p| p.contains("opacity=\"0.25\""))
            .count();
        // Smoothed loss, smoothed accuracy, test accuracy; raw loss and accuracy faint behind.
        assert_eq!(curves, 5, "{colour}");
        assert_eq!(faint, 2, "{colour}");
    }
    let texts = texts(&svg);
    for text in ["a", "b", "step", "loss", "Runs a, b"] {
        assert!(texts.iter().any(|t| t == text), "{text:?} not in {texts:?}");
    }
    assert!(texts.iter().any(|t| t.contains("log scale")), "{texts:?}");
    assert_eq!(
        texts.iter().filter(|t| *t == "a").count(),
        3,
        "a legend on each panel"
    );
}

/// The text of each `<text>` element of an SVG, trimmed.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let body = element.split_once('>')?.1;
            Some(body.split("</text>").next()?.trim().to_string())
        })
        .collect()
}

/// The number of points of a polyline element's text.
fn points(element: &str) -> usize {
    element
        .split("points=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map_or(0, |p| p.split_whitespace().count())
}

#[test]
fn plot_writes_a_png_of_the_size_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_runs(dir.path());
    let file = dir.path().join("cmp.png");
    let args = [
        "plot",
        &a,
        &b,
        "-o",
        file.to_str().unwrap(),
        "--width",
        "640",
        "--height",
        "480",
        "--smoothing",
        "0.9",
    ];
    let out = digitdash(dir.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&file).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (640, 480));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let dark = pixels
        .chunks(3)
        .filter(|p| p.iter().all(|&c| c < 80))
        .count();
    assert!(dark > 500, "text and axes are drawn: {dark} dark pixels");
}

#[test]
fn plot_refuses_an_unknown_extension_and_a_bad_smoothing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = two_runs(dir.path());
    let out = digitdash(dir.path(), &["plot", &a, "-o", "cmp.jpg"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(".svg or .png"),
        "{err}"
    );
    let out = digitdash(
        dir.path(),
        &["plot", &a, "-o", "cmp.png", "--smoothing", "1.5"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--smoothing"),
        "{err}"
    );
    let out = digitdash(dir.path(), &["plot", "missing", "-o", "cmp.png"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("missing"), "{err}");
}

/// The stroke colours of the polylines of `svg` with more than two points, in drawing order.
fn curve_colours(svg: &str) -> Vec<(String, usize)> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|p| p.split('>').next())
        .filter(|p| points(p) > 2)
        .filter_map(|p| {
            let colour = p.split("stroke=\"").nth(1)?.split('"').next()?;
            Some((colour.to_string(), points(p)))
        })
        .collect()
}

/// The heights of the points of each faint (opacity 0.5) polyline of `svg`.
fn faint_heights(svg: &str) -> Vec<Vec<String>> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|p| p.split('>').next())
        .filter(|p| p.contains("opacity=\"0.5\""))
        .map(|p| {
            let points = p.split("points=\"").nth(1).unwrap_or("").split('"').next();
            let xys = points.unwrap_or("").split_whitespace();
            xys.filter_map(|xy| Some(xy.split_once(',')?.1.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn plot_layers_draws_each_layers_statistics_over_the_steps() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("a");
    write_run(&run, &Spec::new(300, 300, End::Finished));
    fixtures::write_layers(&run, 300, 20);
    let file = dir.path().join("layers.svg");
    let args = [
        "plot",
        run.to_str().unwrap(),
        "--layers",
        "-o",
        file.to_str().unwrap(),
    ];
    let out = digitdash(dir.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&file).unwrap();
    let texts = texts(&svg);
    for text in [
        "conv1",
        "conv2",
        "hidden",
        "output",
        "Layers of run a",
        "step",
    ] {
        assert!(texts.iter().any(|t| t == text), "{text:?} not in {texts:?}");
    }
    assert!(
        texts.iter().any(|t| t.contains("healthy near 1e-3")),
        "{texts:?}"
    );
    let curves = curve_colours(&svg);
    let count = |colour: &str| curves.iter().filter(|(c, _)| c == colour).count();
    // conv1 (blue): ratio, dead ReLUs, weight RMS, gradient RMS, each of the 15 samples.
    assert_eq!(count("#1F77B4"), 4, "{curves:?}");
    assert!(curves
        .iter()
        .filter(|(c, _)| c == "#1F77B4")
        .all(|(_, n)| *n == 15));
    // The frozen output layer (red) has no ReLU and a zero ratio that a log axis cannot
    // show: only its two RMS lines.
    assert_eq!(count("#D62728"), 2, "{curves:?}");
    // The dashed 1e-3 guide: faint horizontal dashes, all at one height.
    let dashes = faint_heights(&svg);
    assert!(dashes.len() > 10, "{} dashes", dashes.len());
    assert!(
        dashes.iter().flatten().all(|y| *y == dashes[0][0]),
        "{dashes:?}"
    );
}

#[test]
fn plot_layers_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_runs(dir.path());
    let out = digitdash(dir.path(), &["plot", &a, &b, "--layers", "-o", "l.png"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("give one run folder"),
        "{err}"
    );
    let out = digitdash(dir.path(), &["plot", &a, "--layers", "-o", "l.png"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no layer statistics"),
        "{err}"
    );
    assert!(!dir.path().join("l.png").exists());
    fixtures::write_layers(Path::new(&a), 300, 100);
    let file = dir.path().join("l.png");
    let args = [
        "plot",
        &a,
        "--layers",
        "-o",
        file.to_str().unwrap(),
        "--width",
        "800",
        "--height",
        "600",
    ];
    let out = digitdash(dir.path(), &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&file).unwrap());
    let info = decoder.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (800, 600));
}
