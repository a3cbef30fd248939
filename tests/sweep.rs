//! `digitdash sweep` on tiny data, through the real binary: trials as run folders, the
//! decisions' journal, ASHA, a resume after `kill -9`, the Slurm script and the commands of
//! `sweep plan`, bad sweep files, `report`, `plot`, `watch`, and `lr-find`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::process::{kill, read_all_on_a_thread, wait, HANG_GUARD};
use common::{texts, Workspace};
use digitdash::run::RunDir;
use digitdash::sweep::record::SweepRecord;
use digitdash::sweep::SweepDir;

/// A workspace whose config holds out 50 validation images and checkpoints every 5 steps.
fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\nvalidation = 50\n[train]\neval_every = 0\n\
         [run]\ncheckpoint_every = 5\n",
    );
    ws
}

/// A grid of four trials (batch 8 or 16, dropout 0 or 0.5) of `steps` steps each.
fn grid_file(ws: &Workspace, steps: u64) -> PathBuf {
    let path = ws.dir.path().join("grid.toml");
    std::fs::write(
        &path,
        format!(
            "method = \"grid\"\n[budget]\nsteps = {steps}\n[space]\nbatch_size = [8, 16]\n\
             dropout = [0.0, 0.5]\n"
        ),
    )
    .unwrap();
    path
}

/// Runs `digitdash` in the workspace (its config and data) with one thread for arithmetic.
fn run(ws: &Workspace, args: &[&str]) -> Output {
    ws.command(args)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("run digitdash")
}

/// Runs the sweep `file` into `dir`, `parallel` trials side by side on as many cores.
fn sweep(ws: &Workspace, file: &Path, dir: &Path, parallel: usize) -> Output {
    let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
    let k = parallel.to_string();
    ws.command(&["sweep", file, "--out", dir, "--parallel", &k])
        .env("RAYON_NUM_THREADS", &k)
        .output()
        .expect("run digitdash sweep")
}

/// Starts the sweep `file` into `dir`, one trial at a time on one thread, stdout dropped.
fn start_sweep(ws: &Workspace, file: &Path, dir: &Path, stderr: Stdio) -> std::process::Child {
    let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
    ws.command(&["sweep", file, "--out", dir, "--parallel", "1"])
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start the sweep")
}

/// Plans the sweep `file` into `dir` with `--emit emit`; asserts it succeeded.
fn plan(ws: &Workspace, file: &Path, dir: &Path, emit: &str) {
    let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
    let output = run(ws, &["sweep", "plan", file, "--out", dir, "--emit", emit]);
    assert!(output.status.success(), "{}", texts(&output).1);
}

/// The sweep's decisions, by kind name per trial.
fn decisions(dir: &Path) -> BTreeMap<usize, Vec<String>> {
    let mut by_trial: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for record in SweepDir::new(dir).records().unwrap() {
        let kind = format!("{:?}", record.kind());
        by_trial.entry(record.trial()).or_default().push(kind);
    }
    by_trial
}

/// The finished records of a sweep, by trial.
fn finished(dir: &Path) -> BTreeMap<usize, (u64, f64)> {
    SweepDir::new(dir)
        .records()
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            SweepRecord::Finished(f) => Some((f.trial, (f.steps, f.best_validation_accuracy))),
            _ => None,
        })
        .collect()
}

