//! Crash consistency: a real training run killed with SIGKILL at random moments (some in the
//! middle of a checkpoint write, some while it starts up and repairs) and resumed each time
//! keeps whole records and ends where an unbroken run ends.
//!
//! The moments are drawn from a seed printed at the start; `CRASH_SEED=N` replays one (the
//! kills still land wherever the machine's timing puts them).
//!
//! It takes a minute or two, so the quick suite skips it; `.ci/run` runs it:
//! `cargo test --release --test crash_consistency -- --ignored`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use common::Workspace;
use digitdash::data::{Mnist, Split, IMAGE_PIXELS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Kill-and-resume rounds.
const ROUNDS: usize = 12;
/// Steps of the whole run: more than the rounds can reach, so every kill lands mid-run.
const STEPS: u64 = 300;
/// The README's noise between a resumed and an unbroken run's final test accuracy on this
/// data (README, "Runs, checkpoints and resuming"): four points.
const NOISE: f64 = 0.04;
/// Guards against a hang only; a healthy round takes a few seconds.
const HANG: Duration = Duration::from_secs(120);

/// Settings of both runs: a checkpoint every 4 steps and an evaluation only at the end.
const CONFIG: &str = "[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 10\n\
                      [run]\ncheckpoint_every = 4\nkeep_checkpoints = 3\n";

/// A dataset that takes a few hundred steps to learn, so that a resume that lost what was
/// learned would show in the final accuracy: the label is a band at a label-dependent row,
/// of random start, length and brightness, among 4% of random pixels.
fn noisy_mnist(n_train: usize, n_test: usize) -> Mnist {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut split = |n: usize, offset: usize| {
        let mut images = vec![0u8; n * IMAGE_PIXELS];
        let labels: Vec<u8> = (0..n).map(|i| ((i + offset) % 10) as u8).collect();
        for (image, &label) in images.chunks_mut(IMAGE_PIXELS).zip(&labels) {
            for pixel in image.iter_mut() {
                if rng.gen_bool(0.04) {
                    *pixel = rng.gen();
                }
            }
            let row = 2 + 2 * usize::from(label);
            let start = rng.gen_range(0..10);
            let end = (start + rng.gen_range(8..18)).min(28);
            image[row * 28 + start..row * 28 + end].fill(rng.gen_range(100..=255));
        }
        Split::new(images, labels).expect("consistent split")
    };
    Mnist {
        train: split(n_train, 0),
        test: split(n_test, 3),
    }
}

/// A workspace with the noisy data: 500 training and 500 test images.
fn workspace() -> Workspace {
    let ws = Workspace::new();
    noisy_mnist(500, 500)
        .save(&ws.data_dir(), true)
        .expect("write the data");
    ws.write_config(CONFIG);
    ws
}

/// A running `digitdash` and its stdout's step numbers as they come.
struct Running {
    child: Child,
    steps: Receiver<u64>,
}

/// Starts a headless run printing every step: a new one into `run`, or a resume of it.
fn start(ws: &Workspace, run: &Path, resume: bool) -> Running {
    let steps = STEPS.to_string();
    let run_arg = run.to_str().expect("utf-8 path");
    let mut command = if resume {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_digitdash"));
        c.current_dir(ws.dir.path())
            .env_remove("DIGITDASH_DATA_DIR")
            .args(["--headless", "--resume", run_arg]);
        c
    } else {
        ws.command(&["--headless", "--run-dir", run_arg])
    };
    let mut child = command
        .args(["--steps", &steps, "--log-every", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start digitdash");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let step = line
                .strip_prefix("step ")
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse().ok());
            if let Some(step) = step {
                if line.contains("training accuracy") && tx.send(step).is_err() {
                    return;
                }
            }
        }
    });
    Running { child, steps: rx }
}

/// Waits for the step line `step` (or a later one); `None` when the run ended first.
fn wait_for_step(running: &Running, step: u64) -> Option<u64> {
    let deadline = Instant::now() + HANG;
    loop {
        match running
            .steps
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(seen) if seen >= step => return Some(seen),
            Ok(_) => {}
            Err(RecvTimeoutError::Disconnected) => return None,
            Err(RecvTimeoutError::Timeout) => panic!("no step {step} within {HANG:?}"),
        }
    }
}

/// Kills the run with SIGKILL and reaps it; returns its stderr.
fn kill(mut running: Running) -> String {
    let _ = running.child.kill();
    let output = running.child.wait_with_output().expect("reap digitdash");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Whether a checkpoint is being written by process `pid` now (its temporary folder exists).
fn writing_checkpoint(run: &Path, pid: u32) -> bool {
    let suffix = format!(".tmp-{pid}");
    std::fs::read_dir(run.join("checkpoints"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(&suffix))
}

/// The step column of `metrics.csv`.
fn metric_steps(run: &Path) -> Vec<u64> {
    std::fs::read_to_string(run.join("metrics.csv"))
        .expect("metrics.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

/// Every line of `events.jsonl` as JSON; panics naming a line that is not.
fn events(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("events.jsonl line {}: {e}: {line:?}", i + 1))
        })
        .collect()
}

/// The final test accuracy of a run, from its `finished` record.
fn final_accuracy(run: &Path) -> f64 {
    let events = events(run);
    let finished = events
        .iter()
        .rfind(|e| e["event"] == "finished")
        .expect("a finished record");
    assert_eq!(finished["steps"], STEPS, "{finished}");
    finished["test_accuracy"].as_f64().expect("test_accuracy")
}

/// How a round's kill is timed.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// A few steps in, as soon as a checkpoint's temporary folder appears: mid-write.
    CheckpointWrite { after: u64 },
    /// A few steps in, plus a few milliseconds.
    Step { after: u64, delay_ms: u64 },
    /// While the process starts up, loads the data and repairs the records.
    Startup { delay_ms: u64 },
}

