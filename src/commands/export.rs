//! `digitdash export RUN_OR_CHECKPOINT -o FILE`: a saved network as an ONNX model.

use anyhow::{Context, Result};

use super::checkpoint_of::checkpoint_of;
use crate::cli::ExportArgs;
use crate::data::Dataset;
use crate::durable::write_atomic;
use crate::export::{output_name, to_onnx, ExportInfo, INPUT};
use crate::output::note;

/// Writes the ONNX file that `args` asks for and says what it holds; its metadata names
/// `dataset` when given, else the dataset the checkpoint was trained on.
pub fn run(args: &ExportArgs, dataset: Option<Dataset>) -> Result<()> {
    let checkpoint = checkpoint_of(&args.source, None)?;
    let device = dfdx::prelude::Cpu::default();
    let (model, meta) = crate::run::checkpoint::load(&checkpoint, &device)?;
    let trained_on = meta.as_ref().map(|m| m.config.data.dataset);
    let info = ExportInfo {
        dataset: dataset.or(trained_on).unwrap_or_default(),
        step: meta.as_ref().map(|m| m.step),
        accuracy: meta.as_ref().and_then(|m| {
            let split = if m.config.data.validation() > 0 {
                "validation"
            } else {
                "test"
            };
            Some((split, m.accuracy?))
        }),
        probabilities: args.probabilities,
    };
    if args.output.extension().is_none_or(|e| e != "onnx") {
        note(format!(
            "note: {} does not end in .onnx; writing it anyway",
            args.output.display()
        ));
    }
    write_atomic(&args.output, &to_onnx(&model, &info)).with_context(|| {
        format!(
            "cannot write {}: check that its folder exists and is writable (nothing was left \
             behind)",
            args.output.display()
        )
    })?;
    note(format!(
        "wrote {} from {} ({}{}): input '{INPUT}' [N,1,28,28] float in 0..1, output '{}' [N,10]",
        args.output.display(),
        checkpoint.display(),
        info.dataset.title(),
        info.step.map_or(String::new(), |s| format!(", step {s}")),
        output_name(&info)
    ));
    Ok(())
}
