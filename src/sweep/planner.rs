//! What a sweep does next: which trial to start or promote when a worker is free, and the
//! decisions that follow each trial's result. Pure state, no files and no threads: the local
//! sweep asks it and writes the records it returns, and a resume rebuilds it from those
//! records ([`Planner::replay`]).

use std::collections::VecDeque;

use super::asha::Asha;
use super::record::{
    Planned, Promotion, RungReached, StoppedEarly, SweepRecord, TrialFailed, TrialFinished,
    TrialStarted,
};
use super::sampler::{grid_trial, random_trial};
use super::spec::{Method, SweepSpec};
use super::tpe::TpeSampler;
use super::value::{ParamValue, Settings};
use crate::config::Config;

/// Where a trial stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Not started.
    Waiting,
    /// Training toward this rung.
    Running {
        /// The rung.
        rung: usize,
    },
    /// At a rung below the top, waiting for a promotion.
    AtRung {
        /// The rung.
        rung: usize,
        /// Its validation accuracy there.
        score: f64,
    },
    /// Left at its rung.
    StoppedEarly {
        /// The rung.
        rung: usize,
        /// Its validation accuracy there.
        score: f64,
    },
    /// Trained its full budget.
    Finished {
        /// Its best validation accuracy.
        score: f64,
    },
    /// Could not train.
    Failed,
}

/// A stretch of training for a worker: a trial trained to a rung's steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The trial's number.
    pub trial: usize,
    /// The rung it trains toward.
    pub rung: usize,
    /// Its settings.
    pub settings: Settings,
    /// The step to train to.
    pub steps: u64,
    /// Its full budget in steps (the schedule is laid over these).
    pub full_steps: u64,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEnd {
    /// It trained to its steps.
    Reached {
        /// Steps trained.
        steps: u64,
        /// Validation accuracy of the weights at the end.
        validation_accuracy: f64,
        /// The best validation accuracy so far.
        best_validation_accuracy: f64,
        /// The best checkpoint's test accuracy, at the full budget.
        test_accuracy: Option<f64>,
        /// Seconds this job took.
        seconds: f64,
    },
    /// It failed.
    Failed {
        /// Why.
        message: String,
    },
}

/// One trial's state.
#[derive(Debug, Clone, PartialEq)]
struct Trial {
    settings: Option<Settings>,
    phase: Phase,
    seconds: f64,
}

/// How settings are chosen.
enum Sampler {
    /// Fixed by the trial's number (grid, random).
    Fixed,
    /// From the results so far.
    Tpe(Box<TpeSampler>),
}

/// The state of a sweep's decisions.
pub struct Planner {
    spec: SweepSpec,
    base_batch: usize,
    train_images: usize,
    sampler: Sampler,
    asha: Asha,
    trials: Vec<Trial>,
    /// Trials started so far (the next new one is this number).
    started: usize,
    /// Jobs that were running when the sweep stopped: done first on a resume.
    interrupted: VecDeque<Job>,
}

impl Planner {
    /// A sweep of `spec` over `base` settings, on a dataset of `train_images` training
    /// images (the validation split held out).
    pub fn new(spec: &SweepSpec, base: &Config, train_images: usize) -> Self {
        let sampler = match spec.method {
            Method::Tpe => Sampler::Tpe(Box::new(TpeSampler::new(&spec.space, spec.file.seed))),
            Method::Grid | Method::Random => Sampler::Fixed,
        };
        let trial = Trial {
            settings: None,
            phase: Phase::Waiting,
            seconds: 0.0,
        };
        let mut planner = Self {
            asha: Asha::new(spec.asha.as_ref().map_or(2, |a| a.eta), spec.rung_count()),
            spec: spec.clone(),
            base_batch: base.train.batch_size,
            train_images,
            sampler,
            trials: vec![trial; spec.trials],
            started: 0,
            interrupted: VecDeque::new(),
        };
        for i in 0..spec.trials {
            planner.trials[i].settings = fixed_settings(spec, i);
        }
        planner
    }

    /// The planned records of a sweep whose settings are fixed ahead (grid, random); none
    /// for `tpe`.
    pub fn plan(&self) -> Vec<SweepRecord> {
        self.trials
            .iter()
            .enumerate()
            .filter_map(|(trial, t)| {
                let settings = t.settings.clone()?;
                Some(SweepRecord::Planned(Planned { trial, settings }))
            })
            .collect()
    }

    /// The batch size of a trial with `settings`.
    pub fn batch_of(&self, settings: &Settings) -> usize {
        match settings.get("batch_size") {
            Some(ParamValue::Int(b)) if *b > 0 => *b as usize,
            _ => self.base_batch,
        }
    }

