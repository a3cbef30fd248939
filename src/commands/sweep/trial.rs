//! One stretch of a trial's training: the trial's run folder started, or continued from its
//! newest checkpoint, and trained to the job's step, on the job's share of the cores.

use std::sync::Arc;

use super::stop::SweepStop;
use crate::config::Config;
use crate::output::note;
use crate::run::checkpoint::choose_for_resume;
use crate::run::dir::FolderContents;
use crate::run::metrics::Detail;
use crate::run::record::EvalSplit;
use crate::run::{RunDir, RunHistory, RunLock};
use crate::signals::Signal;
use crate::source::{drive, Driver};
use crate::sweep::apply::apply_settings;
use crate::sweep::planner::{Job, JobEnd};
use crate::sweep::SweepDir;
use crate::train::{self, Event, Outcome, RunSetup, RunStart, TrialLimits};

/// What a trial's training needs besides its job.
#[derive(Clone)]
pub struct TrialContext {
    /// The sweep's folder.
    pub sweep: SweepDir,
    /// The settings every trial starts from.
    pub base: Config,
    /// Threads of each trial's pool (`None`: the process's pool).
    pub threads: Option<usize>,
    /// A termination signal or a quit: stops the trial after its current step, resumable.
    pub stop: Arc<SweepStop>,
}

/// How a job's training went.
#[derive(Debug, Clone, PartialEq)]
pub enum Ran {
    /// It ended: reached its step, or failed.
    Ended(JobEnd),
    /// A signal stopped it before its step; its folder goes on from its newest checkpoint.
    Interrupted,
}

/// Trains `job`: its trial's folder from scratch when it holds no checkpoint, else from its
/// newest checkpoint, to the job's step.
pub fn run_job(context: &TrialContext, job: &Job) -> Ran {
    let config = match trial_config(&context.base, job) {
        Ok(config) => config,
        Err(message) => return Ran::Ended(JobEnd::Failed { message }),
    };
    let run = context.sweep.trial(job.trial);
    let (start, _lock) = match start_of(&run) {
        Ok(start) => start,
        Err(message) => return Ran::Ended(JobEnd::Failed { message }),
    };
    let limits = TrialLimits {
        threads: context.threads,
        stop_at: (job.steps < job.full_steps).then_some(job.steps),
    };
    let setup = RunSetup {
        start,
        pause_on_divergence: false,
    };
    let handle = match train::spawn_with(config, setup, limits) {
        Ok(handle) => handle,
        Err(e) => {
            return Ran::Ended(JobEnd::Failed {
                message: format!("cannot start the trainer thread: {e}"),
            })
        }
    };
    let mut watch = TrialDriver {
        stop: &context.stop,
        last_validation: None,
    };
    let outcome = drive(handle, &mut watch, None);
    ending(&run, job, outcome, watch.last_validation, &context.stop)
}

/// The trial's config: the base, its settings, and its full budget as the steps.
fn trial_config(base: &Config, job: &Job) -> Result<Config, String> {
    let mut config = apply_settings(base, &job.settings)?;
    config.train.steps = job.full_steps;
    config
        .validate(&|_| "the trial's settings".to_string())
        .map_err(|e| e.to_string())?;
    Ok(config)
}

/// How the trial's folder begins: a new run, or its run going on from the newest checkpoint
/// (a folder with records but no usable checkpoint is cleared and begun again), with the
/// run's lock for a resume.
fn start_of(run: &RunDir) -> Result<(RunStart, Option<RunLock>), String> {
    match run
        .contents()
        .map_err(|e| format!("cannot read {}: {e}", run.path().display()))?
    {
        FolderContents::Missing | FolderContents::Empty => {
            return Ok((RunStart::Fresh(run.clone()), None))
        }
        FolderContents::Run => {}
        other => {
            return Err(format!(
                "{} holds files that are not a trial's run ({other:?}); move them away and \
                 resume the sweep",
                run.path().display()
            ))
        }
    }
    match choose_for_resume(run) {
        Ok(point) => {
            let lock = RunLock::acquire(run).map_err(|e| e.to_string())?;
            let start = RunStart::Resume {
                run: run.clone(),
                checkpoint: point.checkpoint,
            };
            Ok((start, Some(lock)))
        }
        Err(_) => {
            // Killed before its first checkpoint: nothing to go on from.
            let lock = RunLock::acquire(run).map_err(|e| e.to_string())?;
            drop(lock);
            note(format!(
                "{} holds no checkpoint to go on from: it starts again from step 0",
                run.path().display()
            ));
            std::fs::remove_dir_all(run.path())
                .map_err(|e| format!("cannot clear {}: {e}", run.path().display()))?;
            Ok((RunStart::Fresh(run.clone()), None))
        }
    }
}

/// The job's end as the trainer's outcome and the run's records tell it.
fn ending(
    run: &RunDir,
    job: &Job,
    outcome: Outcome,
    last_validation: Option<(u64, f64)>,
    stop: &SweepStop,
) -> Ran {
    let stopped = stop.asked();
    let summary = match (outcome, stopped) {
        (Outcome::Failed(message), false) => return Ran::Ended(JobEnd::Failed { message }),
        (other, _) => match other.summary() {
            // A stop that came after the last step leaves the job done.
            Some(summary) if !stopped || summary.steps >= job.steps => summary.clone(),
            _ if stopped => return Ran::Interrupted,
            _ => {
                return Ran::Ended(JobEnd::Failed {
                    message: "the trial ended before it reported how training went".into(),
                })
            }
        },
    };
    let best = RunHistory::open(run.clone(), Detail::Summary)
        .ok()
        .and_then(|h| h.best_accuracy());
    let validation = last_validation
        .filter(|(step, _)| *step == summary.steps)
        .map_or(f64::NAN, |(_, accuracy)| accuracy);
    Ran::Ended(JobEnd::Reached {
        steps: summary.steps,
        validation_accuracy: validation,
        best_validation_accuracy: best.unwrap_or(validation),
        test_accuracy: summary
            .best
            .map(|b| b.test_accuracy)
            .filter(|_| job.steps >= job.full_steps),
        seconds: summary.wall_seconds,
    })
}

/// Follows a trial's events: its validation evaluations, and a stop on a signal or a quit.
struct TrialDriver<'a> {
    stop: &'a SweepStop,
    /// The latest validation evaluation: its step and accuracy.
    last_validation: Option<(u64, f64)>,
}

impl Driver for TrialDriver<'_> {
    fn should_stop(&mut self) -> bool {
        self.stop.asked()
    }

    fn stop_cause(&self) -> Option<Signal> {
        self.stop.signal()
    }

    fn on_event(&mut self, event: Event) {
        if let Event::Evaluation(e) = event {
            if e.split == EvalSplit::Validation && e.checkpoint.is_none() {
                self.last_validation = Some((e.step, e.accuracy));
            }
        }
    }
}
