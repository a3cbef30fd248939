//! The binary as a user meets it: flags, bad configs, bad data, exit codes, Ctrl-C.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{texts, Workspace};

#[test]
fn help_documents_every_flag() {
    let ws = Workspace::new();
    let (out, _) = texts(&ws.command(&["--help"]).output().unwrap());
    for flag in [
        "--config",
        "--headless",
        "--json",
        "--data-dir",
        "--steps",
        "--batch-size",
        "--lr",
        "--seed",
        "--eval-every",
        "--log-every",
        "--fail-under",
        "DIGITDASH_DATA_DIR",
        "bench",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}:\n{out}");
    }
}

#[test]
fn a_short_run_prints_the_tutorials_lines_and_succeeds() {
    let ws = Workspace::new();
    let output = ws.run(&["--steps", "20", "--log-every", "10", "--batch-size", "10"]);
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("step 10, training accuracy "), "{out}");
    assert!(lines[0].contains(", loss "), "{out}");
    assert!(lines[1].starts_with("step 20, training accuracy "), "{out}");
    let last = lines.last().unwrap();
    let accuracy: f64 = last
        .strip_prefix("test accuracy ")
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..=1.0).contains(&accuracy), "{out}");
}

#[test]
fn json_mode_prints_one_object_per_line() {
    let ws = Workspace::new();
    let output = ws.run(&[
        "--steps",
        "6",
        "--log-every",
        "3",
        "--json",
        "--eval-every",
        "3",
    ]);
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let events: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .filter(|kind| *kind != "checkpoint")
        .collect();
    assert_eq!(
        kinds,
        [
            "started",
            "step",
            "evaluation",
            "step",
            "evaluation",
            "finished"
        ],
        "{out}"
    );
    let last_step = events.iter().rfind(|e| e["event"] == "step").unwrap();
    assert_eq!(last_step["step"], 6);
    assert_eq!(events[0]["config"]["train"]["steps"], 6);
    assert!(events.last().unwrap()["test_accuracy"].as_f64().is_some());
    assert!(events.iter().any(|e| e["event"] == "checkpoint"));
}

#[test]
fn fail_under_exits_non_zero_when_accuracy_is_short() {
    let ws = Workspace::new();
    let output = ws.run(&["--steps", "2", "--fail-under", "1.01"]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(err.contains("below --fail-under 1.01"), "{err}");
}

/// Runs with a config text and returns (exit code, stderr).
fn run_with_config(text: &str, args: &[&str]) -> (Option<i32>, String) {
    let ws = Workspace::new();
    ws.write_config(text);
    let output = ws.run(args);
    (output.status.code(), texts(&output).1)
}

#[test]
fn bad_config_values_give_one_clear_error_each() {
    let cases: [(&str, &[&str], &[&str]); 7] = [
        (
            "[train]\nstepz = 3\n",
            &[],
            &["config.toml", "line 2", "stepz"],
        ),
        (
            "[train]\nsteps = \"many\"\n",
            &[],
            &["config.toml", "line 2", "steps"],
        ),
        (
            "[train]\nlearning_rate = 0\n",
            &[],
            &["train.learning_rate", "above 0"],
        ),
        ("", &["--lr", "-0.1"], &["--lr", "train.learning_rate"]),
        (
            "[train]\nbatch_size = 0\n",
            &[],
            &["train.batch_size", "config.toml"],
        ),
        ("", &["--steps", "0"], &["--steps", "train.steps"]),
        ("[train\n", &[], &["config.toml", "line 1"]),
    ];
    for (text, args, needles) in cases {
        let (code, err) = run_with_config(text, args);
        assert_eq!(code, Some(2), "{text:?} {args:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        for needle in needles {
            assert!(
                err.contains(needle),
                "{text:?} {args:?}: {needle:?} not in {err}"
            );
        }
    }
}

#[test]
fn missing_truncated_corrupt_and_mismatched_data_fail_clearly() {
    type Damage = fn(&std::path::Path);
    let cases: [(Damage, &[&str]); 4] = [
        (
            |d| std::fs::remove_file(d.join("t10k-labels-idx1-ubyte.gz")).unwrap(),
            &[
                "t10k-labels-idx1-ubyte.gz",
                "--data-dir",
                "DIGITDASH_DATA_DIR",
            ],
        ),
        (
            |d| {
                let p = d.join("train-images-idx3-ubyte.gz");
                let bytes = std::fs::read(&p).unwrap();
                std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
            },
            &["train-images-idx3-ubyte.gz"],
        ),
        (
            |d| std::fs::write(d.join("t10k-images-idx3-ubyte.gz"), b"\x1f\x8bnot gzip").unwrap(),
            &["t10k-images-idx3-ubyte.gz"],
        ),
        (
            |d| {
                let other = common::tiny_mnist(7, 7);
                let tmp = d.join("other");
                std::fs::create_dir(&tmp).unwrap();
                other.save(&tmp, true).unwrap();
                std::fs::rename(
                    tmp.join("train-labels-idx1-ubyte.gz"),
                    d.join("train-labels-idx1-ubyte.gz"),
                )
                .unwrap();
            },
            &["train-labels-idx1-ubyte.gz", "200", "7"],
        ),
    ];
    for (damage, needles) in cases {
        let ws = Workspace::new();
        damage(&ws.data_dir());
        let output = ws.run(&["--steps", "1"]);
        let (_, err) = texts(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        for needle in needles {
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
    }
}

#[test]
fn ctrl_c_stops_after_the_step_reports_and_exits_130() {
    let ws = Workspace::new();
    let mut child = ws
        .command(&["--headless", "--steps", "1000000", "--log-every", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("step 1, "), "{first}");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(130), "{err}");
    assert!(
        rest.lines().last().unwrap().starts_with("test accuracy "),
        "{rest}"
    );
    assert!(err.contains("stopped early"), "{err}");
}