/// Runs one round: starts (or resumes) the run and kills it at `moment`. Returns the newest
/// step the round printed (0 if none) and whether the kill cut a checkpoint write.
fn round(ws: &Workspace, run: &Path, resume: bool, moment: Moment) -> (u64, bool) {
    let running = start(ws, run, resume);
    let pid = running.child.id();
    let first = match moment {
        Moment::Startup { delay_ms } => {
            std::thread::sleep(Duration::from_millis(delay_ms));
            let stderr = kill(running);
            assert!(!stderr.contains("panicked"), "{stderr}");
            return (0, false);
        }
        _ => wait_for_step(&running, 0),
    };
    let Some(first) = first else {
        let stderr = kill(running);
        panic!(
            "the {} failed: {stderr}",
            if resume { "resume" } else { "run" }
        );
    };
    let seen = match moment {
        Moment::CheckpointWrite { after } => {
            let first = wait_for_step(&running, first + after).unwrap_or(first);
            let deadline = Instant::now() + HANG;
            while !writing_checkpoint(run, pid) {
                assert!(Instant::now() < deadline, "no checkpoint write seen");
                std::thread::sleep(Duration::from_micros(200));
            }
            first
        }
        Moment::Step { after, delay_ms } => {
            let seen = wait_for_step(&running, first + after).unwrap_or(first);
            std::thread::sleep(Duration::from_millis(delay_ms));
            seen
        }
        Moment::Startup { .. } => unreachable!(),
    };
    let stderr = kill(running);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // A temporary folder left behind proves the kill cut a checkpoint write.
    (seen, writing_checkpoint(run, pid))
}

#[test]
#[ignore = "a minute or two of training; .ci/run runs it"]
fn killed_and_resumed_runs_keep_whole_records_and_end_as_an_unbroken_run() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    eprintln!("CRASH_SEED={seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);

    let ws = workspace();
    let unbroken: PathBuf = ws.dir.path().join("unbroken");
    let output = ws.run(&[
        "--run-dir",
        unbroken.to_str().unwrap(),
        "--steps",
        &STEPS.to_string(),
    ]);
    assert!(output.status.success(), "{}", common::texts(&output).1);
    let unbroken_accuracy = final_accuracy(&unbroken);

    let run = ws.dir.path().join("crashed");
    // The first round runs past the first checkpoint, so there is one to resume from.
    let (mut reached, _) = round(
        &ws,
        &run,
        false,
        Moment::Step {
            after: 6,
            delay_ms: 0,
        },
    );
    let mut in_writes = 0;
    for n in 1..ROUNDS {
        // The run moves on by about 20 steps a round that trains.
        let moment = match n % 3 {
            0 => Moment::CheckpointWrite {
                after: rng.gen_range(10..=25),
            },
            1 => Moment::Step {
                after: rng.gen_range(10..=30),
                delay_ms: rng.gen_range(0..=15),
            },
            _ => Moment::Startup {
                delay_ms: rng.gen_range(0..=400),
            },
        };
        let (seen, in_write) = round(&ws, &run, true, moment);
        eprintln!("round {n}: {moment:?}, reached step {seen}, in a checkpoint write: {in_write}");
        reached = reached.max(seen);
        in_writes += usize::from(in_write);
        // Whatever the kill cut, every line but a torn last one is whole JSON.
        let text = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
        let whole = text.rsplit_once('\n').map_or("", |(whole, _)| whole);
        for line in whole.lines() {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("round {n}: {e}: {line:?}"));
        }
    }
    assert!(in_writes >= 1, "no kill landed in a checkpoint write");
    assert!(reached < STEPS, "the rounds ran to the end: {reached}");

    let output = ws.resume(&run, &["--steps", &STEPS.to_string()]);
    let (_, err) = common::texts(&output);
    assert!(output.status.success(), "the last resume failed: {err}");
    assert_eq!(metric_steps(&run), (1..=STEPS).collect::<Vec<_>>());
    let records = events(&run);
    let resumes = records.iter().filter(|e| e["event"] == "resumed").count();
    assert!(resumes >= ROUNDS / 2, "{resumes} resumes recorded");
    let repairs = records.iter().filter(|e| e["event"] == "repaired").count();
    assert!(
        repairs >= in_writes,
        "{repairs} repairs recorded for {in_writes} cut writes"
    );
    let accuracy = final_accuracy(&run);
    eprintln!("final test accuracy: unbroken {unbroken_accuracy}, killed and resumed {accuracy}");
    assert!(
        (accuracy - unbroken_accuracy).abs() <= NOISE,
        "killed and resumed {accuracy} vs unbroken {unbroken_accuracy}"
    );
    assert!(!run.join("writer.pid").exists(), "the last writer let go");
}
