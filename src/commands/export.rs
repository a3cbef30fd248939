//! `digitdash export RUN_OR_CHECKPOINT -o FILE`: a saved network as an ONNX model.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::ExportArgs;
use crate::data::Dataset;
use crate::durable::write_atomic;
use crate::export::{output_name, to_onnx, ExportInfo, INPUT};
use crate::output::note;
use crate::run::{CheckpointKind, RunDir};

/// Writes the ONNX file that `args` asks for and says what it holds; its metadata names
/// `dataset` when given, else the dataset the checkpoint was trained on.
pub fn run(args: &ExportArgs, dataset: Option<Dataset>) -> Result<()> {
    let checkpoint = checkpoint_of(&args.source)?;
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

/// The checkpoint to export: for a run folder its best checkpoint (else its newest), else the
/// path itself (a checkpoint folder or weights file, which loading checks).
pub fn checkpoint_of(source: &Path) -> Result<PathBuf> {
    let run = RunDir::new(source);
    let is_run = source.is_dir() && run.config_file().is_file();
    if !is_run {
        if !source.exists() {
            bail!(
                "{} does not exist: pass a run folder (runs/NAME), a checkpoint folder \
                 (runs/NAME/checkpoints/step-...) or its model.safetensors",
                source.display()
            );
        }
        return Ok(source.to_path_buf());
    }
    if let Some(best) = run.checkpoints(CheckpointKind::Best).pop() {
        return Ok(best);
    }
    match run.checkpoints(CheckpointKind::Periodic).pop() {
        Some(newest) => {
            note(format!(
                "{} has no best checkpoint (no evaluation was saved): exporting its newest, {}",
                source.display(),
                newest.display()
            ));
            Ok(newest)
        }
        None => bail!(
            "the run {} holds no checkpoint yet (its checkpoints/ folder is empty): train it \
             further, or pass a checkpoint folder of another run",
            source.display()
        ),
    }
}
