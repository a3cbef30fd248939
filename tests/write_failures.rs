//! Writes that fail part-way, as on a full disk (here: a limit on the size of each file the
//! process writes): a plot or a chart export leaves no file behind, and the error says what
//! happened in words, not as a debug dump of the system's error.

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::run_fixtures::{write_run, End, Spec};
use common::tmux::Tmux;
use common::{texts, Workspace};

/// Upper bound for the dashboard to show what is waited for; it only keeps a hang from
/// blocking the suite.
const REACT: Duration = Duration::from_secs(300);

/// Limits every file `command`'s process writes to `bytes`, as a disk that fills up would: a
/// write past it fails with "File too large" (SIGXFSZ is ignored, so the process sees the
/// error instead of being killed by the signal).
fn limit_file_size(command: &mut Command, bytes: u64) -> &mut Command {
    // SAFETY: between fork and exec the closure calls only `setrlimit` and `signal`, which
    // are async-signal-safe, and touches no memory shared with the parent.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        })
    }
}

/// The names in `dir`.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_plot_that_cannot_be_written_whole_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    write_run(&run, &Spec::new(300, 300, End::Finished));
    let out = dir.path().join("plots");
    std::fs::create_dir(&out).unwrap();
    for name in ["loss.png", "loss.svg"] {
        let file = out.join(name);
        let mut command = Command::new(env!("CARGO_BIN_EXE_digitdash"));
        command.args(["plot", run.to_str().unwrap(), "-o", file.to_str().unwrap()]);
        let output = limit_file_size(&mut command, 4096).output().unwrap();
        let (_, err) = texts(&output);
        assert_eq!(output.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("cannot write the plot") && err.contains("File too large"),
            "{name}: {err}"
        );
        assert!(!err.contains("Os {"), "{name}: a debug dump: {err}");
        assert!(
            names(&out).is_empty(),
            "{name}: left behind {:?}",
            names(&out)
        );
    }
    // Without the limit the same plot is written.
    let file = out.join("loss.png");
    let output = Command::new(env!("CARGO_BIN_EXE_digitdash"))
        .args(["plot", run.to_str().unwrap(), "-o", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", texts(&output).1);
    assert_eq!(names(&out), BTreeSet::from(["loss.png".to_string()]));
}

#[test]
fn a_chart_export_that_fails_leaves_no_file_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    write_run(&run, &Spec::new(300, 300, End::Finished));
    let before = names(&run);
    // `watch` only reads, so the limit holds back only the export.
    let command = format!(
        "ulimit -f 8; trap '' XFSZ; '{}' watch '{}' --data-dir '{}'; echo digitdash-exit=$?; \
         sleep 600",
        env!("CARGO_BIN_EXE_digitdash"),
        run.display(),
        dir.path().join("no-data").display()
    );
    let cwd = dir.path().to_str().unwrap().to_string();
    let tmux = Tmux::start("export-fails", 160, 45, &cwd, &command);
    tmux.wait_for("the watched run", REACT, |s| s.contains("FINISHED"));
    tmux.text("e");
    let screen = tmux.wait_for("the export's failure", REACT, |s| {
        s.contains("cannot export the charts")
    });
    assert!(screen.contains("File too large"), "{screen}");
    assert_eq!(names(&run), before, "nothing new in the run's folder");
    tmux.text("q");
    tmux.wait_for("the program to exit", REACT, |s| {
        s.contains("digitdash-exit=0")
    });
}

#[test]
fn a_checkpoint_that_cannot_be_written_is_explained_without_a_debug_dump() {
    let ws = Workspace::new();
    let mut command = ws.command(&["--headless", "--steps", "3", "--run-dir", "run"]);
    // The records fit in a megabyte; the weights (13 MB) do not.
    let output = limit_file_size(&mut command, 1 << 20).output().unwrap();
    let (_, err) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot write checkpoint") && err.contains("File too large (os error 27)"),
        "{err}"
    );
    for dump in ["IoError(", "Os {", "kind:"] {
        assert!(!err.contains(dump), "{dump} in {err}");
    }
}
