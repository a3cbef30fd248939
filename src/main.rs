//! `digitdash`: train the Deep MNIST network; `digitdash --help` lists the options.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use digitdash::cli::{resolve_config, resolve_resumed_config, Cli, RunArgs, Subcommands};
use digitdash::commands::checkpoint_of::checkpoint_of;
use digitdash::commands::{
    bench, eval, export, lr_find, plot, predict, presets, runs, shell, sweep, watch_sweep,
};
use digitdash::config::{Config, ConfigError};
use digitdash::frontend::dashboard::app::{App, ComparedRun};
use digitdash::frontend::dashboard::terminal::why_no_dashboard;
use digitdash::frontend::dashboard::{self, DashboardOptions};
use digitdash::frontend::headless::{self, HeadlessOptions};
use digitdash::output::note;
use digitdash::run::checkpoint::trained_on;
use digitdash::run::history::RunHistory;
use digitdash::run::metrics::Detail;
use digitdash::run::writer::check_new_run_folder;
use digitdash::run::{
    checkpoint, writer_state, CheckpointError, LockError, RunDir, RunLock, WriterState,
};
use digitdash::source::{Replay, ReplayOptions};
use digitdash::sweep::{SweepBoard, SweepError};
use digitdash::train::{Outcome, RunSetup, RunStart};
use digitdash::{signals, train};

