//! Reading run folders back: every status from fixture folders, and `RunHistory::refresh`
//! following a writer thread that appends, leaves partial lines, rewinds and rewrites.

mod common;

use common::run_fixtures as fixtures;

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::mpsc;
use std::thread;

use digitdash::run::metrics::Column;
use digitdash::run::{Detail, RunDir, RunHistory, RunRecords, RunStatus};
use fixtures::{accuracy_at, loss_at, row, write_every_state, write_run, End, Spec};

fn open(path: &std::path::Path, detail: Detail) -> RunHistory {
    RunHistory::open(RunDir::new(path), detail).expect("open the run")
}

#[test]
fn every_state_a_run_can_be_left_in_is_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    write_every_state(dir.path());
    let status = |name: &str| open(&dir.path().join(name), Detail::Summary).status();

    assert_eq!(status("finished"), RunStatus::Finished);
    assert_eq!(status("stopped"), RunStatus::Stopped);
    assert_eq!(
        status("failed"),
        RunStatus::Failed {
            message: "training failed: the loss became NaN".into()
        }
    );
    assert_eq!(status("running"), RunStatus::Running);
    assert_eq!(status("interrupted"), RunStatus::Interrupted);
    let bad = status("bad-config");
    assert_eq!(bad.label(), "damaged");
    assert!(bad.detail().unwrap().contains("config.toml"), "{bad}");
    let no_metrics = status("no-metrics");
    assert!(
        no_metrics
            .detail()
            .unwrap()
            .contains("metrics.csv is missing"),
        "{no_metrics}"
    );
    assert_eq!(status("empty").label(), "not a run");
    assert!(RunHistory::open(RunDir::new(dir.path().join("notes.txt")), Detail::Full).is_err());
}

#[test]
fn a_finished_run_reads_back_its_steps_evaluations_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &Spec::new(100, 100, End::Finished));
    let history = open(dir.path(), Detail::Full);
    assert_eq!(history.steps_done(), 100);
    assert_eq!(history.total_steps(), Some(100));
    assert_eq!(history.final_test_accuracy(), Some(accuracy_at(100)));
    assert_eq!(history.best_accuracy(), Some(accuracy_at(100)));
    assert_eq!(history.wall_seconds(), Some(1.0));
    assert_eq!(history.events().evaluations().count(), 10);
    let losses: Vec<(u64, f64)> = history.metrics().points(Column::Loss).collect();
    assert_eq!(losses.len(), 100);
    assert_eq!(losses[41], (42, f64::from(loss_at(42))));
    assert_eq!(history.metrics().skipped(), 0);
    assert_eq!(history.events().skipped(), 0);
}

/// Appends raw text to a file, as a writer that flushes mid-line would.
fn append(path: &std::path::Path, text: &str) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[test]
fn refresh_waits_for_the_rest_of_a_partial_row_and_rereads_a_rewound_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("run"));
    let mut records =
        RunRecords::create(&run, &fixtures::config(&Spec::new(0, 100, End::Running))).unwrap();
    for step in 1..=3 {
        records.step(&row(step)).unwrap();
    }
    records.flush().unwrap();
    let mut history = open(run.path(), Detail::Full);
    assert_eq!(history.steps_done(), 3);

    append(&run.metrics_file(), "4,0.25,0.5,0.0001,10");
    let changes = history.refresh().unwrap();
    assert_eq!(changes.new_rows, 0, "a partial row is not read");
    assert!(history.has_partial_row());
    append(&run.metrics_file(), "00.0,0.040,0.1\n5,0.2");
    let changes = history.refresh().unwrap();
    assert_eq!(changes.new_rows, 1);
    let last = *history.metrics().last().unwrap();
    assert_eq!((last.step, last.samples_per_sec), (4, 1000.0));
    append(&run.metrics_file(), ",0.5,0.0001,1000.0,0.050,0.1\n");
    assert_eq!(history.refresh().unwrap().new_rows, 1);
    assert!(!history.has_partial_row());

    // A rollback to step 2 rewrites the file without the later rows; the run goes on.
    records.rewind(2).unwrap();
    records.step(&row(3)).unwrap();
    records.flush().unwrap();
    let changes = history.refresh().unwrap();
    assert!(changes.metrics_reset);
    assert_eq!(history.steps_done(), 3);
    assert_eq!(history.metrics().points(Column::Loss).count(), 3);

    // Rows going back without a rewrite: the last write for a step wins.
    append(&run.metrics_file(), "2,9.5,0.5,0.0001,1000.0,0.1,0.1\n");
    let changes = history.refresh().unwrap();
    assert!(changes.metrics_rewound && !changes.metrics_reset);
    let losses: Vec<(u64, f64)> = history.metrics().points(Column::Loss).collect();
    assert_eq!(losses, [(1, f64::from(loss_at(1))), (2, 9.5)]);
}