    /// The job that trains trial `trial` with `settings` to rung `rung`.
    fn job(&self, trial: usize, rung: usize, settings: Settings) -> Job {
        let batch = self.batch_of(&settings);
        let last = self.spec.rung_count() - 1;
        Job {
            trial,
            rung,
            steps: self.spec.rung_steps(rung, batch, self.train_images),
            full_steps: self.spec.rung_steps(last, batch, self.train_images),
            settings,
        }
    }

    /// The next job for a free worker, with the record of the decision (none for a job
    /// resumed after an interruption): an interrupted job first, then a promotion, then a
    /// new trial. `None` when nothing can start now.
    pub fn next_job(&mut self) -> Option<(Job, Option<SweepRecord>)> {
        if let Some(job) = self.interrupted.pop_front() {
            return Some((job, None));
        }
        if let Some((trial, from)) = self.asha.promotable() {
            self.asha.promote(trial, from);
            let score = match self.trials[trial].phase {
                Phase::AtRung { score, .. } => score,
                _ => f64::NAN,
            };
            let settings = self.trials[trial].settings.clone().unwrap_or_default();
            let job = self.job(trial, from + 1, settings);
            self.trials[trial].phase = Phase::Running { rung: from + 1 };
            let record = SweepRecord::Promoted(Promotion {
                trial,
                from_rung: from,
                to_rung: from + 1,
                validation_accuracy: score,
                steps: job.steps,
            });
            return Some((job, Some(record)));
        }
        if self.started >= self.trials.len() {
            return None;
        }
        let trial = self.started;
        self.started += 1;
        let settings = match &mut self.sampler {
            Sampler::Tpe(tpe) => tpe.ask(trial),
            Sampler::Fixed => self.trials[trial].settings.clone().unwrap_or_default(),
        };
        self.trials[trial].settings = Some(settings.clone());
        self.trials[trial].phase = Phase::Running { rung: 0 };
        let job = self.job(trial, 0, settings.clone());
        let record = SweepRecord::Started(TrialStarted {
            trial,
            settings,
            rung: 0,
            steps: job.steps,
            full_steps: job.full_steps,
        });
        Some((job, Some(record)))
    }

    /// The job that trains trial `trial` to its full budget, as a cluster's task does, with
    /// its start record when it has not started before; `None` when it has ended.
    pub fn start(&mut self, trial: usize) -> Option<(Job, Option<SweepRecord>)> {
        let state = self.trials.get(trial)?;
        let settings = state.settings.clone()?;
        let rung = self.spec.rung_count() - 1;
        match state.phase {
            Phase::Waiting => {
                let job = self.job(trial, rung, settings.clone());
                self.trials[trial].phase = Phase::Running { rung };
                let record = SweepRecord::Started(TrialStarted {
                    trial,
                    settings,
                    rung,
                    steps: job.steps,
                    full_steps: job.full_steps,
                });
                Some((job, Some(record)))
            }
            Phase::Running { rung } => Some((self.job(trial, rung, settings), None)),
            _ => None,
        }
    }

    /// Takes the end of `job` and returns the decisions it leads to.
    pub fn end_job(&mut self, job: &Job, end: JobEnd) -> Vec<SweepRecord> {
        let trial = job.trial;
        let batch = self.batch_of(&job.settings) as u64;
        let last = self.spec.rung_count() - 1;
        let record = match end {
            JobEnd::Failed { message } => {
                self.trials[trial].phase = Phase::Failed;
                self.tell(trial, 0.0);
                SweepRecord::Failed(TrialFailed {
                    trial,
                    rung: job.rung,
                    message,
                })
            }
            JobEnd::Reached {
                steps,
                validation_accuracy,
                best_validation_accuracy,
                test_accuracy,
                seconds,
            } => {
                self.trials[trial].seconds += seconds;
                let seconds = self.trials[trial].seconds;
                if job.rung >= last {
                    self.trials[trial].phase = Phase::Finished {
                        score: best_validation_accuracy,
                    };
                    self.tell(trial, best_validation_accuracy);
                    SweepRecord::Finished(TrialFinished {
                        trial,
                        steps,
                        images: steps * batch,
                        validation_accuracy,
                        best_validation_accuracy,
                        test_accuracy,
                        seconds,
                    })
                } else {
                    self.asha.record(trial, job.rung, validation_accuracy);
                    self.trials[trial].phase = Phase::AtRung {
                        rung: job.rung,
                        score: validation_accuracy,
                    };
                    SweepRecord::Reached(RungReached {
                        trial,
                        rung: job.rung,
                        steps,
                        images: steps * batch,
                        validation_accuracy,
                        seconds,
                    })
                }
            }
        };
        vec![record]
    }

