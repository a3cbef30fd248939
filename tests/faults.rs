//! Runs that survive: signals, resume, diverged losses, unwritable folders, bad checkpoints.

mod common;

use std::path::{Path, PathBuf};

use common::metrics::steps as metric_steps;
use common::process::{kill, start_run};
use common::tensors::max_change;
use common::trainer::{next_weights, recv_until};
use common::{texts, Workspace};
use digitdash::cli::{resolve_config, RunArgs};
use digitdash::run::RunDir;
use digitdash::train::{self, Command, Event, RunSetup, RunStart, SettingValue};

/// Trains five steps into `run/` (a checkpoint every five steps) and returns that folder.
fn five_checkpointed_steps(ws: &Workspace) -> PathBuf {
    config_with_checkpoints(ws);
    let output = ws.run(&["--steps", "5", "--run-dir", "run"]);
    assert!(output.status.success(), "{}", texts(&output).1);
    ws.dir.path().join("run")
}

fn config_with_checkpoints(ws: &Workspace) {
    ws.write_config("[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 10\n[run]\ncheckpoint_every = 5\n");
}

#[test]
fn signals_checkpoint_and_resume_continues_steps_and_records() {
    for (name, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let ws = Workspace::new();
        config_with_checkpoints(&ws);
        let run = ws.dir.path().join("run");
        let (child, _) = start_run(&ws, "run", &["--steps", "100000"], 7);
        kill(name, child.id());
        let output = child.wait_with_output().unwrap();
        let (_, err) = texts(&output);
        assert_eq!(output.status.code(), Some(code), "SIG{name}: {err}");
        let stopped_at = *metric_steps(&run).last().unwrap();
        assert!(stopped_at >= 7, "{stopped_at}");
        let latest = RunDir::new(&run).latest_checkpoint().unwrap();
        assert!(
            latest.ends_with(format!("step-{stopped_at:08}")),
            "{latest:?}"
        );
        let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
        assert!(events.contains("\"event\":\"stop\""), "{events}");

        let target = stopped_at + 6;
        let output = ws.resume(&run, &["--steps", &target.to_string()]);
        let (_, err) = texts(&output);
        assert!(output.status.success(), "{err}");
        let steps = metric_steps(&run);
        assert_eq!(steps, (1..=target).collect::<Vec<_>>(), "SIG{name}");
        let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
        assert!(events.contains("\"event\":\"resumed\""), "{events}");
        assert!(run
            .join("checkpoints")
            .join(format!("step-{target:08}"))
            .is_dir());
    }
}

#[test]
fn a_resumed_run_goes_on_with_the_batch_the_unbroken_run_took() {
    // 200 images in batches of 30: step 8 ends mid-epoch 1, so a resume that lost its place
    // in the data order would train step 9 on another batch. Without dropout, the same
    // weights on the same batch give the same loss.
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 30\ndropout = 0.0\n\
         [run]\ncheckpoint_every = 8\n",
    );
    for (args, what) in [
        (
            &["--steps", "9", "--run-dir", "unbroken"][..],
            "the unbroken run",
        ),
        (
            &["--steps", "8", "--run-dir", "broken"][..],
            "the first part",
        ),
    ] {
        let output = ws.run(args);
        assert!(output.status.success(), "{what}: {}", texts(&output).1);
    }
    let broken = ws.dir.path().join("broken");
    let output = ws.resume(&broken, &["--steps", "9"]);
    assert!(output.status.success(), "{}", texts(&output).1);
    let unbroken = common::metrics::read(&ws.dir.path().join("unbroken"));
    let resumed = common::metrics::read(&broken);
    assert_eq!(metric_steps(&broken), (1..=9).collect::<Vec<_>>());
    assert_eq!(unbroken.len(), 9);
    assert_eq!(
        (resumed[8].loss, resumed[8].accuracy),
        (unbroken[8].loss, unbroken[8].accuracy),
        "step 9 after the resume"
    );
}

#[test]
fn a_diverged_loss_stops_headless_and_keeps_the_last_good_checkpoint() {
    let ws = Workspace::new();
    let run = five_checkpointed_steps(&ws);
    let good = run.join("checkpoints/step-00000005");
    let before = std::fs::read(good.join("model.safetensors")).unwrap();

    let output = ws.resume(&run, &["--steps", "50", "--lr", "1e30"]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("the training loss became"), "{err}");
    assert!(err.contains("lower --lr"), "{err}");
    assert_eq!(
        std::fs::read(good.join("model.safetensors")).unwrap(),
        before
    );
    assert_eq!(RunDir::new(&run).latest_checkpoint(), Some(good));
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(events.contains("\"event\":\"error\""), "{events}");
}

