//! A run folder read back as its trainer told it: `digitdash watch RUN --json` prints the
//! records a headless run printed, a watched failed run says so, and run folders written
//! before the records had one shared type (`tests/fixtures/format-1`) still read in `runs`,
//! `watch` and `plot`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use digitdash::config::Config;
use digitdash::frontend::dashboard::app::App;
use digitdash::run::history::RunHistory;
use digitdash::run::metrics::Detail;
use digitdash::run::record::Record;
use digitdash::run::RunDir;
use digitdash::source::{drive, Replay, ReplayOptions};

use common::{texts, Workspace};

/// The JSON lines of `text` as records (every line must be one).
fn records(text: &str) -> Vec<Record> {
    text.lines()
        .map(|line| {
            Record::from_json_line(line.as_bytes())
                .unwrap_or_else(|| panic!("not a record: {line}"))
        })
        .collect()
}

/// `digitdash watch RUN --json` in the workspace; (status, stdout, stderr).
fn watch_json(ws: &Workspace, run: &Path) -> (i32, String, String) {
    let output = ws
        .bare_command(&["watch", "--json", run.to_str().unwrap()])
        .output()
        .expect("run digitdash watch");
    let (out, err) = texts(&output);
    (output.status.code().unwrap_or(-1), out, err)
}

#[test]
fn watch_json_prints_what_the_headless_run_printed_with_the_same_epochs() {
    let ws = Workspace::new();
    let run = ws.dir.path().join("run");
    // 200 training images at batch 30: the epoch wraps at step 6 and the last partial batch
    // of each epoch is dropped, so only the trainer's own count gives the right epoch.
    let output = ws.run(&[
        "--json",
        "--steps",
        "14",
        "--batch-size",
        "30",
        "--eval-every",
        "5",
        "--log-every",
        "1",
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    let (live, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    let live = records(&live);
    // The watcher prints steps at the run's own log interval (its config's), so compare at
    // the steps both print.
    let (status, watched, err) = watch_json(&ws, &run);
    assert_eq!(status, 0, "{err}");
    let watched = records(&watched);
    let steps = |records: &[Record]| -> Vec<(u64, f64, f32)> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::Step(s) => Some((s.step, s.epoch, s.loss)),
                _ => None,
            })
            .collect()
    };
    let (live_steps, watched_steps) = (steps(&live), steps(&watched));
    assert!(!watched_steps.is_empty(), "{watched:?}");
    for (step, epoch, loss) in &watched_steps {
        let (_, live_epoch, live_loss) = live_steps
            .iter()
            .find(|s| s.0 == *step)
            .unwrap_or_else(|| panic!("step {step} was not printed live"));
        assert!((epoch - live_epoch).abs() < 1e-6, "{epoch} vs {live_epoch}");
        assert_eq!(loss, live_loss);
    }
    let epoch_at = |step| watched_steps.iter().find(|s| s.0 == step).map(|s| s.1);
    if let (Some(e6), Some(e7)) = (epoch_at(6), epoch_at(7)) {
        assert!(
            e6 < 1.0 && e7 > 1.0,
            "the epoch wraps after step 6: {e6}, {e7}"
        );
    }
    // Everything but the steps, in the same order and equal, the start included.
    let others = |records: &[Record]| -> Vec<Record> {
        records
            .iter()
            .filter(|r| !matches!(r, Record::Step(_)))
            .cloned()
            .collect()
    };
    let mut live_others = others(&live);
    let mut watched_others = others(&watched);
    // Timings differ in their last digits once written to a file and read back.
    for r in live_others.iter_mut().chain(watched_others.iter_mut()) {
        if let Record::Started(s) = r {
            s.config.data.dir = PathBuf::new();
        }
    }
    assert_eq!(watched_others, live_others);
    let Some(Record::Started(started)) = watched_others.first() else {
        panic!("{watched_others:?}")
    };
    assert_eq!((started.train_images, started.test_images), (200, 50));
}

