//! Sweeps for a cluster: `sweep plan` fixes a grid or random sweep's trials in a folder and
//! writes how to run them (`--emit slurm`: an `sbatch --array` script; `--emit commands`: a
//! command a line), and `sweep trial DIR N` trains trial N into it: the same folder a local
//! sweep writes, trial by trial, from any machine that sees it.
//!
//! The folder must be on a file system every node mounts (NFS, Lustre, GPFS, BeeGFS): the
//! trials write their run folders and append their decisions to it, and `report`, `plot` and
//! `watch` read it while they run. ASHA and `tpe` decide as results come in, so they run on
//! one machine (`digitdash sweep`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::durable::write_atomic;
use crate::sweep::{Method, SweepDir, SweepSpec};

/// The Slurm script's name in the sweep folder.
pub const SLURM_FILE: &str = "sweep.sbatch";
/// The commands' file name in the sweep folder.
pub const COMMANDS_FILE: &str = "commands.txt";

/// Refuses a sweep that cannot be planned ahead: one with a scheduler, or `tpe`.
pub fn check_plannable(spec: &SweepSpec, path: &Path) -> Result<()> {
    if spec.asha.is_some() {
        bail!(
            "{}: [asha] promotes trials as their results come in, so an ASHA sweep runs on one \
             machine (`digitdash sweep {}`); take [asha] out to plan its trials for a cluster",
            path.display(),
            path.display()
        );
    }
    if spec.method == Method::Tpe {
        bail!(
            "{}: tpe chooses each trial from the results before it, so it runs on one machine \
             (`digitdash sweep {}`); use method = \"random\" or \"grid\" to plan for a cluster",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// `text` quoted for a POSIX shell when it needs to be.
pub fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The command that trains one trial of the sweep in `dir` (`index`: a number, or a shell
/// word that expands to one); `binary` is this program.
pub fn trial_command(binary: &Path, dir: &Path, index: &str) -> String {
    format!(
        "{} sweep trial {} {index}",
        shell_quote(&binary.display().to_string()),
        shell_quote(&dir.display().to_string())
    )
}

/// The `sbatch --array` script: task N trains trial N.
pub fn slurm_script(binary: &Path, dir: &Path, trials: usize, threads: usize) -> String {
    let last = trials.saturating_sub(1);
    let log = dir.join("slurm-%A_%a.out");
    format!(
        "#!/bin/bash\n\
         # Trains the sweep planned in {dir}: array task N trains trial N into\n\
         # {dir}/trial-NNN. Submit with `sbatch {script}`; follow with\n\
         # `digitdash sweep report {dir}`. The folder must be on a file system every node\n\
         # mounts: the trials write into it. Add --partition, --time or --account as your\n\
         # cluster asks.\n\
         #SBATCH --job-name=digitdash-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --cpus-per-task={threads}\n\
         #SBATCH --mem=2G\n\
         #SBATCH --output={log}\n\
         set -euo pipefail\n\
         export RAYON_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{threads}}}\"\n\
         exec {command}\n",
        dir = dir.display(),
        script = dir.join(SLURM_FILE).display(),
        log = log.display(),
        command = trial_command(binary, dir, "\"$SLURM_ARRAY_TASK_ID\""),
    )
}

/// One command a trial, a line each: for GNU parallel, `xargs -P`, or as the template of a
/// Kubernetes Indexed Job (where `sweep trial DIR` without N reads `JOB_COMPLETION_INDEX`).
pub fn commands(binary: &Path, dir: &Path, trials: usize) -> String {
    (0..trials)
        .map(|i| trial_command(binary, dir, &i.to_string()) + "\n")
        .collect()
}

/// Writes the script or the commands into the sweep's folder; returns the file.
pub fn emit(sweep: &SweepDir, text: &str, name: &str) -> Result<PathBuf> {
    let path = sweep.path().join(name);
    write_atomic(&path, text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    #[cfg(unix)]
    if name == SLURM_FILE {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755));
    }
    Ok(path)
}

/// The trial a `sweep trial` without N trains: `SLURM_ARRAY_TASK_ID`, else
/// `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job).
pub fn index_from_environment() -> Result<usize> {
    for name in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(value) = std::env::var(name) {
            return value.trim().parse().map_err(|_| {
                anyhow::anyhow!("{name}={value} is not a trial number: give N as a whole number")
            });
        }
    }
    bail!(
        "which trial? Give its number (`digitdash sweep trial DIR N`), or run it as a Slurm \
         array task (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_spaces_and_quotes_stay_one_word() {
        assert_eq!(shell_quote("/a/b-c_d.1"), "/a/b-c_d.1");
        assert_eq!(shell_quote("/my runs/it's"), "'/my runs/it'\\''s'");
        let lines = commands(Path::new("/bin/digitdash"), Path::new("/s w"), 2);
        assert_eq!(
            lines,
            "/bin/digitdash sweep trial '/s w' 0\n/bin/digitdash sweep trial '/s w' 1\n"
        );
        let script = slurm_script(Path::new("/bin/digitdash"), Path::new("/s"), 9, 4);
        assert!(script.contains("#SBATCH --array=0-8"), "{script}");
        assert!(
            script.contains("sweep trial /s \"$SLURM_ARRAY_TASK_ID\""),
            "{script}"
        );
    }
}
