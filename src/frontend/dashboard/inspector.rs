//! The inspector thread: holds the newest copy of the weights the trainer shared and answers
//! the dashboard's questions about them (a digit's probabilities and feature maps, an
//! occlusion map, a drawing's class), off the UI thread and off the training threads.
//!
//! It runs its arithmetic in a one-thread rayon pool of its own, so its small forward passes
//! neither wait behind the trainer's work nor split the trainer's threads. When new weights
//! arrive it redoes the latest job of each kind, so the views follow training.
//!
//! A drawing is also scored by the best checkpoint of each run overlaid on the charts: each
//! is loaded here the first time a drawing job names its run, and kept.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use dfdx::prelude::*;
use flume::{Receiver, Sender};

use super::app::{ComparedPrediction, DigitInsight, DrawingInsight, Filters, Insight, InspectJob};
use crate::model::score::{argmax, classify};
use crate::model::{probe, Network};
use crate::run::{checkpoint, CheckpointKind, RunDir};

/// A message to the inspector thread.
#[derive(Debug)]
enum Request {
    /// New weights, from the step in the first field.
    Weights(u64, Arc<Network>),
    /// A question about the weights.
    Job(InspectJob),
}

/// The UI's end of the inspector thread.
pub struct Inspector {
    requests: Sender<Request>,
    /// The answers, in the order they were computed.
    pub insights: Receiver<Insight>,
}

impl Inspector {
    /// Starts the thread named `inspector`; it ends when this handle is dropped. It and its
    /// pool take the calling thread's priority (the dashboard's, below training).
    pub fn spawn() -> io::Result<Self> {
        let (requests, inbox) = flume::unbounded();
        let (outbox, insights) = flume::unbounded();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "inspector-pool".into())
            .build()
            .map_err(io::Error::other)?;
        thread::Builder::new()
            .name("inspector".into())
            .spawn(move || pool.install(|| serve(&inbox, &outbox)))?;
        Ok(Self { requests, insights })
    }

    /// Hands over new weights.
    pub fn weights(&self, step: u64, model: Arc<Network>) {
        let _ = self.requests.send(Request::Weights(step, model));
    }

    /// Asks a question about the weights.
    pub fn ask(&self, job: InspectJob) {
        let _ = self.requests.send(Request::Job(job));
    }
}

/// The newest weights, the latest job of each kind, and the overlaid runs' models.
#[derive(Default)]
struct Desk {
    weights: Option<(u64, Arc<Network>)>,
    digit: Option<InspectJob>,
    drawing: Option<InspectJob>,
    runs: RunModels,
}

/// The best checkpoint of each overlaid run, loaded once (or why it could not be).
#[derive(Default)]
pub struct RunModels {
    loaded: HashMap<PathBuf, Result<Arc<Network>, String>>,
}

impl RunModels {
    /// The model of the run in `folder`: its best checkpoint, else its newest; loaded the
    /// first time it is asked for.
    pub fn model(&mut self, folder: &Path, device: &Cpu) -> Result<Arc<Network>, String> {
        self.loaded
            .entry(folder.to_path_buf())
            .or_insert_with(|| load_best(folder, device))
            .clone()
    }
}

/// Loads the best checkpoint of the run in `folder`, else its newest.
fn load_best(folder: &Path, device: &Cpu) -> Result<Arc<Network>, String> {
    let run = RunDir::new(folder);
    let found = run
        .checkpoints(CheckpointKind::Best)
        .pop()
        .or_else(|| run.checkpoints(CheckpointKind::Periodic).pop())
        .ok_or_else(|| "no checkpoint yet".to_string())?;
    let (model, _) = checkpoint::load(&found, device).map_err(|e| e.to_string())?;
    Ok(Arc::new(model))
}

