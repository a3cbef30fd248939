//! `digitdash sweep`: searches the training settings. A sweep file names the space, the
//! method and the budget ([`crate::sweep`]); this trains its trials, each an ordinary run
//! folder inside the sweep's, side by side on this machine ([`local`]), or fixes them for a
//! cluster ([`plan`]) whose tasks train one each (`sweep trial`); [`report`] reads a sweep
//! back.

pub mod lines;
pub mod local;
pub mod plan;
pub mod report;
pub mod stop;
pub mod trial;

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};

use crate::cli::{resolve_config, Emit, RunArgs, SweepArgs, SweepCommand};
use crate::config::{Config, Preset};
use crate::data::{self, DataError};
use crate::frontend::dashboard::terminal::why_no_dashboard;
use crate::output::{counted, note, StdoutLines};
use crate::run::{RunDir, RunLock};
use crate::signals::{self, Signal, Signals};
use crate::sweep::planner::{JobEnd, Planner};
use crate::sweep::value::settings_line;
use crate::sweep::{SweepBoard, SweepDir, SweepError, SweepFile, SweepSpec};
use lines::decision_line;
use local::{available_memory, lanes, run_local, LocalEnd};
use stop::SweepStop;
use trial::{run_job, Ran, TrialContext};

use super::watch_sweep;

/// Runs `digitdash sweep` as `args` ask; returns the exit status.
pub fn run(args: &SweepArgs, run_args: &RunArgs) -> Result<u8> {
    match &args.command {
        Some(SweepCommand::Report { dir, json }) => {
            report_command(dir, *json)?;
            Ok(0)
        }
        Some(SweepCommand::Plan {
            file,
            out,
            emit,
            trials,
            steps,
            cpus,
        }) => {
            let file_spec = SweepFile::load(file)?.with_overrides(*trials, *steps);
            plan_command(file, file_spec, out, *emit, *cpus, run_args)?;
            Ok(0)
        }
        Some(SweepCommand::Trial {
            dir,
            index,
            threads,
        }) => trial_command(dir, *index, *threads, run_args),
        None => match (&args.resume, &args.file) {
            (Some(dir), _) => resume(dir, args, run_args),
            (None, Some(file)) => start(file, args, run_args),
            (None, None) => bail!("give a sweep file (digitdash sweep SWEEP.toml) or --resume DIR"),
        },
    }
}

/// The settings a sweep's trials start from: the sweep file's `config` (relative to it; else
/// `--config` or ./config.toml as for training), its `preset` over that, `--data-dir` and
/// `--dataset`; the data folder made absolute, so trials run from any folder find it.
fn base_config(file: &SweepFile, path: &Path, run_args: &RunArgs) -> Result<Config> {
    let mut args = RunArgs {
        config: run_args.config.clone(),
        data_dir: run_args.data_dir.clone(),
        dataset: run_args.dataset,
        ..Default::default()
    };
    if let Some(config) = &file.config {
        let folder = path.parent().unwrap_or(Path::new("."));
        args.config = Some(folder.join(config));
    }
    if let Some(name) = &file.preset {
        use clap::ValueEnum;
        let preset = Preset::from_str(name, false).map_err(|_| {
            SweepError::key(
                path,
                "preset",
                format!("unknown preset \"{name}\": use tutorial, fast or best"),
            )
        })?;
        args.preset = Some(preset);
    }
    let mut config = resolve_config(&args)?;
    config.data.dir = std::path::absolute(&config.data.dir).unwrap_or(config.data.dir);
    Ok(config)
}

/// Training images a trial of `base` sees an epoch (its validation split held out); the data
/// is downloaded first when missing and allowed.
fn train_images(base: &Config) -> Result<usize> {
    let dir = base.data.fetch_missing()?;
    let total = data::training_images(&dir)?;
    let validation = base.data.validation();
    if validation >= total {
        return Err(DataError::ValidationTooLarge {
            dir,
            requested: validation,
            available: total,
        }
        .into());
    }
    Ok(total - validation)
}

