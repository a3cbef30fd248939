//! What a careless or unlucky user met, each reproduced: folders that are not ours, diverged
//! weights asked to be saved, a final model the disk had no room for, reordered records, a
//! run folder deleted under a run, a watched folder deleted, damaged checkpoint metadata, and
//! the wall time of a resumed run.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::process::{start_run, wait};
use common::run_fixtures::{self, End, Spec};
use common::trainer::{config, recv_until};
use common::{texts, Workspace};
use digitdash::config::Config;
use digitdash::frontend::dashboard::app::{App, Overlay, Question};
use digitdash::run::checkpoint;
use digitdash::run::history::RunHistory;
use digitdash::run::metrics::Detail;
use digitdash::run::RunDir;
use digitdash::source::{drive, Replay, ReplayOptions};
use digitdash::train::{self, Command, Event, RunSetup, RunStart, SettingValue, Summary};
use ratatui::crossterm::event::KeyCode;

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
                files.insert(path, Vec::new());
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Trains five steps into `run/` with a checkpoint every five steps; returns that folder.
fn five_checkpointed_steps(ws: &Workspace) -> PathBuf {
    ws.write_config(
        "[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 10\n[run]\ncheckpoint_every = 5\n",
    );
    let output = ws.run(&["--steps", "5", "--run-dir", "run"]);
    assert!(output.status.success(), "{}", texts(&output).1);
    ws.dir.path().join("run")
}

#[test]
fn folders_that_hold_no_run_of_ours_are_never_written_into() {
    let ws = Workspace::new();
    let user = ws.dir.path().join("mine");
    std::fs::create_dir(&user).unwrap();
    std::fs::write(
        user.join("config.toml"),
        "# my own settings, commented\n[data]\n",
    )
    .unwrap();
    std::fs::write(user.join("notes.txt"), "do not touch").unwrap();
    let logs = ws.dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::write(logs.join("events.jsonl"), "my own log line\n").unwrap();
    std::fs::write(logs.join("writer.pid"), "12345\n").unwrap();
    let before = (snapshot(&user), snapshot(&logs));

    for (folder, names) in [(&user, "config.toml, notes.txt"), (&logs, "events.jsonl")] {
        let output = ws.run(&["--steps", "3", "--run-dir", folder.to_str().unwrap()]);
        let (_, err) = texts(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(
            err.contains("holds files that are not a digitdash run"),
            "{err}"
        );
        assert!(err.contains(names), "{err}");
        assert!(err.contains("Choose a new --run-dir"), "{err}");
    }
    let output = ws.resume(&logs, &["--steps", "3"]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("holds no digitdash run"), "{err}");
    assert_eq!(
        (snapshot(&user), snapshot(&logs)),
        before,
        "nothing changed"
    );

    // A folder of runs is refused as a run folder; `runs` still lists what it holds.
    let runs = ws.dir.path().join("runs");
    let output = ws.run(&[
        "--steps",
        "2",
        "--run-dir",
        runs.join("first").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", texts(&output).1);
    let before = snapshot(&runs);
    let output = ws.run(&["--steps", "2", "--run-dir", runs.to_str().unwrap()]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("it is a folder of runs (first)"), "{err}");
    assert_eq!(snapshot(&runs), before);

    // An empty folder is the user's way to name a new run.
    let empty = ws.dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = ws.run(&["--steps", "2", "--run-dir", empty.to_str().unwrap()]);
    assert!(output.status.success(), "{}", texts(&output).1);
    assert!(RunDir::new(&empty).is_run());
}

#[test]
fn no_checkpoint_is_made_of_diverged_weights_whoever_asks() {
    let ws = Workspace::new();
    let run = five_checkpointed_steps(&ws);
    let mut config = config(&ws, 1000);
    config.train.batch_size = 10;
    config.run.checkpoint_every = 1;
    let setup = RunSetup {
        start: RunStart::Resume {
            run: RunDir::new(&run),
            checkpoint: run.join("checkpoints/step-00000005"),
        },
        pause_on_divergence: true,
    };
    let handle = train::spawn(config, setup).unwrap();
    handle.send(Command::Set(SettingValue::LearningRate(1e30)));
    recv_until(&handle.events, |e| {
        matches!(e, Event::Paused { paused: true, .. })
    });
    let before = snapshot(&run.join("checkpoints"));

    // The key (c), an evaluation (t, which may make a best checkpoint) and the end.
    handle.send(Command::SaveCheckpoint);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::RecordError(_)));
    let Some(Event::RecordError(refusal)) = seen.last() else {
        unreachable!()
    };
    assert!(
        refusal.contains("never made of diverged weights"),
        "{refusal}"
    );
    assert!(refusal.contains("the training loss became"), "{refusal}");
    handle.send(Command::EvaluateNow);
    handle.send(Command::StepOnce);
    handle.send(Command::Stop);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::Finished(_)));
    let Some(Event::Finished(summary)) = seen.last() else {
        unreachable!()
    };
    let unsaved = summary.unsaved.clone().unwrap_or_default();
    assert!(unsaved.contains("diverged"), "{summary:?}");
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Checkpoint(_))),
        "{seen:?}"
    );
    handle.join();
    assert_eq!(
        snapshot(&run.join("checkpoints")),
        before,
        "no checkpoint written"
    );
}