/// Answers requests until the dashboard goes away. Requests that pile up while a job runs
/// are taken together: only the newest weights and the newest job of each kind count.
fn serve(inbox: &Receiver<Request>, outbox: &Sender<Insight>) {
    let device = Cpu::default();
    let mut desk = Desk::default();
    while let Ok(first) = inbox.recv() {
        let mut new_weights = false;
        let mut jobs = Vec::new();
        for request in std::iter::once(first).chain(inbox.try_iter()) {
            match request {
                Request::Weights(step, model) => {
                    desk.weights = Some((step, model));
                    new_weights = true;
                }
                Request::Job(job @ InspectJob::Digit { .. }) => {
                    desk.digit = Some(job.clone());
                    jobs.retain(|j| !matches!(j, InspectJob::Digit { .. }));
                    jobs.push(job);
                }
                Request::Job(job @ InspectJob::Drawing { .. }) => {
                    desk.drawing = Some(job.clone());
                    jobs.retain(|j| !matches!(j, InspectJob::Drawing { .. }));
                    jobs.push(job);
                }
            }
        }
        let Some((step, model)) = desk.weights.clone() else {
            continue;
        };
        if new_weights {
            let weights = probe::first_layer_filters(&model);
            if outbox
                .send(Insight::Filters(Filters { step, weights }))
                .is_err()
            {
                return;
            }
            jobs = desk.digit.iter().chain(&desk.drawing).cloned().collect();
        }
        for job in jobs {
            if outbox
                .send(answer(&model, &mut desk.runs, &device, step, job))
                .is_err()
            {
                return;
            }
        }
    }
}

/// Computes one job with the weights of `step` (a drawing also with each overlaid run's
/// model from `runs`).
pub fn answer(
    model: &Network,
    runs: &mut RunModels,
    device: &Cpu,
    step: u64,
    job: InspectJob,
) -> Insight {
    match job {
        InspectJob::Digit {
            digit,
            image,
            activations,
            occlusion,
        } => {
            let (probabilities, maps) = if activations {
                let maps = probe::activations(model, device, &image);
                (maps.probabilities.clone(), Some(maps))
            } else {
                (classify(model, device, &image), None)
            };
            let occlusion =
                occlusion.then(|| probe::occlusion(model, device, &image, argmax(&probabilities)));
            Insight::Digit(DigitInsight {
                digit,
                step,
                probabilities,
                activations: maps,
                occlusion,
            })
        }
        InspectJob::Drawing {
            version,
            image,
            compared,
        } => Insight::Drawing(DrawingInsight {
            version,
            step,
            probabilities: classify(model, device, &image),
            compared: compared
                .into_iter()
                .map(|run| ComparedPrediction {
                    probabilities: runs
                        .model(&run, device)
                        .map(|theirs| classify(&theirs, device, &image)),
                    run,
                })
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{build, Init};
    use crate::run::checkpoint::CheckpointMeta;

    /// A run folder under `root` whose best checkpoint (step 10) holds a network built from
    /// `seed`; returns the folder and the network.
    fn run_with_best(root: &Path, name: &str, seed: u64) -> (PathBuf, Network) {
        let device = Cpu::seed_from_u64(seed);
        let model = build(&device, Init::FanIn);
        let folder = root.join(name);
        let run = RunDir::new(&folder);
        std::fs::create_dir_all(run.checkpoints_dir()).unwrap();
        let meta = CheckpointMeta::blank(10);
        let name = RunDir::checkpoint_name(CheckpointKind::Best, 10);
        checkpoint::save(&run.checkpoints_dir(), &name, &model, &meta).unwrap();
        (folder, model)
    }

    #[test]
    fn a_drawing_is_scored_by_this_run_and_each_overlaid_runs_best_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let (a, model_a) = run_with_best(dir.path(), "a", 2);
        let (b, model_b) = run_with_best(dir.path(), "b", 3);
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let device = Cpu::seed_from_u64(1);
        let main = build(&device, Init::FanIn);
        let image = probe::vertical_bar();
        let job = InspectJob::Drawing {
            version: 4,
            image: image.clone(),
            compared: vec![b.clone(), a.clone(), empty.clone()],
        };
        let mut runs = RunModels::default();
        let Insight::Drawing(said) = answer(&main, &mut runs, &device, 7, job) else {
            panic!("a drawing job is answered about the drawing");
        };
        let expected_b = classify(&model_b, &device, &image);
        let expected_a = classify(&model_a, &device, &image);
        assert_ne!(expected_a, expected_b, "the runs' networks differ");
        assert_eq!(said.probabilities, classify(&main, &device, &image));
        assert_eq!((said.version, said.step), (4, 7));
        let runs_said: Vec<&PathBuf> = said.compared.iter().map(|c| &c.run).collect();
        assert_eq!(runs_said, [&b, &a, &empty], "in the job's order");
        assert_eq!(said.compared[0].probabilities, Ok(expected_b));
        assert_eq!(said.compared[1].probabilities, Ok(expected_a));
        let why = said.compared[2].probabilities.clone().unwrap_err();
        assert!(why.contains("no checkpoint"), "{why}");
    }
}