/// Starts a new sweep from `path`.
fn start(path: &Path, args: &SweepArgs, run_args: &RunArgs) -> Result<u8> {
    let file = SweepFile::load(path)?.with_overrides(args.trials, args.steps);
    let base = base_config(&file, path, run_args)?;
    let spec = SweepSpec::new(file, path, &base)?;
    let images = train_images(&base)?;
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => {
            let stamp = RunDir::timestamped(&base.run.dir);
            let name = stamp
                .path()
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            base.run.dir.join(format!("sweep-{name}"))
        }
    };
    let sweep = SweepDir::new(dir);
    sweep.create(&spec.file, &base)?;
    let lock = RunLock::acquire(&sweep.as_run())?;
    let planner = Planner::new(&spec, &base, images);
    sweep.append(&planner.plan())?;
    let how = LocalRun::asked(args, run_args);
    train(sweep, &spec, base, planner, how, lock)
}

/// Goes on with the sweep in `dir`.
fn resume(dir: &Path, args: &SweepArgs, run_args: &RunArgs) -> Result<u8> {
    let sweep = SweepDir::new(dir);
    let (file, mut base) = sweep.load()?;
    if let Some(data_dir) = &run_args.data_dir {
        base.data.dir = data_dir.clone();
    }
    let spec = SweepSpec::new(file, &sweep.sweep_file(), &base)?;
    let lock = RunLock::acquire(&sweep.as_run())
        .with_context(|| format!("cannot resume the sweep in {}", dir.display()))?;
    let images = train_images(&base)?;
    let planner = Planner::replay(&spec, &base, images, &sweep.records()?);
    if planner.is_done() {
        note("every trial of this sweep has ended: nothing to resume");
        finish(&sweep, &mut StdoutLines::default())?;
        return Ok(0);
    }
    let how = LocalRun::asked(args, run_args);
    train(sweep, &spec, base, planner, how, lock)
}

/// How a local sweep is shown while it trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presentation {
    /// A line per trial decision on stdout, and the final table.
    Lines,
    /// The dashboard on its Sweep page; the final table once it closes.
    Dashboard,
}

/// How a sweep trains on this machine.
#[derive(Debug, Clone, Copy)]
struct LocalRun {
    /// `--parallel`.
    parallel: Option<usize>,
    presentation: Presentation,
}

impl LocalRun {
    /// As the command line asks: the dashboard when a terminal can show it and `--headless`
    /// was not given.
    fn asked(args: &SweepArgs, run_args: &RunArgs) -> Self {
        let headless = args.headless || run_args.headless;
        let presentation = if headless || why_no_dashboard().is_some() {
            Presentation::Lines
        } else {
            Presentation::Dashboard
        };
        Self {
            parallel: args.parallel,
            presentation,
        }
    }
}