#[test]
fn a_grid_sweep_trains_each_combination_as_a_run_and_reports_the_best() {
    let ws = workspace();
    let file = grid_file(&ws, 6);
    let out = ws.dir.path().join("grid");
    let output = sweep(&ws, &file, &out, 2);
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("2 side by side, 1 thread each"), "{stderr}");
    let by_trial = decisions(&out);
    assert_eq!(by_trial.len(), 4, "{by_trial:?}");
    for kinds in by_trial.values() {
        assert_eq!(kinds, &["Planned", "Started", "Finished"]);
    }
    for trial in 0..4 {
        let run = RunDir::new(out.join(format!("trial-00{trial}")));
        assert!(run.is_run(), "trial {trial} is an ordinary run folder");
        assert!(!run.checkpoint_folders().is_empty());
        let events = std::fs::read_to_string(run.events_file()).unwrap();
        assert!(events.contains("\"event\":\"finished\""), "{events}");
    }
    assert_eq!(stdout.matches(" started: ").count(), 4, "{stdout}");
    assert_eq!(stdout.matches(" finished: ").count(), 4, "{stdout}");
    assert!(stdout.contains("# best: trial-00"), "{stdout}");
    assert!(stdout.contains("[train]"), "{stdout}");

    let report = run(&ws, &["sweep", "report", out.to_str().unwrap(), "--json"]);
    let (json, err) = texts(&report);
    assert!(report.status.success(), "{err}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let trials = value["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4);
    let accuracies: Vec<f64> = trials
        .iter()
        .map(|t| t["validation_accuracy"].as_f64().unwrap())
        .collect();
    assert!(
        accuracies.windows(2).all(|w| w[0] >= w[1]),
        "ranked by validation accuracy, best first: {accuracies:?}"
    );
    assert_eq!(value["best"], trials[0]["trial"]);
    let leaderboard = std::fs::read_to_string(out.join("leaderboard.txt")).unwrap();
    assert_eq!(
        leaderboard.matches(" finished ").count(),
        4,
        "{leaderboard}"
    );
    let first_row = leaderboard.lines().nth(1).unwrap();
    assert!(
        first_row.starts_with(trials[0]["name"].as_str().unwrap()),
        "{leaderboard}"
    );
    assert!(stdout.contains(leaderboard.trim_end()), "{stdout}");
    assert_eq!(value["method"], "grid");
    let best_toml = value["best_toml"].as_str().unwrap();
    let config = digitdash::config::Config::from_toml(best_toml, Path::new("best")).unwrap();
    assert!([8, 16].contains(&config.train.batch_size), "{best_toml}");
    let images: u64 = value["images_trained"].as_u64().unwrap();
    assert_eq!(
        images,
        6 * (8 + 8 + 16 + 16),
        "steps times batch, every trial"
    );

    let plot = ws.dir.path().join("sweep.png");
    let drawn = run(
        &ws,
        &["plot", out.to_str().unwrap(), "-o", plot.to_str().unwrap()],
    );
    assert!(drawn.status.success(), "{}", texts(&drawn).1);
    let bytes = std::fs::read(&plot).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");

    let watched = run(&ws, &["watch", out.to_str().unwrap()]);
    let (listed, note) = texts(&watched);
    assert!(watched.status.success(), "{note}");
    assert_eq!(listed.matches("finished").count(), 4, "{listed}");
    assert!(note.contains("is a sweep"), "{note}");
    let watched = run(&ws, &["watch", out.to_str().unwrap(), "--json"]);
    let (json, note) = texts(&watched);
    assert!(watched.status.success(), "{note}");
    let watched: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(watched["trials"], value["trials"], "the report's trials");
}

