//! One writer per run folder, through the real binary: a second writer is refused at once
//! with the first one's process id; a reader (`eval`) tells a running run from an interrupted
//! one; the lock of a killed writer is taken over with a note.

mod common;

use std::io::BufReader;
use std::path::Path;
use std::process::Child;

use common::process::start_run;
use common::{texts, Workspace};

/// Starts a long headless run into `run/` (a checkpoint every five steps, all kept) and waits
/// for the step line `step`.
fn start(ws: &Workspace, step: u64) -> (Child, BufReader<std::process::ChildStdout>) {
    ws.write_config(
        "[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 10\n[run]\ncheckpoint_every = 5\nkeep_checkpoints = 100000\n",
    );
    start_run(ws, "run", &["--steps", "100000"], step)
}

fn eval_note(ws: &Workspace, checkpoint: &Path) -> String {
    ws.eval(checkpoint).1
}

#[test]
fn a_second_writer_is_refused_at_once_and_readers_tell_running_from_interrupted() {
    let ws = Workspace::new();
    let run = ws.dir.path().join("run");
    let (mut child, _stdout) = start(&ws, 7);
    let pid = child.id();
    assert_eq!(
        std::fs::read_to_string(run.join("writer.pid")).unwrap(),
        format!("{pid}\n")
    );
    let config = std::fs::read(run.join("config.toml")).unwrap();

    // A resume of the same folder, and a new run into it, are both refused.
    let output = ws.resume(&run, &["--steps", "100000"]);
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("is being trained by process {pid}")),
        "{err}"
    );
    assert!(err.contains(&format!("kill {pid}")), "{err}");
    assert!(err.contains("start a new run instead"), "{err}");
    let output = ws.run(&["--run-dir", "run", "--steps", "5"]);
    assert_eq!(output.status.code(), Some(1), "{}", texts(&output).1);
    assert_eq!(std::fs::read(run.join("config.toml")).unwrap(), config);

    // A reader is told, and takes nothing.
    let checkpoint = run.join("checkpoints/step-00000005");
    let note = eval_note(&ws, &checkpoint);
    assert!(
        note.contains(&format!("is being trained now (process {pid})")),
        "{note}"
    );

    // Killed: the lock goes with the process, writer.pid stays behind.
    child.kill().unwrap();
    child.wait().unwrap();
    let note = eval_note(&ws, &checkpoint);
    assert!(
        note.contains(&format!("was interrupted (process {pid})")),
        "{note}"
    );
    assert!(note.contains("digitdash --resume"), "{note}");

    // The next writer takes over, says so, and records it.
    let latest = digitdash::run::RunDir::new(&run)
        .latest_checkpoint()
        .unwrap();
    let step: u64 = latest
        .to_str()
        .unwrap()
        .rsplit('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let output = ws.resume(&run, &["--steps", &(step + 3).to_string()]);
    let (_, err) = texts(&output);
    assert!(output.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "last trained by process {pid}, which ended without"
        )),
        "{err}"
    );
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(events.contains(r#""event":"repaired""#), "{events}");
    assert!(!run.join("writer.pid").exists(), "a clean end lets go");
    assert_eq!(eval_note(&ws, &checkpoint), "", "an idle run gets no note");
}
