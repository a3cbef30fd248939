//! A sweep on this machine: up to K trials side by side, each on its own thread with its
//! share of the cores, the planner deciding what starts next as each ends. Every decision is
//! written to the journal before it is printed; a termination signal stops the trials after
//! their current step (each keeps a checkpoint) and leaves the sweep to `--resume`.

use anyhow::{Context, Result};

use super::lines::decision_line;
use super::trial::{run_job, Ran, TrialContext};
use crate::output::{counted, note};
use crate::signals::Signal;
use crate::sweep::planner::{Job, Planner};
use crate::sweep::record::SweepRecord;
use crate::sweep::SweepDir;

/// How a local sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalEnd {
    /// Every trial ended.
    Done,
    /// A termination signal (named) or a quit of the dashboard (none) stopped it;
    /// `sweep --resume` goes on.
    Stopped(Option<Signal>),
}

/// Trains the sweep in `context.sweep` to its end (or a stop), `parallel` trials at a time;
/// hands the line of each decision to `out`.
pub fn run_local(
    context: &TrialContext,
    planner: &mut Planner,
    rungs: usize,
    parallel: usize,
    out: &mut dyn FnMut(String),
) -> Result<LocalEnd> {
    let (done_tx, done_rx) = flume::unbounded::<(Job, Ran)>();
    let mut running = 0usize;
    let record = |records: Vec<SweepRecord>, out: &mut dyn FnMut(String)| -> Result<()> {
        context.sweep.append(&records)?;
        for r in &records {
            if let Some(line) = decision_line(r, rungs) {
                out(line);
            }
        }
        Ok(())
    };
    loop {
        if !context.stop.asked() {
            while running < parallel {
                let Some((job, decision)) = planner.next_job() else {
                    break;
                };
                record(decision.into_iter().collect(), out)?;
                spawn_job(context.clone(), job, done_tx.clone())?;
                running += 1;
            }
            record(planner.settle(), out)?;
        }
        if running == 0 {
            break;
        }
        let Ok((job, ran)) = done_rx.recv() else {
            break;
        };
        running -= 1;
        match ran {
            Ran::Ended(end) => record(planner.end_job(&job, end), out)?,
            Ran::Interrupted => note(format!(
                "{} stopped at a checkpoint; it goes on with the sweep's resume",
                SweepDir::trial_name(job.trial)
            )),
        }
    }
    Ok(if context.stop.asked() {
        LocalEnd::Stopped(context.stop.signal())
    } else {
        LocalEnd::Done
    })
}

/// Trains `job` on a thread of its own and sends back how it went.
fn spawn_job(context: TrialContext, job: Job, done: flume::Sender<(Job, Ran)>) -> Result<()> {
    let name = SweepDir::trial_name(job.trial);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let ran = run_job(&context, &job);
            let _ = done.send((job, ran));
        })
        .context("cannot start a trial's thread")?;
    Ok(())
}

/// Trials side by side by default: one for every two cores, at least one.
pub fn default_parallel(cores: usize) -> usize {
    (cores / 2).max(1)
}

/// Memory one trial takes at most, with its data (a tutorial run peaks near 210 MB).
pub const TRIAL_MEMORY_BYTES: u64 = 400 << 20;

/// Memory the system has available, from `/proc/meminfo` (Linux); `None` elsewhere.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Trials side by side and the threads of each: `asked` (or the default) capped by the
/// trials, the cores (a core at least for each) and the memory available; the cores split
/// evenly between them.
pub fn lanes(
    asked: Option<usize>,
    cores: usize,
    trials: usize,
    memory: Option<u64>,
) -> (usize, usize) {
    let cores = cores.max(1);
    let mut parallel = asked.unwrap_or_else(|| default_parallel(cores)).max(1);
    if parallel > cores {
        note(format!(
            "--parallel {parallel} on {}: {} side by side, a core each, so that no core runs two \
             trials' threads",
            counted(cores as u64, "core"),
            cores
        ));
        parallel = cores;
    }
    parallel = parallel.min(trials.max(1));
    if let Some(memory) = memory {
        let fits = (memory / TRIAL_MEMORY_BYTES).max(1) as usize;
        if parallel > fits {
            note(format!(
                "only {fits} trials fit in the memory available ({} MB): running {fits} side \
                 by side instead of {parallel}",
                memory >> 20
            ));
            parallel = fits;
        }
    }
    (parallel, (cores / parallel).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cores_are_split_between_the_trials_never_multiplied() {
        assert_eq!(lanes(None, 2, 27, None), (1, 2));
        assert_eq!(lanes(None, 16, 27, None), (8, 2));
        assert_eq!(lanes(Some(4), 16, 27, None), (4, 4));
        assert_eq!(
            lanes(Some(3), 16, 2, None),
            (2, 8),
            "no more lanes than trials"
        );
        assert_eq!(lanes(Some(4), 2, 27, None), (2, 1), "a core each at most");
        assert_eq!(lanes(Some(8), 16, 27, Some(TRIAL_MEMORY_BYTES * 3)), (3, 5));
    }
}
