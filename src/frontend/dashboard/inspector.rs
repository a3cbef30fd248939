//! The inspector thread: holds the newest copy of the weights the trainer shared and answers
//! the dashboard's questions about them (a digit's probabilities and feature maps, an
//! occlusion map, a drawing's class), off the UI thread and off the training threads.
//!
//! It runs its arithmetic in a one-thread rayon pool of its own, so its small forward passes
//! neither wait behind the trainer's work nor split the trainer's threads. When new weights
//! arrive it redoes the latest job of each kind, so the views follow training.

use std::io;
use std::sync::Arc;
use std::thread;

use dfdx::prelude::*;
use flume::{Receiver, Sender};

use super::app::{DigitInsight, DrawingInsight, Filters, Insight, InspectJob};
use crate::model::score::argmax;
use crate::model::{probe, Network};

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
    /// Starts the thread named `inspector`; it ends when this handle is dropped.
    pub fn spawn() -> io::Result<Self> {
        let (requests, inbox) = flume::unbounded();
        let (outbox, insights) = flume::unbounded();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(|_| "inspector-pool".into())
            .start_handler(|_| yield_to_training())
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

/// Lowers the calling thread's scheduling priority (nice 10, Linux), so that on a busy
/// machine the inspector's passes wait for the training threads rather than the other way
/// round. Best effort: where it fails, the thread keeps its priority.
fn yield_to_training() {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid` has no preconditions; `setpriority` on the calling thread's id only
    // changes that thread's nice value and reports failure through its return value.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10);
    }
}

/// The newest weights and the latest job of each kind.
#[derive(Default)]
struct Desk {
    weights: Option<(u64, Arc<Network>)>,
    digit: Option<InspectJob>,
    drawing: Option<InspectJob>,
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
            if outbox.send(answer(&model, &device, step, job)).is_err() {
                return;
            }
        }
    }
}

/// Computes one job with the weights of `step`.
fn answer(model: &Network, device: &Cpu, step: u64, job: InspectJob) -> Insight {
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
                (crate::model::score::classify(model, device, &image), None)
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
        InspectJob::Drawing { version, image } => Insight::Drawing(DrawingInsight {
            version,
            step,
            probabilities: crate::model::score::classify(model, device, &image),
        }),
    }
}
