//! The tutorial's lines: `step 100, training accuracy 0.60, loss 1.2847` ... `test accuracy
//! 0.9919`. The training accuracy and loss are those of the step's own forward pass, dropout
//! included.

use super::Printer;
use crate::output::{note, StdoutLines};
use crate::train::messages::{CheckpointWritten, ResumedFrom, SkippedCheckpoint};
use crate::train::Event;

/// Progress and results as text on stdout, the rest as notes on stderr.
#[derive(Debug, Default)]
pub struct TextPrinter;

impl Printer for TextPrinter {
    fn print(&mut self, event: &Event, out: &mut StdoutLines) {
        match event {
            Event::Started(started) => {
                let run = &started.run;
                let t = &run.config.train;
                note(format!(
                    "training on {} images, testing on {}: {} steps of {}, lr {:e}, seed {}, {}",
                    run.train_images,
                    run.test_images,
                    t.steps,
                    t.batch_size,
                    t.learning_rate,
                    t.seed,
                    crate::output::counted(run.threads as u64, "thread")
                ));
            }
            Event::Step(s) => out.line(format!(
                "step {}, training accuracy {:.2}, loss {:.4}",
                s.step, s.accuracy, s.loss
            )),
            Event::Evaluation(e) => {
                let split = e.split.name();
                let at = match &e.checkpoint {
                    Some(_) => format!("best checkpoint (step {})", e.step),
                    None => format!("step {}", e.step),
                };
                out.line(format!(
                    "{at}, {split} accuracy {:.4}, {split} loss {:.4}",
                    e.accuracy, e.loss
                ));
            }
            Event::SettingChanged(change) => out.line(format!(
                "step {}, {} changed from {} to {}",
                change.step,
                change.setting().name(),
                change.old,
                change.new
            )),
            Event::Checkpoint(CheckpointWritten { step, path }) => note(format!(
                "step {step}, checkpoint written to {}",
                path.display()
            )),
            Event::RolledBack(step) => {
                note(format!("rolled back to the checkpoint of step {step}"))
            }
            Event::Repaired(text) => note(format!("note: {text}")),
            Event::CheckpointSkipped(SkippedCheckpoint { checkpoint, reason }) => note(format!(
                "note: skipped checkpoint {}: {reason}",
                checkpoint.display()
            )),
            Event::Resumed(ResumedFrom { step, checkpoint }) => note(format!(
                "resumed from {} at step {step}",
                checkpoint.display()
            )),
            Event::Finished(summary) => {
                out.line(format!("test accuracy {:.4}", summary.test_accuracy));
                note(summary.details());
            }
            Event::Preparing(_)
            | Event::Download(_)
            | Event::Paused { .. }
            | Event::Stopping { .. }
            // Headless stops on a divergence; the closing note says why.
            | Event::Diverged(_)
            | Event::RecordError(_)
            | Event::Failed(_)
            | Event::StoppedBeforeTraining(_)
            | Event::Layers(_)
            // The reporter hands a batch of steps over one step at a time.
            | Event::Steps(_)
            | Event::Weights(_)
            | Event::Batch(_)
            | Event::CheckpointScored(_)
            | Event::CheckpointLoaded(_) => {}
        }
    }
}