#[test]
fn in_the_dashboard_a_diverged_loss_pauses_and_rollback_recovers() {
    let ws = Workspace::new();
    let run = five_checkpointed_steps(&ws);

    let args = RunArgs {
        config: Some(ws.config()),
        data_dir: Some(ws.data_dir()),
        steps: Some(1000),
        lr: Some(1e30),
        ..Default::default()
    };
    let mut config = resolve_config(&args).unwrap();
    config.run.checkpoint_every = 0;
    let setup = RunSetup {
        start: RunStart::Resume {
            run: RunDir::new(&run),
            checkpoint: RunDir::new(&run).latest_checkpoint().unwrap(),
        },
        pause_on_divergence: true,
    };
    let handle = train::spawn(config, setup).unwrap();
    let seen = recv_until(&handle.events, |e| {
        matches!(e, Event::Paused { paused: true, .. })
    });
    assert!(seen
        .iter()
        .any(|e| matches!(e, Event::Diverged(m) if m.contains("lower --lr"))));

    handle.send(Command::Set(SettingValue::LearningRate(1e-3)));
    handle.send(Command::Rollback);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::Weights(_)));
    assert!(
        seen.iter().any(|e| matches!(e, Event::RolledBack(5))),
        "{seen:?}"
    );
    let Some(Event::Weights(restored)) = seen.last() else {
        unreachable!()
    };
    // The restore starts Adam afresh, so the next step moves the weights by its rate: the
    // lowered one.
    handle.send(Command::StepOnce);
    let mut seen = recv_until(&handle.events, |e| matches!(e, Event::Step(_)));
    handle.send(Command::ShareWeights);
    let after = next_weights(&handle.events);
    let change = max_change(&restored.model, &after.model);
    assert!(
        (change - 1e-3).abs() < 1e-5,
        "the first step after the rollback moved weights by up to {change:e}, not 1e-3"
    );
    handle.send(Command::Resume);
    seen.extend(recv_until(
        &handle.events,
        |e| matches!(e, Event::Step(s) if s.step >= 8),
    ));
    let steps: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Step(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(steps[0].step, 6, "continues from the checkpoint's step");
    assert!(steps
        .iter()
        .all(|s| s.loss.is_finite() && s.learning_rate == 1e-3));
    handle.send(Command::Stop);
    recv_until(&handle.events, |e| matches!(e, Event::Finished(_)));
    handle.join();
}

