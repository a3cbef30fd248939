//! End to end: `digitdash watch` in tmux over a run folder that a thread of this test writes,
//! as another process would: rows arrive in pieces (a partial last line must wait for its
//! end), then the file is rewritten shorter (as a rollback or resume does) and the dashboard
//! follows it back. Then the run's end is recorded and the dashboard says so. And the run
//! picker (`b`) lists the runs beside the watched one and overlays those chosen. Every thread
//! of the watcher runs below the priority of the training it may share the cores with.

mod common;

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::process::{own_nice, thread_priorities};
use common::run_fixtures::{write_run, End, Spec};
use common::tmux::Tmux;
use digitdash::config::Config;

/// Upper bound for the dashboard to show what was written.
const REACT: Duration = Duration::from_secs(60);

/// The status line (under the tab bar).
fn status(screen: &str) -> &str {
    screen.lines().nth(1).unwrap_or("")
}

fn row(step: u64) -> String {
    let loss = 2.3 / (1.0 + step as f64 * 0.1);
    format!("{step},{loss},0.5,0.0001,500.0,{}.000\n", step)
}

fn append(path: &Path, text: &str) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.flush().unwrap();
}

/// A watcher trains nothing: every thread of it, the reader of the run included, runs 10 nice
/// levels below this test's threads, so it gives way to the run it follows when that trains on
/// the same cores.
fn assert_every_thread_yields_to_training(pid: &str) {
    let base = own_nice();
    let threads = thread_priorities(pid);
    assert!(
        threads.iter().any(|(name, _)| name == "replay"),
        "the reader of the run: {threads:?}"
    );
    for (name, nice) in &threads {
        let expected = digitdash::priority::below_training(base);
        assert_eq!(*nice, expected, "thread {name}: {threads:?}");
    }
}

#[test]
fn watch_follows_a_run_as_it_is_written_rewound_and_finished() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let mut config = Config::default();
    config.train.steps = 50;
    std::fs::write(run.join("config.toml"), config.to_toml()).unwrap();
    let metrics = run.join("metrics.csv");
    std::fs::write(
        &metrics,
        "step,loss,accuracy,learning_rate,samples_per_sec,wall_seconds\n",
    )
    .unwrap();
    std::fs::write(run.join("events.jsonl"), "").unwrap();
    for step in 1..=10 {
        append(&metrics, &row(step));
    }

    let command = format!(
        "'{}' watch '{}' --data-dir '{}'; echo digitdash-exit=$?; sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        run.display(),
        dir.path().join("no-data").display()
    );
    let cwd = dir.path().to_str().unwrap().to_string();
    let tmux = Tmux::start("watch", 100, 30, &cwd, &command);
    tmux.wait_for("the rows written so far", REACT, |s| {
        status(s).contains("step 10 / 50")
    });
    assert_every_thread_yields_to_training(&tmux.program_pid());

    // Half a row: nothing may show until its end arrives.
    let eleven = row(11);
    let (head, tail) = eleven.split_at(4);
    append(&metrics, head);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        status(&tmux.screen()).contains("step 10 / 50"),
        "{}",
        tmux.screen()
    );
    append(&metrics, tail);
    for step in 12..=20 {
        append(&metrics, &row(step));
    }
    tmux.wait_for("the appended rows", REACT, |s| {
        status(s).contains("step 20 / 50")
    });

    // Rewritten shorter, as a rollback to step 5 leaves it.
    let mut text = String::from("step,loss,accuracy,learning_rate,samples_per_sec,wall_seconds\n");
    (1..=5).for_each(|s| text.push_str(&row(s)));
    std::fs::write(&metrics, text).unwrap();
    tmux.wait_for("the rewritten file", REACT, |s| {
        status(s).contains("step 5 / 50")
    });
    let controls = tmux.screen();
    assert!(
        controls.contains("watching a run another process trains"),
        "{controls}"
    );

    append(&metrics, &row(6));
    append(
        &run.join("events.jsonl"),
        "{\"event\":\"finished\",\"steps\":6,\"stopped_early\":true,\"test_accuracy\":0.5,\"test_loss\":1.0,\"train_seconds\":1.0,\"wall_seconds\":2.0,\"samples_per_sec\":300.0}\n",
    );
    tmux.wait_for("the recorded end", REACT, |s| {
        status(s).contains("FINISHED")
    });
    tmux.text("q");
    tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=0")
    });
}

#[test]
fn the_run_picker_overlays_the_chosen_runs_and_takes_them_away() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    write_run(&runs.join("alpha"), &Spec::new(100, 100, End::Finished));
    write_run(
        &runs.join("beta"),
        &Spec {
            learning_rate: 1e-3,
            ..Spec::new(60, 100, End::Stopped)
        },
    );
    write_run(&runs.join("gamma"), &Spec::new(80, 100, End::Finished));
    std::fs::create_dir_all(runs.join("empty")).unwrap();

    let command = format!(
        "'{}' watch '{}' --data-dir '{}'; echo digitdash-exit=$?; sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        runs.join("alpha").display(),
        dir.path().join("no-data").display()
    );
    let cwd = dir.path().to_str().unwrap().to_string();
    let tmux = Tmux::start("picker", 120, 40, &cwd, &command);
    tmux.wait_for("the watched run", REACT, |s| status(s).contains("FINISHED"));

    tmux.text("b");
    let screen = tmux.wait_for("the picker", REACT, |s| s.contains(" runs in "));
    let row_of = |screen: &str, name: &str| -> String {
        screen
            .lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{screen}"))
            .to_string()
    };
    assert!(
        row_of(&screen, "alpha").contains("finished · 100/100 · best test 98.50% (on screen)"),
        "{screen}"
    );
    assert!(row_of(&screen, "beta").contains("[ ] beta"), "{screen}");
    assert!(
        row_of(&screen, "beta").contains("stopped · 60/100"),
        "{screen}"
    );
    assert!(row_of(&screen, "empty").contains("no records"), "{screen}");
    assert!(
        row_of(&screen, "gamma").contains("finished · 80/100"),
        "{screen}"
    );

    // The cursor starts on the first run that can be chosen (beta); choose it and gamma.
    tmux.text(" ");
    tmux.keys(&["Down", "Down"]);
    tmux.text(" ");
    tmux.wait_for("both marked", REACT, |s| {
        s.contains("[x] beta") && s.contains("[x] gamma")
    });
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the overlay", REACT, |s| {
        s.contains("compared runs") && !s.contains(" runs in ") && !s.contains("esc cancel")
    });
    assert!(screen.contains("━━ beta"), "{screen}");
    assert!(screen.contains("━━ gamma"), "{screen}");
    assert!(
        screen.contains("learning_rate 0.001 → 0.0001"),
        "beta's difference from the watched run:\n{screen}"
    );

    // Open again: both still chosen; take beta away.
    tmux.text("b");
    tmux.wait_for("the picker again", REACT, |s| {
        s.contains("[x] beta") && s.contains("[x] gamma")
    });
    tmux.text(" ");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("beta gone", REACT, |s| {
        !s.contains(" runs in ") && !s.contains("━━ beta")
    });
    assert!(screen.contains("━━ gamma"), "{screen}");

    tmux.text("q");
    tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=0")
    });
}
