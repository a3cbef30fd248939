//! `digitdash`: train the Deep MNIST network; `digitdash --help` lists the options.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use digitdash::cli::{resolve_config, Cli, RunArgs, Subcommands};
use digitdash::headless::{self, HeadlessOptions, Outcome};
use digitdash::{bench, signals, train};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
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
        None => train_headless(&cli.run),
    }
}

fn train_headless(args: &RunArgs) -> Result<ExitCode> {
    let config = resolve_config(args)?;
    let signal = signals::install().context("cannot install the signal handlers")?;
    let options = HeadlessOptions {
        json: args.json,
        log_every: config.log.log_every,
        fail_under: args.fail_under,
    };
    let handle = train::spawn(config).context("cannot start the trainer thread")?;
    Ok(exit_code(headless::report(handle, options, signal)))
}

fn exit_code(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Completed(_) => ExitCode::SUCCESS,
        Outcome::Interrupted { signal, .. } => ExitCode::from(128 + signal as u8),
        Outcome::BelowThreshold { summary, threshold } => {
            eprintln!(
                "error: final test accuracy {:.4} is below --fail-under {threshold}",
                summary.test_accuracy
            );
            ExitCode::from(3)
        }
        Outcome::Failed(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}
