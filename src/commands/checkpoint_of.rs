//! Which checkpoint a command's path means: a run folder stands for its best checkpoint (else
//! its newest), or with a step for its checkpoint of that step; anything else is the
//! checkpoint itself (a folder or its weights file, which loading checks).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::output::note;
use crate::run::{CheckpointKind, RunDir};

/// The checkpoint `source` names, taking the checkpoint of `step` from a run folder when
/// given; a step with a checkpoint path is an error.
pub fn checkpoint_of(source: &Path, step: Option<u64>) -> Result<PathBuf> {
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
        if step.is_some() {
            bail!(
                "--step picks a checkpoint of a run folder, and {} is not one (it has no \
                 config.toml): pass the run folder, or leave --step out",
                source.display()
            );
        }
        return Ok(source.to_path_buf());
    }
    match step {
        Some(step) => at_step(&run, step),
        None => best_else_newest(&run),
    }
}

/// The run's best checkpoint, else (said on stderr) its newest.
fn best_else_newest(run: &RunDir) -> Result<PathBuf> {
    if let Some(best) = run.checkpoints(CheckpointKind::Best).pop() {
        return Ok(best);
    }
    match run.checkpoints(CheckpointKind::Periodic).pop() {
        Some(newest) => {
            note(format!(
                "{} has no best checkpoint (no evaluation was saved): using its newest, {}",
                run.path().display(),
                newest.display()
            ));
            Ok(newest)
        }
        None => bail!(
            "the run {} holds no checkpoint yet (its checkpoints/ folder is empty): train it \
             further, or pass a checkpoint folder of another run",
            run.path().display()
        ),
    }
}

/// The run's checkpoint of `step`, periodic or best; the error lists the steps it has.
fn at_step(run: &RunDir, step: u64) -> Result<PathBuf> {
    let kinds = [CheckpointKind::Periodic, CheckpointKind::Best];
    let found = kinds
        .iter()
        .map(|&kind| {
            run.checkpoints_dir()
                .join(RunDir::checkpoint_name(kind, step))
        })
        .find(|folder| run.checkpoint_folders().contains(folder) && folder.is_dir());
    if let Some(folder) = found {
        return Ok(folder);
    }
    let mut steps: Vec<String> = kinds
        .iter()
        .flat_map(|&kind| run.checkpoints(kind))
        .filter_map(|folder| Some(RunDir::checkpoint_step(&folder)?.to_string()))
        .collect();
    steps.sort_by_key(|s| s.parse::<u64>().unwrap_or(0));
    steps.dedup();
    let held = if steps.is_empty() {
        "none yet".to_string()
    } else {
        steps.join(", ")
    };
    bail!(
        "the run {} has no checkpoint of step {step} (it keeps the newest few and the best): \
         its checkpoints are of steps {held}; pass --step with one of them",
        run.path().display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run folder with complete checkpoints of the named folders.
    fn run_with(names: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("run");
        let run = RunDir::new(&root);
        std::fs::create_dir_all(run.checkpoints_dir()).unwrap();
        std::fs::write(run.config_file(), "").unwrap();
        for name in names {
            let folder = run.checkpoints_dir().join(name);
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join(crate::run::checkpoint::META_FILE), "{}").unwrap();
        }
        (dir, root)
    }

    #[test]
    fn a_run_folder_means_its_best_checkpoint_or_the_one_of_a_step() {
        let (_dir, root) = run_with(&["step-00000100", "step-00000200", "best-step-00000150"]);
        let name = |p: PathBuf| p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            name(checkpoint_of(&root, None).unwrap()),
            "best-step-00000150"
        );
        assert_eq!(
            name(checkpoint_of(&root, Some(200)).unwrap()),
            "step-00000200"
        );
        assert_eq!(
            name(checkpoint_of(&root, Some(150)).unwrap()),
            "best-step-00000150"
        );
        let missing = checkpoint_of(&root, Some(300)).unwrap_err().to_string();
        assert!(missing.contains("of steps 100, 150, 200"), "{missing}");
    }

    #[test]
    fn without_a_best_the_newest_and_a_step_only_with_a_run() {
        let (_dir, root) = run_with(&["step-00000100", "step-00000200"]);
        let newest = checkpoint_of(&root, None).unwrap();
        assert!(newest.ends_with("step-00000200"), "{}", newest.display());
        let checkpoint = root.join("checkpoints/step-00000100");
        assert_eq!(checkpoint_of(&checkpoint, None).unwrap(), checkpoint);
        let error = checkpoint_of(&checkpoint, Some(100))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("--step picks a checkpoint of a run folder"),
            "{error}"
        );
        let (_empty, bare) = run_with(&[]);
        let error = checkpoint_of(&bare, None).unwrap_err().to_string();
        assert!(error.contains("holds no checkpoint yet"), "{error}");
    }
}