#[test]
fn asha_stops_weak_trials_early_and_trains_fewer_images() {
    let ws = workspace();
    let file = ws.dir.path().join("asha.toml");
    std::fs::write(
        &file,
        "method = \"random\"\ntrials = 9\nseed = 4\n[budget]\nsteps = 18\n\
         [asha]\nreduction_factor = 3\nmin_budget = 2\n\
         [space]\nlearning_rate = { log_uniform = [1e-5, 1e-1] }\n",
    )
    .unwrap();
    let out = ws.dir.path().join("asha");
    let output = run(
        &ws,
        &[
            "sweep",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let records = SweepDir::new(&out).records().unwrap();
    let mut ends = BTreeMap::new();
    for r in &records {
        if matches!(
            r,
            SweepRecord::Finished(_) | SweepRecord::StoppedEarly(_) | SweepRecord::Failed(_)
        ) {
            assert!(
                ends.insert(r.trial(), r.clone()).is_none(),
                "one end a trial"
            );
        }
    }
    assert_eq!(ends.len(), 9, "{records:?}");
    let stopped = ends
        .values()
        .filter(|r| matches!(r, SweepRecord::StoppedEarly(_)))
        .count();
    assert!(stopped >= 4, "most trials stop early: {stopped}");
    // Every promotion out of a rung is of a trial in the top third of that rung's results
    // known when it was made.
    let mut known: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for r in &records {
        match r {
            SweepRecord::Reached(x) => known.entry(x.rung).or_default().push(x.validation_accuracy),
            SweepRecord::Promoted(p) => {
                let mut scores = known[&p.from_rung].clone();
                scores.sort_by(|a, b| b.total_cmp(a));
                let cut = scores[scores.len() / 3 - 1];
                assert!(
                    p.validation_accuracy >= cut,
                    "{p:?} below the top third {scores:?}"
                );
            }
            _ => {}
        }
    }
    assert!(stdout.contains("promoted to rung 1"), "{stdout}");
    assert!(stdout.contains("the scheduler saved"), "{stdout}");
    let board = digitdash::sweep::SweepBoard::read(&out).unwrap();
    assert!(board.images_trained() < board.full_budget_images() / 2);
}

#[test]
fn a_sweep_killed_mid_way_resumes_without_training_a_finished_trial_again() {
    let ws = workspace();
    let file = ws.dir.path().join("long.toml");
    std::fs::write(
        &file,
        "method = \"grid\"\n[budget]\nsteps = 40\n[space]\nbatch_size = [16, 24, 32]\n\
         dropout = [0.0, 0.5]\n",
    )
    .unwrap();
    let out = ws.dir.path().join("killed");
    let mut child = start_sweep(&ws, &file, &out, Stdio::null());
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while finished(&out).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no two trials finished"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("kill -9"); // SIGKILL: no chance to tidy up
    wait(&mut child);
    let before = finished(&out);
    assert!(before.len() < 6, "the sweep was killed before its end");
    let kept: BTreeMap<usize, String> = before
        .keys()
        .map(|t| {
            let events = out.join(SweepDir::trial_name(*t)).join("events.jsonl");
            (*t, std::fs::read_to_string(events).unwrap())
        })
        .collect();
    let running = before.len();
    let running_run = RunDir::new(out.join(SweepDir::trial_name(running)));
    let had_checkpoint = running_run
        .checkpoint_folders()
        .iter()
        .any(|c| c.join("checkpoint.json").is_file());

    let resumed = ws
        .bare_command(&["sweep", "--resume", out.to_str().unwrap()])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&resumed);
    assert!(resumed.status.success(), "{stderr}");
    let after = finished(&out);
    assert_eq!(after.len(), 6, "{stdout}");
    for (trial, events) in &kept {
        let now =
            std::fs::read_to_string(out.join(SweepDir::trial_name(*trial)).join("events.jsonl"))
                .unwrap();
        assert_eq!(&now, events, "finished trial {trial} was not touched");
        assert!(!stdout.contains(&format!("{} started", SweepDir::trial_name(*trial))));
    }
    for kinds in decisions(&out).values() {
        assert_eq!(
            kinds.iter().filter(|k| *k == "Finished").count(),
            1,
            "{kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| *k == "Started").count(),
            1,
            "{kinds:?}"
        );
    }
    let events = std::fs::read_to_string(running_run.events_file()).unwrap();
    if had_checkpoint {
        assert!(
            events.contains("\"event\":\"resumed\""),
            "went on from its checkpoint"
        );
    } else {
        assert_eq!(
            events.matches("\"event\":\"started\"").count(),
            1,
            "begun again"
        );
    }
    assert_eq!(after[&running].0, 40);
}

#[test]
fn ctrl_c_stops_a_sweep_resumably_and_resume_ends_every_trial_once() {
    let ws = workspace();
    let file = grid_file(&ws, 40);
    let out = ws.dir.path().join("interrupted");
    let mut child = start_sweep(&ws, &file, &out, Stdio::piped());
    let stderr = read_all_on_a_thread(child.stderr.take().unwrap());
    let deadline = std::time::Instant::now() + HANG_GUARD;
    while finished(&out).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no trial finished");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    kill("INT", child.id());
    let status = wait(&mut child);
    let stderr = stderr.join().unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("sweep --resume"), "{stderr}");
    let before = finished(&out);
    assert!(before.len() < 4, "stopped before its end: {before:?}");
    assert!(
        !decisions(&out).values().flatten().any(|k| k == "Failed"),
        "Ctrl-C fails no trial: {:?}",
        decisions(&out)
    );
    assert!(!out.join("leaderboard.txt").exists(), "no leaderboard yet");

    let resumed = run(&ws, &["sweep", "--resume", out.to_str().unwrap()]);
    assert!(resumed.status.success(), "{}", texts(&resumed).1);
    let after = finished(&out);
    assert_eq!(after.len(), 4, "{after:?}");
    for (trial, end) in &before {
        assert_eq!(&after[trial], end, "finished trial {trial} kept as it was");
    }
    for kinds in decisions(&out).values() {
        assert_eq!(
            kinds.iter().filter(|k| *k == "Started").count(),
            1,
            "{kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| *k == "Finished").count(),
            1,
            "{kinds:?}"
        );
    }
    assert!(out.join("leaderboard.txt").is_file());
}

