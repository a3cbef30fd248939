//! Subcommands at the edges of what they accept, through the binary: `bench` outside the
//! batch sizes and step counts training takes, `presets` with a seed or preset given twice,
//! `eval` on a finished run that left a stale `writer.pid`, and `plot` of many runs.

mod common;

use std::path::Path;
use std::process::Command;

use common::run_fixtures::{write_run, End, Spec};
use common::{digitdash, texts, Workspace};
use digitdash::commands::eval::run_state_note;
use digitdash::run::RunDir;

#[test]
fn bench_refuses_batch_sizes_and_step_counts_training_would_not_take() {
    let cases: [(&[&str], &str); 5] = [
        (&["--batch-size", "0"], "--batch-size"),
        (&["--batch-size", "60001"], "--batch-size"),
        (&["--batch-size", "100000"], "--batch-size"),
        (&["--steps", "0"], "--steps"),
        (&["--compare", "--rounds", "0"], "--rounds"),
    ];
    for (args, flag) in cases {
        let all = [&["bench"][..], args].concat();
        let output = digitdash(&std::env::temp_dir(), &all);
        let (out, err) = texts(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} names the flag: {err}");
        assert!(out.is_empty(), "{args:?}: nothing measured: {out}");
        if flag == "--batch-size" {
            assert!(
                err.contains("from 1 to 60000"),
                "{args:?}: the range: {err}"
            );
        } else {
            assert!(err.contains("1 or more"), "{args:?}: {err}");
        }
    }
}

#[test]
fn presets_trains_a_repeated_seed_or_preset_once_and_prints_its_table() {
    let ws = Workspace::new();
    let args = [
        "presets", "--preset", "fast", "--preset", "fast", "--seed", "0", "--seed", "0", "--seed",
        "1", "--steps", "2",
    ];
    let output = ws.command(&args).output().unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("--seed 0 was given more than once"), "{err}");
    assert!(
        err.contains("--preset fast was given more than once"),
        "{err}"
    );
    assert!(err.contains("training 2 runs (fast x seeds 0, 1)"), "{err}");
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("fast "))
        .map(|l| l.split_whitespace().take(2).collect())
        .collect();
    assert_eq!(rows, [["fast", "0"], ["fast", "1"]], "{out}");
    assert!(out.contains("fast: mean "), "{out}");
}

/// Writes `pid` as the run's `writer.pid`, as a writer killed before it let go would leave it.
fn leave_pid_file(run: &Path, pid: u32) {
    std::fs::write(RunDir::new(run).pid_file(), format!("{pid}\n")).unwrap();
}

/// The id of a process that has ended.
fn ended_process() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn eval_does_not_call_a_finished_run_with_a_stale_writer_pid_interrupted() {
    let ws = Workspace::new();
    let output = ws.run(&["--steps", "3", "--run-dir", "run"]);
    assert!(output.status.success(), "{}", texts(&output).1);
    let run = ws.dir.path().join("run");
    leave_pid_file(&run, ended_process());
    let (_, err) = ws.eval(&run.join("checkpoints/step-00000003"));
    assert!(!err.contains("interrupted"), "{err}");

    // A run whose records end without a final record was interrupted, and is called so.
    let dir = tempfile::tempdir().unwrap();
    for (name, end, interrupted) in [
        ("finished", End::Finished, false),
        ("stopped", End::Stopped, false),
        ("interrupted", End::Interrupted, true),
    ] {
        let run = dir.path().join(name);
        write_run(&run, &Spec::new(10, 20, end));
        leave_pid_file(&run, ended_process());
        let weights = run.join("checkpoints/step-00000010/model.safetensors");
        let note = run_state_note(&weights).unwrap_or_default();
        assert_eq!(
            note.contains("was interrupted"),
            interrupted,
            "{name}: {note}"
        );
    }
}

/// Each `<text>` element of an SVG: its y coordinate and its text.
fn svg_texts(svg: &str) -> Vec<(f64, String)> {
    svg.split("<text")
        .skip(1)
        .filter_map(|element| {
            let (attributes, rest) = element.split_once('>')?;
            let y = attributes.split(" y=\"").nth(1)?.split('"').next()?;
            let text = rest.split("</text>").next()?.trim().to_string();
            Some((y.parse().ok()?, text))
        })
        .collect()
}

#[test]
fn plot_of_fifty_runs_keeps_each_legend_inside_its_panel() {
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..50).map(|i| format!("run-{i:02}")).collect();
    for name in &names {
        write_run(&dir.path().join(name), &Spec::new(30, 30, End::Finished));
    }
    let file = dir.path().join("fifty.svg");
    let mut args = vec!["plot", "-o", file.to_str().unwrap()];
    args.extend(names.iter().map(String::as_str));
    let output = digitdash(dir.path(), &args);
    assert!(output.status.success(), "{}", texts(&output).1);
    let texts = svg_texts(&std::fs::read_to_string(&file).unwrap());
    let captions: Vec<f64> = texts
        .iter()
        .filter(|(_, t)| {
            t.starts_with("training loss (")
                || t.starts_with("training accuracy (")
                || t.starts_with("test accuracy (")
                || t.starts_with("validation accuracy (")
        })
        .map(|(y, _)| *y)
        .collect();
    assert_eq!(captions.len(), 3, "{texts:?}");
    let mut panel = None;
    let mut per_panel = [(0usize, 0usize); 3];
    for (y, text) in &texts {
        if let Some(i) = captions.iter().position(|c| c == y) {
            panel = Some(i);
            continue;
        }
        let is_run = names.contains(text);
        let more: Option<usize> = text
            .strip_prefix("+ ")
            .and_then(|t| t.strip_suffix(" more runs"))
            .and_then(|n| n.parse().ok());
        if !is_run && more.is_none() {
            continue;
        }
        let i = panel.expect("a legend after its panel's caption");
        let bottom = captions.get(i + 1).copied().unwrap_or(900.0);
        assert!(
            captions[i] < *y && *y < bottom,
            "{text:?} at y {y} is outside panel {i} ({} to {bottom})",
            captions[i]
        );
        if is_run {
            per_panel[i].0 += 1;
        }
        per_panel[i].1 += more.unwrap_or(0);
    }
    for (i, (shown, more)) in per_panel.iter().enumerate() {
        assert!(*shown > 0, "panel {i} names some runs");
        assert_eq!(shown + more, 50, "panel {i}: every run counted once");
    }
}