#[test]
fn the_final_weights_survive_a_full_disk_until_saved() {
    let ws = Workspace::new();
    let mut config = config(&ws, 30);
    config.train.batch_size = 10;
    config.run.checkpoint_every = 0;
    let run = ws.dir.path().join("run");
    let setup = RunSetup {
        start: RunStart::Fresh(RunDir::new(&run)),
        pause_on_divergence: true,
    };
    let handle = train::spawn(config, setup).unwrap();
    handle.send(Command::Pause);
    recv_until(&handle.events, |e| {
        matches!(e, Event::Paused { paused: true, .. })
    });
    // Where the checkpoints go, a file: every checkpoint write fails, as on a full disk.
    let blocker = run.join("checkpoints");
    std::fs::write(&blocker, "no room").unwrap();
    handle.send(Command::Resume);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::Finished(_)));
    let Some(Event::Finished(summary)) = seen.last() else {
        unreachable!()
    };
    assert_eq!(summary.steps, 30);
    assert!(summary.unsaved.is_some(), "{summary:?}");

    // The room is back: a save after the end writes the final state.
    std::fs::remove_file(&blocker).unwrap();
    handle.send(Command::SaveCheckpoint);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::Checkpoint(_)));
    let Some(Event::Checkpoint(written)) = seen.last() else {
        unreachable!()
    };
    assert_eq!(written.step, 30);
    handle.join();
    let meta = checkpoint::verify(&written.path).unwrap().unwrap();
    assert_eq!(meta.step, 30);
}

#[test]
fn quitting_with_unsaved_final_weights_asks_first_and_c_saves_them() {
    let mut app = App::new(&Config::default());
    app.update(common::script::started());
    app.update(common::script::step(1, 1e-4));
    app.update(Event::Finished(Summary {
        steps: 1,
        unsaved: Some("cannot write checkpoint runs/x/checkpoints/step-00000001: disk full".into()),
        run_dir: Some("runs/x".into()),
        ..Default::default()
    }));
    assert_eq!(app.press(KeyCode::Char('c')), [Command::SaveCheckpoint]);
    assert!(app.press(KeyCode::Char('q')).is_empty());
    assert_eq!(app.overlay(), &Overlay::Confirm(Question::QuitUnsaved));
    assert!(!app.should_quit());
    let text = app.question_text(Question::QuitUnsaved);
    assert!(text.contains("disk full"), "{text}");
    // The run folder of the started event wins over the summary's; either names it.
    assert!(text.contains("checkpoints"), "{text}");
    let screen = common::script::render(&app, 120, 40);
    assert!(screen.contains("disk full"), "{screen}");
    // `c` in the question tries again; the checkpoint's arrival ends the question's reason.
    assert_eq!(app.press(KeyCode::Char('c')), [Command::SaveCheckpoint]);
    app.update(Event::Checkpoint(
        digitdash::run::record::CheckpointWritten {
            step: 1,
            path: "runs/x/checkpoints/step-00000001".into(),
        },
    ));
    assert_eq!(app.unsaved(), None);
    app.press(KeyCode::Char('q'));
    assert!(app.should_quit(), "saved: quits at once");
}