#[test]
fn a_watched_failed_run_says_it_failed_and_why_without_rollback_advice() {
    let ws = Workspace::new();
    let run = ws.dir.path().join("run");
    let output = ws.run(&[
        "--lr",
        "1e9",
        "--steps",
        "20",
        "--run-dir",
        run.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let (status, out, err) = watch_json(&ws, &run);
    assert_eq!(status, 1, "{out}{err}");
    assert!(err.contains("error: the training loss became"), "{err}");
    let last = records(&out).pop();
    assert!(
        matches!(&last, Some(Record::Error(e)) if e.message.contains("lower --lr")),
        "{last:?}"
    );

    // The dashboard over the same records: failed, the reason shown, no keys offered.
    let history = RunHistory::open(RunDir::new(&run), Detail::Full).unwrap();
    let replay = Replay::spawn(history, ReplayOptions::default()).unwrap();
    let mut app = App::watching(&Config::default(), "watching");
    let outcome = drive(replay, &mut common::script::Feed(&mut app), None);
    assert_eq!(outcome.exit_status(), 1);
    let screen = common::script::render(&app, 120, 40);
    assert!(screen.contains("FAILED"), "{screen}");
    assert!(screen.contains("the training loss became"), "{screen}");
    for advice in ["roll back", "(r)", "lower the learning rate (-)"] {
        assert!(!screen.contains(advice), "{advice}: {screen}");
    }
}

/// A copy of a fixture run folder, aged so nothing looks like it is being written.
fn fixture_copy(ws: &Workspace, name: &str) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/format-1")
        .join(name);
    let to = ws.dir.path().join("old").join(name);
    std::fs::create_dir_all(&to).unwrap();
    for file in ["config.toml", "metrics.csv", "events.jsonl"] {
        std::fs::copy(from.join(file), to.join(file)).unwrap();
    }
    common::run_fixtures::age(&RunDir::new(&to), Duration::from_secs(600));
    to
}

#[test]
fn runs_written_before_the_shared_record_type_still_read() {
    let ws = Workspace::new();
    let runs: Vec<PathBuf> = ["finished", "stopped", "failed"]
        .iter()
        .map(|name| fixture_copy(&ws, name))
        .collect();
    let listing = ws
        .bare_command(&[
            "runs",
            "--json",
            ws.dir.path().join("old").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let (out, err) = texts(&listing);
    assert!(listing.status.success(), "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let status = |name: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| (r["status"].clone(), r["steps_done"].clone()))
            .unwrap()
    };
    assert_eq!(status("finished"), ("finished".into(), 40.into()));
    assert_eq!(status("stopped"), ("stopped".into(), 30.into()));
    assert_eq!(status("failed"), ("failed".into(), 1.into()));

    // watch: every record of the old files reads as a record, the resume included.
    let (code, out, err) = watch_json(&ws, &runs[0]);
    assert_eq!(code, 0, "{err}");
    let watched = records(&out);
    assert!(watched
        .iter()
        .any(|r| matches!(r, Record::Resumed(from) if from.step == 30)));
    assert!(matches!(watched.last(), Some(Record::Finished(s)) if s.steps == 40));
    let (code, _, err) = watch_json(&ws, &runs[2]);
    assert_eq!(code, 1);
    assert!(err.contains("the training loss became"), "{err}");

    // plot: all three on one chart.
    let out = ws.dir.path().join("old.png");
    let mut args = vec!["plot".to_string()];
    args.extend(runs.iter().map(|r| r.to_string_lossy().into_owned()));
    args.extend(["-o".into(), out.to_string_lossy().into_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let plotted = ws.bare_command(&args).output().unwrap();
    assert!(plotted.status.success(), "{}", texts(&plotted).1);
    assert!(std::fs::metadata(&out).unwrap().len() > 10_000);
}