/// Trains the sweep to its end on this machine and prints its table; a signal (or quitting
/// its dashboard) stops it, resumable.
fn train(
    sweep: SweepDir,
    spec: &SweepSpec,
    base: Config,
    mut planner: Planner,
    how: LocalRun,
    _lock: RunLock,
) -> Result<u8> {
    let signals = signals::install().context("cannot install the signal handlers")?;
    let stop = SweepStop::new(Arc::clone(&signals));
    let cores = rayon::current_num_threads();
    let (parallel, threads) = lanes(how.parallel, cores, spec.trials, available_memory());
    let keys: Vec<&str> = spec.space.params.iter().map(|p| p.key.as_str()).collect();
    note(format!(
        "sweep {}: {} over {}, {} trials of {} {}{}; {parallel} side by side, {} each ({})",
        sweep.path().display(),
        spec.method.name(),
        keys.join(", "),
        spec.trials,
        spec.budget.amount(),
        spec.budget.unit(),
        spec.asha.as_ref().map_or(String::new(), |a| format!(
            ", ASHA eta {} over {} rungs",
            a.eta,
            a.rungs.len()
        )),
        counted(threads as u64, "thread"),
        counted(cores as u64, "core"),
    ));
    note_short_asha(spec);
    let context = TrialContext {
        sweep: sweep.clone(),
        base,
        threads: Some(threads),
        stop: Arc::clone(&stop),
    };
    let rungs = spec.rung_count();
    let mut out = StdoutLines::default();
    let end = match how.presentation {
        Presentation::Lines => {
            note(format!(
                "follow it on the dashboard's Sweep page with `digitdash watch {}` in another \
                 terminal",
                sweep.path().display()
            ));
            let mut print = |line: String| out.line(line);
            run_local(&context, &mut planner, rungs, parallel, &mut print)?
        }
        Presentation::Dashboard => {
            let trials = std::thread::Builder::new()
                .name("sweep".into())
                .spawn(move || {
                    // The journal holds every decision; the Sweep page shows them.
                    let mut quiet = |_line: String| {};
                    run_local(&context, &mut planner, rungs, parallel, &mut quiet)
                })
                .context("cannot start the sweep's thread")?;
            let shown = watch_sweep::live(sweep.path(), signals);
            if !trials.is_finished() {
                stop.quit();
                note(
                    "stopping the sweep: each running trial stops after its current step and \
                     keeps a checkpoint",
                );
            }
            let end = trials.join().map_err(|_| {
                anyhow!(
                    "the thread that ran the sweep's trials panicked (its message is \
                         above); the trials keep their checkpoints: `digitdash sweep --resume \
                         {}` goes on",
                    sweep.path().display()
                )
            })?;
            shown?;
            end?
        }
    };
    match end {
        LocalEnd::Done => {
            out.line("");
            finish(&sweep, &mut out)?;
            Ok(0)
        }
        LocalEnd::Stopped(signal) => {
            let why = signal.map_or("quitting its dashboard".to_string(), |s| {
                format!("signal {s}")
            });
            note(format!(
                "sweep stopped by {why}; go on with `digitdash sweep --resume {}`",
                sweep.path().display()
            ));
            Ok(signal.map_or(0, Signal::exit_status))
        }
    }
}

/// Notes when an ASHA sweep has too few trials for any to reach the full budget.
fn note_short_asha(spec: &SweepSpec) {
    if let Some(asha) = &spec.asha {
        let climbs = u32::try_from(asha.rungs.len().saturating_sub(1)).unwrap_or(u32::MAX);
        let needed = (asha.eta as usize).saturating_pow(climbs);
        if spec.trials < needed {
            note(format!(
                "with {} trials no trial reaches the full budget: each rung promotes the top 1 \
                 in {} of its trials, so {} rungs need at least {needed} trials",
                spec.trials,
                asha.eta,
                asha.rungs.len()
            ));
        }
    }
}

/// Prints the ended sweep's leaderboard and writes it to its `leaderboard.txt`.
fn finish(sweep: &SweepDir, out: &mut StdoutLines) -> Result<()> {
    for line in &write_leaderboard(sweep)? {
        out.line(line);
    }
    Ok(())
}

/// Writes the ended sweep's leaderboard to its `leaderboard.txt`; returns its lines.
fn write_leaderboard(sweep: &SweepDir) -> Result<Vec<String>> {
    let lines = report::leaderboard(&SweepBoard::read(sweep.path())?);
    sweep.write_leaderboard(&lines)?;
    note(format!(
        "leaderboard written to {}",
        sweep.leaderboard_file().display()
    ));
    Ok(lines)
}

/// `sweep report DIR`.
fn report_command(dir: &Path, json: bool) -> Result<()> {
    let board = SweepBoard::read(dir)
        .with_context(|| format!("cannot read the sweep {}", dir.display()))?;
    let mut out = StdoutLines::default();
    if json {
        out.line(serde_json::to_string_pretty(&report::json(&board))?);
    } else {
        report::print(&board, &mut out);
    }
    Ok(())
}