#[test]
fn the_slurm_script_passes_bash_n_and_its_task_1_trains_trial_1() {
    let ws = workspace();
    let file = grid_file(&ws, 5);
    let planned = ws.dir.path().join("planned");
    plan(&ws, &file, &planned, "slurm");
    let script = planned.join("sweep.sbatch");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("#SBATCH --array=0-3"), "{text}");
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(check.success(), "bash -n {text}");
    let task = Command::new("bash")
        .arg(&script)
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env("RAYON_NUM_THREADS", "1")
        .env_remove("DIGITDASH_DATA_DIR")
        .current_dir(ws.dir.path())
        .output()
        .unwrap();
    assert!(task.status.success(), "{}", texts(&task).1);
    assert!(RunDir::new(planned.join("trial-001")).is_run());
    assert!(!planned.join("trial-000").exists());
    assert_eq!(finished(&planned).keys().copied().collect::<Vec<_>>(), [1]);
    let by_trial = decisions(&planned);
    assert_eq!(by_trial[&1], ["Planned", "Started", "Finished"]);
    assert_eq!(by_trial[&0], ["Planned"]);
    // The same task again trains nothing.
    let again = Command::new("bash")
        .arg(&script)
        .env("SLURM_ARRAY_TASK_ID", "1")
        .env_remove("DIGITDASH_DATA_DIR")
        .output()
        .unwrap();
    assert!(again.status.success());
    assert!(
        texts(&again).1.contains("has ended already"),
        "{}",
        texts(&again).1
    );
    assert_eq!(decisions(&planned)[&1].len(), 3);
}

#[test]
fn the_planned_commands_under_xargs_give_the_folder_a_local_sweep_gives() {
    let ws = workspace();
    let file = grid_file(&ws, 6);
    let local = ws.dir.path().join("local");
    let output = sweep(&ws, &file, &local, 1);
    assert!(output.status.success(), "{}", texts(&output).1);
    let planned = ws.dir.path().join("cluster");
    plan(&ws, &file, &planned, "commands");
    let commands = std::fs::File::open(planned.join("commands.txt")).unwrap();
    let xargs = Command::new("xargs")
        .args(["-P", "2", "-I", "CMD", "sh", "-c", "CMD"])
        .stdin(commands)
        .env("RAYON_NUM_THREADS", "1")
        .env_remove("DIGITDASH_DATA_DIR")
        .output()
        .unwrap();
    assert!(xargs.status.success(), "{}", texts(&xargs).1);
    let names = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && n != "commands.txt" && n != "writer.pid")
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(&local), names(&planned));
    assert!(
        planned.join("leaderboard.txt").is_file(),
        "the last task wrote it"
    );
    assert_eq!(decisions(&local), decisions(&planned));
    assert_eq!(
        finished(&local),
        finished(&planned),
        "same steps and validation accuracy"
    );
    for trial in 0..4 {
        let config = |dir: &Path| {
            std::fs::read_to_string(dir.join(SweepDir::trial_name(trial)).join("config.toml"))
                .unwrap()
        };
        assert_eq!(config(&local), config(&planned), "trial {trial}");
    }
}

