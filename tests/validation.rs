//! Choices are made on the validation split: the best checkpoint is the one with the best
//! validation accuracy even where the test set disagrees, early stopping counts validation
//! evaluations, and the tutorial's run trains on 55,000 images and says "validation" where
//! its periodic lines evaluate.

mod common;

use std::path::Path;

use common::{texts, tiny_mnist, Workspace};
use digitdash::data::{Split, IMAGE_PIXELS};
use digitdash::model::score::evaluate;
use digitdash::run::checkpoint;
use digitdash::run::record::{EvalSplit, Record};
use digitdash::run::{CheckpointKind, RunDir};

/// The records of the run in `run`.
fn records(run: &Path) -> Vec<Record> {
    std::fs::read_to_string(run.join("events.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| Record::from_json_line(l.as_bytes()))
        .collect()
}

/// The evaluations of `split` among `records`, as (step, accuracy).
fn evaluations(records: &[Record], split: EvalSplit) -> Vec<(u64, f64)> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Evaluation(e) if e.split == split && e.checkpoint.is_none() => {
                Some((e.step, e.accuracy))
            }
            _ => None,
        })
        .collect()
}

/// A workspace whose test labels are each moved on by one: the better a network learns the
/// training images, the worse it does on this test set.
fn disagreeing_workspace() -> Workspace {
    let ws = Workspace::new();
    let mut data = tiny_mnist(200, 50);
    let n = data.test.len();
    let pixels: Vec<u8> = (0..n).flat_map(|i| data.test.image(i).to_vec()).collect();
    let labels = (0..n).map(|i| (data.test.label(i) + 1) % 10).collect();
    data.test = Split::new(pixels, labels).unwrap();
    assert_eq!(data.test.len() * IMAGE_PIXELS, n * IMAGE_PIXELS);
    data.save(&ws.data_dir(), true).unwrap();
    ws
}

#[test]
fn the_best_checkpoint_is_the_best_on_validation_not_on_test() {
    let ws = disagreeing_workspace();
    ws.write_config(
        "[data]\ndownload = false\nvalidation = 40\n[train]\neval_every = 1\nbatch_size = 10\n\
         learning_rate = 0.001\n[run]\ncheckpoint_every = 1\nkeep_checkpoints = 100\n",
    );
    let output = ws.run(&["--steps", "12", "--run-dir", "run"]);
    assert!(output.status.success(), "{}", texts(&output).1);
    let run = RunDir::new(ws.dir.path().join("run"));
    let records = records(run.path());
    let validation = evaluations(&records, EvalSplit::Validation);
    assert_eq!(validation.len(), 12);
    let best_validation = validation
        .iter()
        .fold((0, f64::MIN), |b, &(s, a)| if a > b.1 { (s, a) } else { b });

    // What each periodic checkpoint scores on the test set, computed here.
    let data = digitdash::data::load(&ws.data_dir()).unwrap();
    let device = dfdx::prelude::Cpu::default();
    let mut best_test = (0, f64::MIN);
    for folder in run.checkpoints(CheckpointKind::Periodic) {
        let (model, meta) = checkpoint::load(&folder, &device).unwrap();
        let accuracy = evaluate(&model, &device, &data.test, 50).accuracy;
        if accuracy > best_test.1 {
            best_test = (meta.unwrap().step, accuracy);
        }
    }
    assert_ne!(
        best_test.0, best_validation.0,
        "the two sets must disagree for this test to tell them apart"
    );
    let best = run.checkpoints(CheckpointKind::Best);
    assert_eq!(best.len(), 1);
    let meta = checkpoint::verify(&best[0]).unwrap().unwrap();
    assert_eq!(
        meta.step, best_validation.0,
        "best-step-N is the validation's best"
    );
    let Some(Record::Finished(summary)) = records.last() else {
        panic!("{records:?}")
    };
    let chosen = summary.best.expect("a best checkpoint");
    assert_eq!((chosen.step, chosen.validation_accuracy), best_validation);
}