    /// Stops early every trial waiting at a rung that no result can reach any more (no trial
    /// is training toward it or below, none can be promoted into it, no new trial is left)
    /// and that is not in its top 1/eta.
    pub fn settle(&mut self) -> Vec<SweepRecord> {
        let mut open = usize::MAX;
        if self.started < self.trials.len() || !self.interrupted.is_empty() {
            open = 0;
        }
        for t in &self.trials {
            if let Phase::Running { rung } = t.phase {
                open = open.min(rung);
            }
        }
        if let Some((_, from)) = self.asha.promotable() {
            open = open.min(from + 1);
        }
        let mut records = Vec::new();
        for trial in 0..self.trials.len() {
            let Phase::AtRung { rung, score } = self.trials[trial].phase else {
                continue;
            };
            if rung >= open || self.asha.top(rung).contains(&trial) {
                continue;
            }
            self.trials[trial].phase = Phase::StoppedEarly { rung, score };
            self.tell(trial, score);
            let batch = self.batch_of(
                self.trials[trial]
                    .settings
                    .as_ref()
                    .unwrap_or(&Settings::new()),
            );
            let steps = self.spec.rung_steps(rung, batch, self.train_images);
            records.push(SweepRecord::StoppedEarly(StoppedEarly {
                trial,
                rung,
                validation_accuracy: score,
                steps,
                images: steps * batch as u64,
            }));
        }
        records
    }

    /// Whether every trial has ended: nothing runs, waits or is left to start.
    pub fn is_done(&self) -> bool {
        self.started >= self.trials.len()
            && self.interrupted.is_empty()
            && self.trials.iter().all(|t| {
                matches!(
                    t.phase,
                    Phase::StoppedEarly { .. } | Phase::Finished { .. } | Phase::Failed
                )
            })
    }

    /// Each trial's phase, by number.
    pub fn phases(&self) -> Vec<Phase> {
        self.trials.iter().map(|t| t.phase.clone()).collect()
    }

    /// Tells the `tpe` sampler how a trial ended.
    fn tell(&mut self, trial: usize, score: f64) {
        if let (Sampler::Tpe(tpe), Some(settings)) =
            (&mut self.sampler, &self.trials[trial].settings)
        {
            tpe.tell(settings, score);
        }
    }

    /// The planner of a sweep that recorded `records` so far: every decision taken again, and
    /// the trials that were training when it stopped queued to go on from where they are.
    pub fn replay(
        spec: &SweepSpec,
        base: &Config,
        train_images: usize,
        records: &[SweepRecord],
    ) -> Self {
        let mut planner = Self::new(spec, base, train_images);
        for record in records {
            let trial = record.trial();
            if trial >= planner.trials.len() {
                continue;
            }
            match record {
                SweepRecord::Planned(p) => {
                    planner.trials[trial].settings = Some(p.settings.clone())
                }
                SweepRecord::Started(s) => {
                    planner.trials[trial].settings = Some(s.settings.clone());
                    planner.trials[trial].phase = Phase::Running { rung: s.rung };
                    planner.started = planner.started.max(trial + 1);
                }
                SweepRecord::Reached(r) => {
                    planner.asha.record(trial, r.rung, r.validation_accuracy);
                    planner.trials[trial].seconds = r.seconds;
                    planner.trials[trial].phase = Phase::AtRung {
                        rung: r.rung,
                        score: r.validation_accuracy,
                    };
                }
                SweepRecord::Promoted(p) => {
                    planner.asha.promote(trial, p.from_rung);
                    planner.trials[trial].phase = Phase::Running { rung: p.to_rung };
                }
                SweepRecord::StoppedEarly(s) => {
                    planner.trials[trial].phase = Phase::StoppedEarly {
                        rung: s.rung,
                        score: s.validation_accuracy,
                    };
                    planner.tell(trial, s.validation_accuracy);
                }
                SweepRecord::Finished(f) => {
                    planner.trials[trial].phase = Phase::Finished {
                        score: f.best_validation_accuracy,
                    };
                    planner.tell(trial, f.best_validation_accuracy);
                }
                SweepRecord::Failed(_) => {
                    planner.trials[trial].phase = Phase::Failed;
                    planner.tell(trial, 0.0);
                }
            }
        }
        for trial in 0..planner.trials.len() {
            if let Phase::Running { rung } = planner.trials[trial].phase {
                let settings = planner.trials[trial].settings.clone().unwrap_or_default();
                let job = planner.job(trial, rung, settings);
                planner.interrupted.push_back(job);
            }
        }
        planner
    }
}