/// `sweep plan SWEEP.toml --out DIR --emit ...`.
fn plan_command(
    path: &Path,
    file: SweepFile,
    out: &Path,
    emit: Emit,
    cpus: usize,
    run_args: &RunArgs,
) -> Result<()> {
    let base = base_config(&file, path, run_args)?;
    let spec = SweepSpec::new(file, path, &base)?;
    plan::check_plannable(&spec, path)?;
    let dir = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    let sweep = SweepDir::new(&dir);
    sweep.create(&spec.file, &base)?;
    sweep.append(&Planner::new(&spec, &base, 1).plan())?;
    let binary = std::env::current_exe().context("cannot tell where this program is")?;
    let written = match emit {
        Emit::Slurm => plan::emit(
            &sweep,
            &plan::slurm_script(&binary, &dir, spec.trials, cpus),
            plan::SLURM_FILE,
        )?,
        Emit::Commands => plan::emit(
            &sweep,
            &plan::commands(&binary, &dir, spec.trials),
            plan::COMMANDS_FILE,
        )?,
    };
    let how = match emit {
        Emit::Slurm => format!("submit it with `sbatch {}`", written.display()),
        Emit::Commands => format!(
            "run them with `parallel -j 4 < {0}` or `xargs -P 4 -I CMD sh -c CMD < {0}`",
            written.display()
        ),
    };
    note(format!(
        "planned {} trials in {}; wrote {}: {how}. The folder must be on a file system every \
         node mounts. Follow with `digitdash watch {}` (the dashboard's Sweep page) or \
         `digitdash sweep report {}`.",
        spec.trials,
        dir.display(),
        written.display(),
        dir.display(),
        dir.display()
    ));
    Ok(())
}

/// `sweep trial DIR [N]`: trains one planned trial to its full budget.
fn trial_command(
    dir: &Path,
    index: Option<usize>,
    threads: Option<usize>,
    run_args: &RunArgs,
) -> Result<u8> {
    let index = match index {
        Some(index) => index,
        None => plan::index_from_environment()?,
    };
    let sweep = SweepDir::new(dir);
    let (file, mut base) = sweep.load()?;
    if let Some(data_dir) = &run_args.data_dir {
        base.data.dir = data_dir.clone();
    }
    let spec = SweepSpec::new(file, &sweep.sweep_file(), &base)?;
    plan::check_plannable(&spec, &sweep.sweep_file())?;
    if index >= spec.trials {
        return Err(SweepError::NoSuchTrial {
            dir: dir.to_path_buf(),
            trial: index,
            last: spec.trials.saturating_sub(1),
        }
        .into());
    }
    let images = train_images(&base)?;
    let mut planner = Planner::replay(&spec, &base, images, &sweep.records()?);
    let Some((job, record)) = planner.start(index) else {
        note(format!(
            "{} has ended already; it is not trained again (digitdash sweep report {})",
            SweepDir::trial_name(index),
            dir.display()
        ));
        return Ok(0);
    };
    let mut out = StdoutLines::default();
    let rungs = spec.rung_count();
    let record_all = |records: Vec<_>, out: &mut StdoutLines| -> Result<()> {
        sweep.append(&records)?;
        for r in &records {
            if let Some(line) = decision_line(r, rungs) {
                out.line(line);
            }
        }
        Ok(())
    };
    match record {
        Some(record) => record_all(vec![record], &mut out)?,
        None => note(format!(
            "{} goes on from its newest checkpoint: {}",
            SweepDir::trial_name(index),
            settings_line(&job.settings)
        )),
    }
    let signals: Arc<Signals> = signals::install().context("cannot install the signal handlers")?;
    let context = TrialContext {
        sweep: sweep.clone(),
        base,
        threads,
        stop: SweepStop::new(signals),
    };
    match run_job(&context, &job) {
        Ran::Ended(end) => {
            let failed = matches!(end, JobEnd::Failed { .. });
            record_all(planner.end_job(&job, end), &mut out)?;
            // The task that ends the last trial writes the leaderboard, as a local sweep does.
            if Planner::replay(&spec, &context.base, images, &sweep.records()?).is_done() {
                write_leaderboard(&sweep)?;
            }
            Ok(u8::from(failed))
        }
        Ran::Interrupted => {
            note(format!(
                "{} stopped at a checkpoint; run the same command again to go on",
                SweepDir::trial_name(index)
            ));
            Ok(context.stop.signal().map_or(1, Signal::exit_status))
        }
    }
}