#[test]
fn an_unwritable_run_folder_is_a_clear_error() {
    let ws = Workspace::new();
    std::fs::write(ws.dir.path().join("blocker"), "a file, not a folder").unwrap();
    let output = ws.run(&["--steps", "3", "--run-dir", "blocker/run"]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("blocker/run") && err.contains("--run-dir"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unusable_run_and_resume_folders_say_what_to_pass_instead() {
    let ws = Workspace::new();
    std::fs::write(ws.dir.path().join("blocker"), "a file, not a folder").unwrap();
    let run = five_checkpointed_steps(&ws);
    let checkpoint = run.join("checkpoints/step-00000005");
    let cases: [(&[&str], &str); 4] = [
        (&["--run-dir", "blocker"], "it is a file, not a folder"),
        (
            &["--run-dir", run.to_str().unwrap()],
            "it already holds a run. Pass --resume",
        ),
        (&["--resume", "nothere"], "the folder does not exist"),
        (
            &["--resume", checkpoint.to_str().unwrap()],
            "that is a checkpoint folder",
        ),
    ];
    for (args, problem) in cases {
        let mut all = vec!["--headless", "--steps", "3"];
        all.extend_from_slice(args);
        // --resume takes the run's recorded settings, so no --config goes with it.
        let output = if args[0] == "--resume" {
            ws.bare_command(&all).output().unwrap()
        } else {
            ws.command(&all).output().unwrap()
        };
        let (_, err) = texts(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(problem), "{args:?}: {err}");
    }
}

#[test]
fn checkpoint_write_failures_warn_and_training_goes_on() {
    let ws = Workspace::new();
    ws.write_config("[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 10\n[run]\ncheckpoint_every = 20\n");
    // Once the run has started, block its checkpoint folder: a file where the folder should
    // be, as a full disk would refuse it (the first checkpoint comes 19 steps later).
    let (child, mut stdout) = start_run(&ws, "run", &["--steps", "40"], 1);
    std::fs::write(ws.dir.path().join("run/checkpoints"), "blocked").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    let (_, err) = texts(&output);
    assert!(err.contains("warning: cannot write checkpoint"), "{err}");
    assert!(rest.contains("step 40, training accuracy"), "{rest}");
    assert_ne!(
        output.status.code(),
        Some(0),
        "the final state was not saved: {err}"
    );
    assert!(
        err.contains("not saved") || err.contains("could not be written"),
        "{err}"
    );
}

/// Writes a safetensors file of zeros: F32 tensors, and F64 for the scalar settings
/// (names in `checkpoint::SCALARS`).
fn write_safetensors(path: &Path, tensors: &[(&str, Vec<usize>)]) {
    let dtype = |name: &str| {
        if digitdash::run::checkpoint::SCALARS.contains(&name) {
            (safetensors::Dtype::F64, 8)
        } else {
            (safetensors::Dtype::F32, 4)
        }
    };
    let data: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, s)| {
            (
                n.to_string(),
                vec![0u8; dtype(n).1 * s.iter().product::<usize>()],
                s.clone(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = data
        .iter()
        .map(|(n, bytes, shape)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(dtype(n).0, shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    safetensors::tensor::serialize_to_file(views, &None, path).unwrap();
}

/// Tensor names and shapes of a hand-made weights file.
type Shapes<'a> = Vec<(&'a str, Vec<usize>)>;

fn eval_error(ws: &Workspace, checkpoint: &Path) -> String {
    let output = ws
        .command(&["eval", "--checkpoint", checkpoint.to_str().unwrap()])
        .output()
        .unwrap();
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_checkpoints_are_refused_clearly() {
    let ws = Workspace::new();
    let good = five_checkpointed_steps(&ws).join("checkpoints/step-00000005");

    let output = ws
        .command(&["eval", "--checkpoint", good.to_str().unwrap()])
        .output()
        .unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(
        out.lines().count(),
        12,
        "accuracy, header and ten rows:\n{out}"
    );
    // The run's own final evaluation of the same weights, as it recorded it.
    let events = std::fs::read_to_string(good.join("../../events.jsonl")).unwrap();
    let finished: serde_json::Value = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .rfind(|r| r["event"] == "finished")
        .expect("a finished record");
    let (accuracy, loss) = (
        finished["test_accuracy"].as_f64().unwrap(),
        finished["test_loss"].as_f64().unwrap(),
    );
    assert_eq!(finished["steps"], 5);
    let right = (accuracy * 50.0).round();
    assert_eq!(
        out.lines().next().unwrap(),
        format!("test accuracy {accuracy:.4} ({right} of 50), test loss {loss:.4}"),
        "eval of the final checkpoint against the run's final evaluation"
    );

    let mut shapes: Vec<(&str, Vec<usize>)> = digitdash::run::checkpoint::TENSORS
        .iter()
        .map(|(n, s)| (*n, s.to_vec()))
        .collect();
    shapes.push(("4.p", Vec::new()));
    // (file name, tensors in it, what the error says; empty when it must load)
    let cases: [(&str, Shapes, &str); 5] = [
        ("all", shapes.clone(), ""),
        (
            "wider",
            shapes
                .iter()
                .map(|(n, s)| {
                    (
                        *n,
                        if *n == "3.weight" {
                            vec![512, 3136]
                        } else {
                            s.clone()
                        },
                    )
                })
                .collect(),
            "another model shape",
        ),
        (
            "no-p",
            shapes
                .iter()
                .filter(|(n, _)| *n != "4.p")
                .cloned()
                .collect(),
            "lacks the setting 4.p",
        ),
        (
            "extra",
            shapes
                .iter()
                .cloned()
                .chain([("6.weight", vec![2])])
                .collect(),
            "it is from another model",
        ),
        (
            "format-1",
            shapes
                .iter()
                .filter(|(n, _)| *n != "4.p")
                .map(|(n, s)| {
                    let before_dropout = match *n {
                        "5.weight" => "4.weight",
                        "5.bias" => "4.bias",
                        other => other,
                    };
                    (before_dropout, s.clone())
                })
                .collect(),
            "checkpoint format 1",
        ),
    ];
    for (name, tensors, problem) in cases {
        let file = ws.dir.path().join(format!("{name}.safetensors"));
        write_safetensors(&file, &tensors);
        if problem.is_empty() {
            // The complete set of names, shapes and types loads (zero weights, any accuracy).
            let output = ws
                .command(&["eval", "--checkpoint", file.to_str().unwrap()])
                .output()
                .unwrap();
            assert!(output.status.success(), "{name}: {}", texts(&output).1);
        } else {
            let err = eval_error(&ws, &file);
            assert!(err.contains(problem), "{name}: {err}");
        }
    }
    // A scalar stored as F32 instead of F64.
    let f32_p = ws.dir.path().join("f32-p.safetensors");
    let bytes = std::fs::read(ws.dir.path().join("all.safetensors")).unwrap();
    let parsed = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let zeros = [0u8; 4];
    let mut views: Vec<(String, safetensors::tensor::TensorView)> = parsed
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "4.p")
        .collect();
    views.push((
        "4.p".into(),
        safetensors::tensor::TensorView::new(safetensors::Dtype::F32, Vec::new(), &zeros).unwrap(),
    ));
    safetensors::tensor::serialize_to_file(views, &None, &f32_p).unwrap();
    assert!(eval_error(&ws, &f32_p).contains("stores it as one F64"));

    let truncated = ws.dir.path().join("truncated.safetensors");
    let bytes = std::fs::read(good.join("model.safetensors")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    assert!(eval_error(&ws, &truncated).contains("truncated"));

    let meta = std::fs::read_to_string(good.join("checkpoint.json")).unwrap();
    let current = format!("\"format\": {}", digitdash::run::checkpoint::FORMAT_VERSION);
    assert!(meta.contains(&current), "{meta}");
    for (name, format, problem) in [
        ("newer", 99, "newer digitdash"),
        ("older", 1, "earlier digitdash"),
    ] {
        let folder = ws.dir.path().join(name);
        std::fs::create_dir(&folder).unwrap();
        std::fs::copy(
            good.join("model.safetensors"),
            folder.join("model.safetensors"),
        )
        .unwrap();
        std::fs::write(
            folder.join("checkpoint.json"),
            meta.replace(&current, &format!("\"format\": {format}")),
        )
        .unwrap();
        assert!(eval_error(&ws, &folder).contains(problem), "{name}");
    }
}

#[test]
fn predict_classifies_png_digits() {
    let ws = Workspace::new();
    ws.write_config("[data]\ndownload = false\n[train]\neval_every = 0\nlearning_rate = 1e-3\ninit = \"fan_in\"\n");
    assert!(ws
        .run(&["--steps", "60", "--batch-size", "20", "--run-dir", "run"])
        .status
        .success());
    let mnist = common::tiny_mnist(0, 10);
    let mut args = vec![
        "predict".to_string(),
        "--checkpoint".into(),
        ws.dir
            .path()
            .join("run/checkpoints/step-00000060")
            .display()
            .to_string(),
    ];
    for i in 0..10 {
        let pixels: Vec<f32> = mnist
            .test
            .image(i)
            .iter()
            .map(|&p| 1.0 - p as f32 / 255.0)
            .collect();
        let path = ws.dir.path().join(format!("digit{i}.png"));
        digitdash::data::png::write_png(&path, &pixels, 28).unwrap();
        args.push(path.display().to_string());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = ws.command(&refs).output().unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let right = out
        .lines()
        .enumerate()
        .filter(|(i, line)| line.contains(&format!("digit{i}.png: {} (", mnist.test.label(*i))))
        .count();
    assert!(right >= 9, "{right} of 10 right:\n{out}");
}

#[test]
fn a_live_dropout_change_is_confirmed_and_recorded_with_the_run() {
    let ws = Workspace::new();
    let args = RunArgs {
        config: Some(ws.config()),
        data_dir: Some(ws.data_dir()),
        steps: Some(1000),
        ..Default::default()
    };
    let config = resolve_config(&args).unwrap();
    assert_eq!(config.train.dropout, 0.5);
    let run = ws.dir.path().join("run");
    let setup = RunSetup {
        start: RunStart::Fresh(RunDir::new(&run)),
        pause_on_divergence: false,
    };
    let handle = train::spawn(config, setup).unwrap();
    handle.send(Command::Set(SettingValue::Dropout(0.2)));
    handle.send(Command::Set(SettingValue::Dropout(1.0))); // out of range: ignored
    let seen = recv_until(&handle.events, |e| matches!(e, Event::SettingChanged(_)));
    let Some(Event::SettingChanged(change)) = seen.last() else {
        unreachable!()
    };
    assert_eq!(
        (change.old, change.new),
        (SettingValue::Dropout(0.5), SettingValue::Dropout(0.2))
    );
    handle.send(Command::Stop);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::Finished(_)));
    handle.join();
    assert!(
        !seen.iter().any(|e| matches!(e, Event::SettingChanged(_))),
        "the out-of-range value changed nothing: {seen:?}"
    );
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(
        events.contains(r#""setting":"dropout","old":0.5,"new":0.2"#),
        "{events}"
    );
    // The checkpoint written at the stop records the live value.
    let latest = RunDir::new(&run).latest_checkpoint().unwrap();
    let meta = std::fs::read_to_string(latest.join("checkpoint.json")).unwrap();
    assert!(meta.contains(r#""dropout": 0.2"#), "{meta}");
}
