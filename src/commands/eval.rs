//! Prints the test accuracy, the mean loss and the confusion matrix of a saved model.

use std::path::Path;

use anyhow::{bail, Result};
use dfdx::prelude::*;

use crate::data::{self, Dataset, Split};
use crate::model::score::{confusion_matrix, evaluate};
use crate::model::{Network, CLASSES};
use crate::output::{note, StdoutLines};
use crate::run::record::EvalSplit;
use crate::run::{writer_state, Detail, RunDir, RunHistory, WriterState};

/// Test-set results of a saved model.
#[derive(Debug, Clone)]
pub struct EvalReport {
    /// Fraction of test images classified right.
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: [[usize; CLASSES]; CLASSES],
}

/// Scores a saved model on a test split, `batch` images at a time.
pub fn eval_model(model: &Network, device: &Cpu, test: &Split, batch: usize) -> EvalReport {
    let scores = evaluate(model, device, test, batch);
    EvalReport {
        accuracy: scores.accuracy,
        loss: scores.loss,
        confusion: confusion_matrix(&scores.probabilities, test.labels()),
    }
}

/// The confusion matrix as text: rows are true classes, columns predictions; for a dataset
/// whose classes are not digits, a line under it names the dataset and each class.
pub fn format_confusion(confusion: &[[usize; CLASSES]; CLASSES], dataset: Dataset) -> String {
    let mut out = String::from("true\\pred");
    for p in 0..CLASSES {
        out.push_str(&format!("{p:>6}"));
    }
    out.push_str("   recall\n");
    for (t, row) in confusion.iter().enumerate() {
        out.push_str(&format!("{t:>9}"));
        for count in row {
            out.push_str(&format!("{count:>6}"));
        }
        let total: usize = row.iter().sum();
        let recall = row[t] as f64 / total.max(1) as f64;
        out.push_str(&format!("   {:.4}\n", recall));
    }
    if dataset != Dataset::Mnist {
        let names: Vec<String> = (0..CLASSES)
            .map(|class| format!("{class} {}", dataset.class_name(class)))
            .collect();
        out.push_str(&format!(
            "{} classes: {}\n",
            dataset.title(),
            names.join(", ")
        ));
    }
    out
}

/// `digitdash eval`: prints the accuracy, loss and confusion matrix of a saved model on the
/// test set of `dataset` in `data_dir`, or on its run's validation split or training images. A checkpoint of a run that
/// is being trained, or was interrupted, gets a note saying so (the run's write lock is only
/// looked at, never taken). Images go through the network `batch` at a time
/// (`train.eval_batch_size`).
pub fn run(
    checkpoint: &Path,
    data_dir: &Path,
    dataset: Dataset,
    batch: usize,
    split: EvalSplit,
) -> Result<()> {
    if let Some(line) = run_state_note(checkpoint) {
        note(line);
    }
    let device = Cpu::default();
    let (model, meta) = crate::run::checkpoint::load(checkpoint, &device)?;
    let mut mnist = data::load_dataset(data_dir, dataset)?;
    let held_out = meta.as_ref().map_or(0, |m| m.config.data.validation());
    let images = match split {
        EvalSplit::Test => mnist.test,
        EvalSplit::Validation if held_out == 0 => bail!(
            "the run of {} held out no validation split (it trained on every training image), \
             so it has no validation images to score: pass --split test or --split train",
            checkpoint.display()
        ),
        EvalSplit::Validation => mnist.hold_out_validation(held_out, data_dir)?,
        EvalSplit::Train => {
            mnist.hold_out_validation(held_out, data_dir)?;
            mnist.train
        }
    };
    let report = eval_model(&model, &device, &images, batch);
    let name = split.name();
    let text = format!(
        "{name} accuracy {:.4} ({} of {}), {name} loss {:.4}\n{}",
        report.accuracy,
        (report.accuracy * images.len() as f64).round(),
        images.len(),
        report.loss,
        format_confusion(&report.confusion, dataset)
    );
    StdoutLines::default().line(text.trim_end());
    Ok(())
}

/// A note on the run a checkpoint folder belongs to (`RUN/checkpoints/NAME`), when it is being
/// trained now or was interrupted. A `writer.pid` left behind with no process holding the lock
/// only means an interruption when the records end without a final record: a run whose last
/// process finished or stopped is not called interrupted, whatever file was left over.
pub fn run_state_note(checkpoint: &Path) -> Option<String> {
    let folder = if checkpoint.is_dir() {
        checkpoint
    } else {
        checkpoint.parent()?
    };
    let checkpoints = folder.parent()?;
    if checkpoints.file_name()? != "checkpoints" {
        return None;
    }
    let run = RunDir::new(checkpoints.parent()?);
    let pid = |pid: Option<u32>| pid.map_or(String::new(), |p| format!(" (process {p})"));
    match writer_state(&run) {
        WriterState::Running { pid: p } => Some(format!(
            "note: the run {} is being trained now{}; newer checkpoints will follow this one",
            run.path().display(),
            pid(p)
        )),
        WriterState::Interrupted { .. } if records_end_the_run(&run) => None,
        WriterState::Interrupted { pid: p } => Some(format!(
            "note: the run {} was interrupted{} before it finished; digitdash --resume {} \
             continues it",
            run.path().display(),
            pid(Some(p)),
            run.path().display()
        )),
        WriterState::Idle => None,
    }
}

/// Whether the run's records end with a final record (a summary, or an error that ends a
/// run) since its last start.
fn records_end_the_run(run: &RunDir) -> bool {
    RunHistory::open(run.clone(), Detail::Summary)
        .is_ok_and(|history| history.events().has_final_record())
}