/// The loss a writer pass writes for `step`: the pass is told by the fraction.
fn pass_loss(pass: u64, step: u64) -> f32 {
    step as f32 + pass as f32 * 0.25
}

#[test]
fn refresh_follows_a_writer_thread_through_appends_partial_lines_and_a_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("run"));
    let spec = Spec::new(0, 100, End::Running);
    RunRecords::create(&run, &fixtures::config(&spec)).unwrap();
    let mut history = open(run.path(), Detail::Full);

    let (done_tx, done_rx) = mpsc::channel();
    let writer_run = run.clone();
    let writer = thread::spawn(move || {
        // Pass 0 writes steps 1..=3000 in pieces that split rows anywhere; then the file is
        // truncated to step 1000 (as a rollback does) and pass 1 writes 1001..=2000.
        let text = |pass: u64, steps: std::ops::RangeInclusive<u64>| -> String {
            steps
                .map(|s| format!("{s},{},0.5,0.0001,1000.0,{},0.1\n", pass_loss(pass, s), s))
                .collect()
        };
        let first = text(0, 1..=3000);
        let mut at = 0;
        let mut piece = 1;
        while at < first.len() {
            let end = (at + piece).min(first.len());
            append(&writer_run.metrics_file(), &first[at..end]);
            at = end;
            piece = piece % 97 + 13;
            if at % 5 == 0 {
                thread::yield_now();
            }
        }
        let mut records = RunRecords::resume(&writer_run, 1000, &fixtures::config(&spec)).unwrap();
        records.flush().unwrap();
        drop(records);
        append(&writer_run.metrics_file(), &text(1, 1001..=2000));
        done_tx.send(()).unwrap();
    });

    let check = |history: &RunHistory| {
        for (expected_step, (step, loss)) in (1..).zip(history.metrics().points(Column::Loss)) {
            assert_eq!(step, expected_step, "rows are contiguous");
            let pass0 = f64::from(pass_loss(0, step));
            let pass1 = f64::from(pass_loss(1, step));
            assert!(
                loss == pass0 || (step > 1000 && loss == pass1),
                "step {step}: {loss}"
            );
        }
    };
    let mut refreshes = 0;
    while done_rx.try_recv().is_err() {
        history.refresh().unwrap();
        check(&history);
        refreshes += 1;
    }
    writer.join().unwrap();
    history.refresh().unwrap();
    check(&history);
    let losses: Vec<(u64, f64)> = history.metrics().points(Column::Loss).collect();
    assert_eq!(losses.len(), 2000, "after {refreshes} refreshes");
    assert_eq!(losses[999].1, f64::from(pass_loss(0, 1000)));
    assert_eq!(losses[1000].1, f64::from(pass_loss(1, 1001)));
    assert_eq!(
        history.metrics().skipped(),
        0,
        "no row was read before it was whole"
    );
    assert!(!history.has_partial_row());
}

#[test]
fn events_appended_later_change_the_status_and_garbage_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path(), &Spec::new(20, 100, End::Interrupted));
    let mut history = open(dir.path(), Detail::Summary);
    assert_eq!(history.status(), RunStatus::Interrupted);
    let run = RunDir::new(dir.path());
    append(
        &run.events_file(),
        "{\"event\":\"rollback\",\"to_step\":15}\n\x00garbage\n{\"event\":",
    );
    let changes = history.refresh().unwrap();
    assert_eq!(changes.new_events.len(), 1);
    assert_eq!(history.events().skipped(), 1);
    assert_eq!(history.final_test_accuracy(), Some(accuracy_at(10)));
    assert_eq!(history.status(), RunStatus::Running, "just written to");
    append(
        &run.events_file(),
        "\"finished\",\"steps\":20,\"stopped_early\":true,\"test_accuracy\":0.9,\"test_loss\":null}\n",
    );
    history.refresh().unwrap();
    assert_eq!(history.status(), RunStatus::Stopped);
}

#[test]
fn a_million_rows_read_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    fixtures::write_long_run(dir.path(), 1_000_000);
    let summary = open(dir.path(), Detail::Summary);
    assert_eq!(summary.steps_done(), 1_000_000);
    assert_eq!(summary.status(), RunStatus::Finished);
    assert_eq!(summary.events().evaluations().count(), 1000);
    let full = open(dir.path(), Detail::Full);
    assert_eq!(full.metrics().points(Column::Loss).count(), 1_000_000);
    assert_eq!(full.metrics().first_step(), Some(1));
}