/// Runs the command line and returns the exit status.
pub(crate) fn main() -> ExitCode {
    digitdash::alloc::keep_freed_memory();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            note(format!("error: {error:#}"));
            // Status 2 is for a command line or config that needs fixing; 1 for the rest.
            let bad_sweep_file = error
                .downcast_ref::<SweepError>()
                .is_some_and(SweepError::is_in_the_file);
            if error.downcast_ref::<ConfigError>().is_some() || bad_sweep_file {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Some(Subcommands::Bench(args)) => {
            let config = resolve_config(&cli.run)?;
            bench::run(args, &config.data.dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Eval {
            checkpoint,
            step,
            split,
        }) => {
            let checkpoint = &checkpoint_of(checkpoint, *step)?;
            let args = RunArgs {
                dataset: cli.run.dataset.or_else(|| trained_on(checkpoint)),
                ..cli.run.clone()
            };
            let config = resolve_config(&args)?;
            let (dir, dataset) = (config.data.folder()?, config.data.dataset);
            let batch = config.train.eval_batch_size;
            eval::run(checkpoint, &dir, dataset, batch, split.split())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Predict {
            checkpoint,
            step,
            images,
        }) => {
            let checkpoint = &checkpoint_of(checkpoint, *step)?;
            let dataset = cli.run.dataset.or_else(|| trained_on(checkpoint));
            predict::run(checkpoint, images, dataset.unwrap_or_default())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Watch { run, compare, json }) => watch(run, compare, *json, &cli.run),
        Some(Subcommands::Runs { dir, json }) => {
            let dir = match dir {
                Some(dir) => dir.clone(),
                None => resolve_config(&cli.run)?.run.dir,
            };
            runs::run(&dir, *json)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Plot(args)) => {
            plot::run(args)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Export(args)) => {
            export::run(args, cli.run.dataset)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Completions { shell }) => {
            shell::completions(*shell, &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Man { dir }) => {
            match dir {
                Some(dir) => shell::man_pages(dir)?,
                None => shell::man_page(&mut std::io::stdout())?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Presets(args)) => {
            let config = resolve_config(&cli.run)?;
            let signal = signals::install().context("cannot install the signal handlers")?;
            presets::run(args, &config, signal)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Sweep(args)) => Ok(ExitCode::from(sweep::run(args, &cli.run)?)),
        Some(Subcommands::LrFind(args)) => {
            let signal = signals::install().context("cannot install the signal handlers")?;
            lr_find::run(args, &cli.run, signal)?;
            Ok(ExitCode::SUCCESS)
        }
        None => train_with_front_end(&cli.run),
    }
}

/// The config and the start of a new or resumed run, and for a resumed one the run's write
/// lock, to be held until the trainer ends (its records share it).
fn plan_run(
    args: &RunArgs,
    pause_on_divergence: bool,
) -> Result<(Config, RunSetup, Option<RunLock>)> {
    if let Some(threshold) = args.fail_under.filter(|t| !(0.0..=1.0).contains(t)) {
        return Err(ConfigError::Invalid {
            field: "fail_under",
            value: threshold.to_string(),
            origin: "command-line flag --fail-under".into(),
            rule: "it is a fraction between 0 and 1, e.g. 0.94 for 94%",
        }
        .into());
    }
    let (config, start, lock) = match &args.resume {
        Some(dir) => {
            let run = RunDir::new(dir);
            if !run.path().is_dir() || run.path().join(checkpoint::META_FILE).is_file() {
                return Err(CheckpointError::NoneFound { run: dir.clone() }.into());
            }
            // Nothing is written into a folder that holds no run of ours, and a second writer
            // is refused before anything is read.
            if !run.is_run() {
                return Err(CheckpointError::NotARun { run: dir.clone() }.into());
            }
            if let WriterState::Running { pid } = writer_state(&run) {
                return Err(LockError::Held {
                    run: dir.clone(),
                    pid,
                }
                .into());
            }
            // The newest checkpoint that loads and verifies (the trainer notes the ones passed
            // over), then the lock: a resume that cannot go on leaves the folder as it was.
            let point = checkpoint::choose_for_resume(&run)?;
            let lock = RunLock::acquire(&run)?;
            let config = resolve_resumed_config(point.meta.config, args, &point.checkpoint)?;
            let start = RunStart::Resume {
                run,
                checkpoint: point.checkpoint,
            };
            (config, start, Some(lock))
        }
        None => {
            let config = resolve_config(args)?;
            let run = match &args.run_dir {
                Some(dir) => RunDir::new(dir),
                None => RunDir::timestamped(&config.run.dir),
            };
            // Refused before the data is read; the trainer checks again as it creates it.
            check_new_run_folder(&run)?;
            (config, RunStart::Fresh(run), None)
        }
    };
    let setup = RunSetup {
        start,
        pause_on_divergence,
    };
    Ok((config, setup, lock))
}

/// Opens the dashboard on a run another process writes (or wrote), or prints its records as
/// `--headless --json` would (`json`).
fn watch(run: &Path, compare: &[PathBuf], json: bool, args: &RunArgs) -> Result<ExitCode> {
    if SweepBoard::is_sweep(run) {
        watch_sweep::run(run, args.data_dir.clone(), json)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(why) = why_no_dashboard().filter(|_| !json) {
        anyhow::bail!(
            "digitdash watch draws the dashboard and needs a terminal that can show it ({why}); \
             pass --json for the run's records as lines, or use `digitdash runs --json` for a \
             table of runs"
        );
    }
    let history = RunHistory::open(RunDir::new(run), Detail::Full)
        .with_context(|| format!("cannot watch {}", run.display()))?;
    if !history.run().holds_run() {
        anyhow::bail!(
            "{} holds no run records (metrics.csv): pass the folder of a run, runs/NAME",
            run.display()
        );
    }
    let config = history.config().cloned().unwrap_or_default();
    let signal = signals::install().context("cannot install the signal handlers")?;
    let options = ReplayOptions {
        inspect: !json,
        data_dir: args.data_dir.clone(),
    };
    let replay =
        Replay::spawn(history, options).context("cannot start the thread that reads the run")?;
    if json {
        let options = HeadlessOptions {
            json: true,
            log_every: config.log.log_every,
            fail_under: None,
        };
        return Ok(exit_code(&headless::report(replay, options, signal)));
    }
    let reason = "watching a run another process trains: the controls belong to that process";
    let mut app = App::watching(&config, reason);
    add_comparisons(&mut app, compare)?;
    // A trial of a sweep: page 5 lists the sweep's trials beside it.
    if let Some(sweep) = run.parent().filter(|dir| SweepBoard::is_sweep(dir)) {
        app.follow_sweep(sweep.to_path_buf(), Some(run.to_path_buf()));
    }
    dashboard::run(replay, app, DashboardOptions::default(), signal)?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the runs given with `--compare` and overlays them on the dashboard's charts.
fn add_comparisons(app: &mut App, runs: &[PathBuf]) -> Result<()> {
    for run in runs {
        let history = RunHistory::open(RunDir::new(run), Detail::Full)
            .with_context(|| format!("cannot read --compare {}", run.display()))?;
        if !history.run().holds_run() {
            anyhow::bail!(
                "--compare {}: the folder holds no run records (metrics.csv); pass a run's \
                 folder, runs/NAME (digitdash runs lists them)",
                run.display()
            );
        }
        app.compare_with(ComparedRun::from_history(&history));
    }
    Ok(())
}

/// Trains with the dashboard, or with progress lines when asked (`--headless`, `--json`) or
/// when stdout cannot show the dashboard (a pipe, CI, `TERM=dumb`).
fn train_with_front_end(args: &RunArgs) -> Result<ExitCode> {
    if args.headless || args.json {
        return train_headless(args);
    }
    if let Some(why) = why_no_dashboard() {
        note(format!(
            "{why}, so training runs headless (pass --headless to skip this notice)"
        ));
        return train_headless(args);
    }
    train_dashboard(args)
}

/// Trains under the terminal dashboard.
fn train_dashboard(args: &RunArgs) -> Result<ExitCode> {
    let (config, setup, _lock) = plan_run(args, true)?;
    let signal = signals::install().context("cannot install the signal handlers")?;
    let mut app = App::new(&config);
    add_comparisons(&mut app, &args.compare)?;
    let options = DashboardOptions {
        fail_under: args.fail_under,
    };
    let handle = train::spawn(config, setup).context("cannot start the trainer thread")?;
    Ok(exit_code(&dashboard::run(handle, app, options, signal)?))
}

fn train_headless(args: &RunArgs) -> Result<ExitCode> {
    let (config, setup, _lock) = plan_run(args, false)?;
    let signal = signals::install().context("cannot install the signal handlers")?;
    let options = HeadlessOptions {
        json: args.json,
        log_every: config.log.log_every,
        fail_under: args.fail_under,
    };
    let handle = train::spawn(config, setup).context("cannot start the trainer thread")?;
    Ok(exit_code(&headless::report(handle, options, signal)))
}

/// The process's exit status for `outcome`, after the line that explains it, if any.
fn exit_code(outcome: &Outcome) -> ExitCode {
    if let Some(line) = outcome.closing_note() {
        note(line);
    }
    ExitCode::from(outcome.exit_status())
}