#[test]
fn bad_sweep_files_are_refused_naming_the_key_and_leave_no_folder() {
    let ws = workspace();
    for (space, key, words) in [
        ("learning_rat = [0.1]", "space.learning_rat", "unknown parameter"),
        ("dropout = { uniform = [0.3, 0.3] }", "space.dropout", "empty"),
        ("dropout = { uniform = [0.4, 0.1] }", "space.dropout", "reversed"),
        ("learning_rate = { log_uniform = [0.0, 0.1] }", "space.learning_rate", "through zero"),
        (
            "learning_rate = { log_uniform = [1e-5, 1e-1], points = 200 }\nseed = { int = [0, 99] }",
            "space",
            "over the 10000",
        ),
    ] {
        let file = ws.dir.path().join("bad.toml");
        std::fs::write(&file, format!("method = \"grid\"\n[budget]\nsteps = 5\n[space]\n{space}\n"))
            .unwrap();
        let out = ws.dir.path().join("never");
        let output = run(&ws, &["sweep", file.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(2), "{space}: {stderr}");
        assert!(stderr.contains("bad.toml"), "{stderr}");
        assert!(stderr.contains(&format!("{key}:")), "{space}: {stderr}");
        assert!(stderr.contains(words), "{space}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!out.exists(), "nothing written for a bad file");
    }
    ws.write_config("[data]\ndownload = false\nvalidation = 0\n");
    let file = grid_file(&ws, 5);
    let output = run(&ws, &["sweep", file.to_str().unwrap(), "--out", "x"]);
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("validation"), "{stderr}");
}

#[test]
fn the_help_states_the_default_parallelism_and_random_plans_repeat() {
    let ws = workspace();
    let help = run(&ws, &["sweep", "--help"]);
    let (text, _) = texts(&help);
    assert!(text.contains("--parallel"), "{text}");
    assert!(text.contains("one trial for every two cores"), "{text}");
    let file = ws.dir.path().join("random.toml");
    std::fs::write(
        &file,
        "method = \"random\"\ntrials = 6\nseed = 11\n[budget]\nepochs = 1\n[space]\n\
         learning_rate = { log_uniform = [1e-5, 1e-1] }\nbatch_size = [8, 16, 32]\n",
    )
    .unwrap();
    let plan = |name: &str| {
        let dir = ws.dir.path().join(name);
        plan(&ws, &file, &dir, "commands");
        SweepDir::new(dir).records().unwrap()
    };
    let (first, second) = (plan("a"), plan("b"));
    assert_eq!(first.len(), 6);
    assert_eq!(first, second, "the same seed, the same trials");
}

#[test]
fn lr_find_on_tiny_data_suggests_a_finite_rate_and_draws_it() {
    let ws = workspace();
    let png = ws.dir.path().join("lr.png");
    let output = run(
        &ws,
        &[
            "lr-find",
            "--steps",
            "80",
            "--start",
            "1e-6",
            "--batch-size",
            "16",
            "-o",
            png.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("suggested learning rate: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    let rate: f64 = line["suggested learning rate: ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rate.is_finite() && rate > 1e-6 && rate < 10.0, "{rate}");
    assert!(
        stdout.contains('*') && stdout.contains("| suggested"),
        "{stdout}"
    );
    assert_eq!(&std::fs::read(&png).unwrap()[1..4], b"PNG");
}

#[test]
fn the_shipped_example_is_a_valid_sweep() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sweep.toml");
    let file = digitdash::sweep::SweepFile::load(&path).unwrap();
    let mut base = digitdash::config::Config::default();
    digitdash::config::Preset::Fast.apply(&mut base.train);
    base.data.validation = Some(5000);
    let spec = digitdash::sweep::SweepSpec::new(file, &path, &base).unwrap();
    assert_eq!(spec.trials, 27);
    assert_eq!(spec.rung_count(), 3);
    let grid = digitdash::sweep::SweepFile {
        method: digitdash::sweep::Method::Grid,
        trials: None,
        ..spec.file.clone()
    };
    let grid = digitdash::sweep::SweepSpec::new(grid, &path, &base).unwrap();
    assert_eq!(grid.trials, 27, "3 rates x 3 batches x 3 dropouts");
}
