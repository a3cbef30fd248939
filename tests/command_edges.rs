//! Subcommands at the edges of what they accept, through the binary: `bench` outside the
//! batch sizes and step counts training takes, `presets` with a seed or preset given twice,
//! and `eval` on a finished run that left a stale `writer.pid`.

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