#[test]
fn resume_reads_rows_by_their_header_and_plot_a_byte_order_mark() {
    let ws = Workspace::new();
    let run = five_checkpointed_steps(&ws);
    // Columns reordered, a byte-order mark, CRLF line ends: the same rows.
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let order: Vec<usize> = (0..header.len()).rev().collect();
    let pick = |fields: &[&str]| {
        order
            .iter()
            .map(|&i| fields[i])
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut text = format!("\u{feff}{}\r\n", pick(&header));
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        text.push_str(&format!("{}\r\n", pick(&fields)));
    }
    std::fs::write(run.join("metrics.csv"), text).unwrap();
    let png = ws.dir.path().join("bom.png");
    let output = ws
        .bare_command(&["plot", run.to_str().unwrap(), "-o", png.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", texts(&output).1);

    let output = ws.resume(&run, &["--steps", "8"]);
    let (_, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert!(!err.contains("damaged"), "{err}");
    assert_eq!(common::metrics::steps(&run), (1..=8).collect::<Vec<_>>());
}

#[test]
fn a_run_folder_deleted_under_a_headless_run_fails_it_loudly() {
    let ws = Workspace::new();
    let (mut child, _stdout) = start_run(&ws, "run", &["--steps", "100000"], 1);
    let run = ws.dir.path().join("run");
    std::fs::remove_dir_all(&run).unwrap();
    let status = wait(&mut child);
    let err = common::process::read_all_on_a_thread(child.stderr.take().unwrap())
        .join()
        .unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("was deleted or moved while the run went on"),
        "{err}"
    );
    assert!(!run.exists(), "the folder is not made again");
}

#[test]
fn watch_shows_only_what_the_records_say() {
    let ws = Workspace::new();
    // A run being written, whose folder then goes away.
    let live = ws.dir.path().join("live");
    run_fixtures::write_run(&live, &Spec::new(20, 100, End::Running));
    let history = RunHistory::open(RunDir::new(&live), Detail::Full).unwrap();
    let replay = Replay::spawn(history, ReplayOptions::default()).unwrap();
    let mut app = App::watching(&Config::default(), "watching");
    let remover = {
        let live = live.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(600));
            std::fs::remove_dir_all(&live).unwrap();
        })
    };
    let outcome = drive(replay, &mut common::script::Feed(&mut app), None);
    remover.join().unwrap();
    let message = format!("{outcome:?}");
    assert!(
        message.contains("was deleted or moved while it was watched"),
        "{message}"
    );
    let log: Vec<String> = app.log().last(usize::MAX).map(|e| e.text.clone()).collect();
    assert!(!log.iter().any(|t| t.contains("rolled back")), "{log:?}");
    assert_eq!(app.steps_done(), 20);

    // A finished run opens finished, its clock at its own end, before anything else comes.
    let done = ws.dir.path().join("done");
    run_fixtures::write_run(&done, &Spec::new(30, 30, End::Finished));
    let history = RunHistory::open(RunDir::new(&done), Detail::Full).unwrap();
    let options = ReplayOptions {
        inspect: true,
        data_dir: Some(ws.data_dir()),
    };
    let replay = Replay::spawn(history, options).unwrap();
    let mut app = App::watching(&Config::default(), "watching");
    let mut pump = digitdash::source::Pump::default();
    while pump.end().is_none() {
        pump.pull(&replay, Duration::from_secs(60), &mut |e| app.update(e));
    }
    assert_eq!(app.state().label(), "FINISHED");
    let wall = run_fixtures::row(30).wall_seconds;
    assert_eq!(app.run_time(), Duration::from_secs_f64(wall));
    app.set_elapsed(Duration::from_secs(3600));
    assert_eq!(
        app.run_time(),
        Duration::from_secs_f64(wall),
        "stops with the run"
    );
    digitdash::source::Source::join(replay);
}

#[test]
fn damaged_checkpoint_metadata_is_named_as_the_cause() {
    let ws = Workspace::new();
    let run = five_checkpointed_steps(&ws);
    let meta = run.join("checkpoints/step-00000005/checkpoint.json");
    let original = std::fs::read_to_string(&meta).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&original).unwrap();

    value["step"] = serde_json::json!(u64::MAX);
    std::fs::write(&meta, value.to_string()).unwrap();
    let output = ws
        .command(&[
            "eval",
            "--checkpoint",
            meta.parent().unwrap().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("past the 5 steps its own settings plan"),
        "{err}"
    );

    let mut value: serde_json::Value = serde_json::from_str(&original).unwrap();
    value["config"]["train"]["learning_rate"] = serde_json::json!(-1.0);
    std::fs::write(&meta, value.to_string()).unwrap();
    let output = ws.resume(&run, &["--steps", "8"]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("checkpoint.json"), "{err}");
    assert!(!err.contains("built-in defaults"), "{err}");
}

#[test]
fn a_resumed_run_takes_longer_in_all_than_in_training() {
    let ws = Workspace::new();
    let run = five_checkpointed_steps(&ws);
    let output = ws.resume(&run, &["--steps", "10"]);
    let (_, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("10 steps in "))
        .unwrap_or_else(|| panic!("{err}"));
    let number = |after: &str| -> f64 {
        let rest = &line[line.find(after).unwrap() + after.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    let training = number("10 steps in ");
    let all = number("images/s), ");
    assert!(all >= training, "{line}");
}