/// The settings of trial `index` when they are fixed ahead (grid, random).
pub fn fixed_settings(spec: &SweepSpec, index: usize) -> Option<Settings> {
    match spec.method {
        Method::Grid => grid_trial(&spec.space, index),
        Method::Random => Some(random_trial(&spec.space, spec.file.seed, index)),
        Method::Tpe => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sweep::spec::SweepFile;

    fn spec(text: &str) -> (SweepSpec, Config) {
        let mut base = Config::default();
        base.data.validation = Some(50);
        let file = SweepFile::from_toml(text, Path::new("s.toml")).unwrap();
        (
            SweepSpec::new(file, Path::new("s.toml"), &base).unwrap(),
            base,
        )
    }

    const ASHA: &str = "method = \"random\"\ntrials = 9\n[budget]\nsteps = 90\n\
                        [asha]\nreduction_factor = 3\nmin_budget = 10\n\
                        [space]\nlearning_rate = { log_uniform = [1e-4, 1e-2] }\n";

    fn reached(job: &Job, score: f64) -> JobEnd {
        JobEnd::Reached {
            steps: job.steps,
            validation_accuracy: score,
            best_validation_accuracy: score,
            test_accuracy: None,
            seconds: 1.0,
        }
    }

    #[test]
    fn asha_promotes_the_top_third_of_each_rung_on_scripted_scores() {
        let (spec, base) = spec(ASHA);
        let mut planner = Planner::new(&spec, &base, 200);
        // Nine workers' worth of starts: every trial runs rung 0 before any result is in.
        let jobs: Vec<Job> = (0..9).map(|_| planner.next_job().unwrap().0).collect();
        assert!(jobs.iter().all(|j| j.rung == 0 && j.steps == 10));
        assert!(planner.next_job().is_none());
        let scores = [0.50, 0.91, 0.70, 0.95, 0.60, 0.88, 0.93, 0.40, 0.80];
        for job in &jobs {
            planner.end_job(job, reached(job, scores[job.trial]));
        }
        let mut records = planner.settle();
        let mut promoted = Vec::new();
        while let Some((job, record)) = planner.next_job() {
            assert!(matches!(record, Some(SweepRecord::Promoted(_))));
            promoted.push(job);
        }
        let trials: Vec<usize> = promoted.iter().map(|j| j.trial).collect();
        assert_eq!(trials, [3, 6, 1], "the top third of rung 0");
        assert!(promoted.iter().all(|j| j.rung == 1 && j.steps == 30));
        records.extend(planner.settle());
        let stopped: Vec<usize> = records
            .iter()
            .filter(|r| matches!(r, SweepRecord::StoppedEarly(_)))
            .map(SweepRecord::trial)
            .collect();
        assert_eq!(
            stopped,
            [0, 2, 4, 5, 7, 8],
            "the rest, once rung 0 is closed"
        );
        for (job, score) in promoted.iter().zip([0.97, 0.98, 0.96]) {
            planner.end_job(job, reached(job, score));
        }
        let (top, _) = planner.next_job().unwrap();
        assert_eq!((top.trial, top.rung, top.steps), (6, 2, 90));
        let done = planner.end_job(&top, reached(&top, 0.99));
        assert!(matches!(done[0], SweepRecord::Finished(_)));
        assert_eq!(planner.settle().len(), 2, "trials 3 and 1 stop at rung 1");
        assert!(planner.is_done());
    }

    #[test]
    fn a_replay_of_the_records_reruns_only_what_was_running() {
        let (spec, base) = spec(ASHA);
        let mut planner = Planner::new(&spec, &base, 200);
        let mut log = planner.plan();
        let mut jobs = Vec::new();
        for _ in 0..4 {
            let (job, record) = planner.next_job().unwrap();
            log.extend(record);
            jobs.push(job);
        }
        for job in &jobs[..3] {
            log.extend(planner.end_job(job, reached(job, 0.5 + job.trial as f64 / 10.0)));
        }
        // Trial 3 was training when the sweep was killed.
        let mut again = Planner::replay(&spec, &base, 200, &log);
        let (first, record) = again.next_job().unwrap();
        assert_eq!((first.trial, first.rung, record), (3, 0, None));
        let (next, record) = again.next_job().unwrap();
        assert!(
            matches!(record, Some(SweepRecord::Promoted(_))),
            "{record:?}"
        );
        assert_eq!(next.trial, 2, "the best of three goes on");
        let (new, record) = again.next_job().unwrap();
        assert!(matches!(record, Some(SweepRecord::Started(_))));
        assert_eq!(new.trial, 4, "no finished trial starts again");
        assert_eq!(new.settings, random_trial(&spec.space, spec.file.seed, 4));
    }
}
