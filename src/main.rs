//! `digitdash`: train the Deep MNIST network; `digitdash --help` lists the options.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use digitdash::cli::{resolve_config, resolve_resumed_config, Cli, RunArgs, Subcommands};
use digitdash::commands::{bench, eval, predict};
use digitdash::config::{Config, ConfigError};
use digitdash::frontend::dashboard::{self, app::App, DashboardOptions};
use digitdash::frontend::headless::{self, HeadlessOptions};
use digitdash::output::note;
use digitdash::run::{checkpoint, CheckpointError, RunDir};
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
            if error.downcast_ref::<ConfigError>().is_some() {
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
        Some(Subcommands::Eval { checkpoint }) => {
            let config = resolve_config(&cli.run)?;
            eval::run(checkpoint, &config.data.dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Subcommands::Predict { checkpoint, images }) => {
            predict::run(checkpoint, images)?;
            Ok(ExitCode::SUCCESS)
        }
        None => train_with_front_end(&cli.run),
    }
}

/// The config and the start of a new or resumed run.
fn plan_run(args: &RunArgs, pause_on_divergence: bool) -> Result<(Config, RunSetup)> {
    if let Some(threshold) = args.fail_under.filter(|t| !(0.0..=1.0).contains(t)) {
        return Err(ConfigError::Invalid {
            field: "fail_under",
            value: threshold.to_string(),
            origin: "command-line flag --fail-under".into(),
            rule: "it is a fraction between 0 and 1, e.g. 0.94 for 94%",
        }
        .into());
    }
    let (config, start) = match &args.resume {
        Some(dir) => {
            let run = RunDir::new(dir);
            let checkpoint = run
                .latest_checkpoint()
                .ok_or_else(|| CheckpointError::NoneFound { run: dir.clone() })?;
            let meta = checkpoint::read_meta(&checkpoint.join(checkpoint::META_FILE))?;
            let config = resolve_resumed_config(meta.config, args)?;
            (config, RunStart::Resume { run, checkpoint })
        }
        None => {
            let config = resolve_config(args)?;
            let run = match &args.run_dir {
                Some(dir) => RunDir::new(dir),
                None => RunDir::timestamped(&config.run.dir),
            };
            (config, RunStart::Fresh(run))
        }
    };
    let setup = RunSetup {
        start,
        pause_on_divergence,
    };
    Ok((config, setup))
}

/// Trains with the dashboard, or with progress lines when asked (`--headless`, `--json`) or
/// when stdout is not a terminal (a pipe, CI).
fn train_with_front_end(args: &RunArgs) -> Result<ExitCode> {
    if args.headless || args.json {
        return train_headless(args);
    }
    if !std::io::stdout().is_terminal() {
        note("stdout is not a terminal, so training runs headless (pass --headless to skip this notice)");
        return train_headless(args);
    }
    train_dashboard(args)
}

/// Trains under the terminal dashboard.
fn train_dashboard(args: &RunArgs) -> Result<ExitCode> {
    let (config, setup) = plan_run(args, true)?;
    let signal = signals::install().context("cannot install the signal handlers")?;
    let app = App::new(&config);
    let options = DashboardOptions {
        fail_under: args.fail_under,
    };
    let handle = train::spawn(config, setup).context("cannot start the trainer thread")?;
    Ok(exit_code(&dashboard::run(handle, app, options, signal)?))
}

fn train_headless(args: &RunArgs) -> Result<ExitCode> {
    let (config, setup) = plan_run(args, false)?;
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