#[test]
fn early_stopping_stops_after_exactly_n_evaluations_without_a_better_one() {
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\nvalidation = 40\n[train]\neval_every = 1\nbatch_size = 10\n\
         learning_rate = 0.001\nearly_stop = 3\n",
    );
    let output = ws.run(&["--steps", "500", "--run-dir", "runs/run"]);
    let (_, err) = texts(&output);
    assert!(output.status.success(), "a normal finish: {err}");
    assert!(
        err.contains("stopped early: no better validation accuracy in 3 evaluations"),
        "{err}"
    );
    let runs = ws.dir.path().join("runs");
    let records = records(&runs.join("run"));
    let validation = evaluations(&records, EvalSplit::Validation);
    let best = validation.iter().map(|e| e.1).fold(f64::MIN, f64::max);
    let first_best = validation.iter().position(|e| e.1 == best).unwrap();
    assert_eq!(
        validation.len() - 1 - first_best,
        3,
        "three evaluations after the best, then the stop: {validation:?}"
    );
    let Some(Record::Finished(summary)) = records.last() else {
        panic!("{records:?}")
    };
    assert_eq!(summary.early_stop, Some(3));
    assert!(summary.steps < 500);
    let listing = ws
        .bare_command(&["runs", "--json", runs.to_str().unwrap()])
        .output();
    let listing: serde_json::Value =
        serde_json::from_slice(&listing.unwrap().stdout).expect("runs --json");
    let run = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "run")
        .unwrap();
    assert_eq!(
        run["status"], "finished",
        "an early stop is a normal finish"
    );
    assert_eq!(run["validation_images"], 40);
    assert_eq!(run["test_looks"], 2);
}

#[test]
fn a_split_larger_than_the_training_set_is_a_clear_error() {
    let ws = Workspace::new();
    let output = ws.run(&["--steps", "2", "--validation", "200"]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("the validation split of 200 images"), "{err}");
    assert!(err.contains("hold 200"), "{err}");
}

#[test]
fn the_tutorial_trains_on_55000_images_and_says_validation_where_it_evaluates() {
    let data = common::real_data_dir();
    // A folder without a config file: the built-in defaults, the split included.
    let folder = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_digitdash"))
        .current_dir(folder.path())
        .env_remove("DIGITDASH_DATA_DIR")
        .args([
            "--headless",
            "--preset",
            "tutorial",
            "--data-dir",
            data.to_str().unwrap(),
            "--steps",
            "20",
            "--eval-every",
            "10",
            "--log-every",
            "10",
            "--run-dir",
            "run",
        ])
        .output()
        .unwrap();
    let (out, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains("training on 55000 images, testing on 10000"),
        "{err}"
    );
    // The best checkpoint, when it is not the final weights, has its own look.
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("best checkpoint (step 10), test accuracy "))
        .collect();
    let shape: Vec<String> = lines
        .iter()
        .map(|l| {
            l.split(|c: char| c.is_ascii_digit())
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        shape,
        [
            "step ",
            "step ",
            "step ",
            "step ",
            "step ",
            "test accuracy "
        ],
        "{out}"
    );
    assert!(lines[0].contains(", training accuracy "), "{out}");
    assert!(
        lines[1].starts_with("step 10, validation accuracy "),
        "{out}"
    );
    assert!(lines[1].contains(", validation loss "), "{out}");
    assert!(
        lines[3].starts_with("step 20, validation accuracy "),
        "{out}"
    );
    assert!(lines[4].starts_with("step 20, test accuracy "), "{out}");
    let records = records(&folder.path().join("run"));
    let Some(Record::Started(started)) = records.first() else {
        panic!("{records:?}")
    };
    assert_eq!(
        (started.train_images, started.validation_images),
        (55_000, 5_000)
    );
}
