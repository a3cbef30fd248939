//! The PyTorch reference of `digitdash bench --compare`: the script `bench/torch_reference.py`,
//! built into the binary so that the comparison runs from any folder, and the Python
//! interpreter that runs it, checked for PyTorch before any round starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;
use thiserror::Error;

/// The text of `bench/torch_reference.py`, built in.
pub const SCRIPT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/bench/torch_reference.py"
));

/// How to set up a Python interpreter with PyTorch, run in a digitdash checkout.
pub const SETUP_COMMAND: &str =
    "python3 -m venv .venv-bench && .venv-bench/bin/pip install -r bench/requirements.txt";

/// How to use the interpreter that [`SETUP_COMMAND`] sets up.
pub const SETUP_USE: &str =
    "then pass --python .venv-bench/bin/python, or set DIGITDASH_PYTHON=.venv-bench/bin/python";

/// Why the reference cannot run or its figures cannot be read.
#[derive(Debug, Error)]
pub enum ReferenceError {
    /// `--reference` names no file.
    #[error(
        "the PyTorch reference script {} is not there: pass its path with --reference, or leave \
         --reference out to use the built-in copy of bench/torch_reference.py",
        .0.display()
    )]
    ScriptMissing(PathBuf),
    /// The built-in script cannot be written to a temporary file.
    #[error(
        "cannot write the built-in PyTorch reference script to a temporary file ({0}); set \
         TMPDIR to a writable folder, or pass the script with --reference PATH"
    )]
    WriteScript(std::io::Error),
    /// The interpreter cannot be started.
    #[error(
        "cannot run the Python interpreter {} for the PyTorch reference ({cause}); set one up \
         with PyTorch in the digitdash checkout:\n    {SETUP_COMMAND}\n{SETUP_USE}",
        python.display()
    )]
    NoInterpreter {
        /// The interpreter as given.
        python: PathBuf,
        /// Why it did not start.
        cause: std::io::Error,
    },
    /// The interpreter runs, but `import torch` fails.
    #[error(
        "the Python interpreter {} cannot import torch ({detail}); set one up with PyTorch in \
         the digitdash checkout:\n    {SETUP_COMMAND}\n{SETUP_USE}",
        python.display()
    )]
    NoTorch {
        /// The interpreter as given.
        python: PathBuf,
        /// The last line of its error output, or its exit status.
        detail: String,
    },
    /// The script exited with an error.
    #[error("the reference {} failed: {stderr}", script.display())]
    Failed {
        /// The script that ran.
        script: PathBuf,
        /// Its error output.
        stderr: String,
    },
    /// The script's output has no JSON line.
    #[error("the reference printed no JSON line: {stdout}")]
    NoJson {
        /// What it printed.
        stdout: String,
        /// Why the last line that looked like JSON did not parse.
        #[source]
        error: serde_json::Error,
    },
    /// A figure is missing from the JSON line.
    #[error("the reference's JSON lacks {0}")]
    MissingKey(&'static str),
}

/// An interpreter that imports torch, and the script it runs.
#[derive(Debug)]
pub struct Reference {
    python: PathBuf,
    script: PathBuf,
    /// Holds the built-in script's temporary folder until the comparison ends.
    _folder: Option<TempDir>,
}

impl Reference {
    /// Checks that `python` imports torch, then puts the script in place: `script` if given,
    /// else the built-in one written to a temporary folder.
    pub fn prepare(python: &Path, script: Option<&Path>) -> Result<Self, ReferenceError> {
        if let Some(path) = script.filter(|p| !p.is_file()) {
            return Err(ReferenceError::ScriptMissing(path.to_path_buf()));
        }
        check_torch(python)?;
        let (script, folder) = match script {
            Some(path) => (path.to_path_buf(), None),
            None => {
                let folder = tempfile::Builder::new()
                    .prefix("digitdash-bench-")
                    .tempdir()
                    .map_err(ReferenceError::WriteScript)?;
                let path = folder.path().join("torch_reference.py");
                std::fs::write(&path, SCRIPT).map_err(ReferenceError::WriteScript)?;
                (path, Some(folder))
            }
        };
        Ok(Self {
            python: python.to_path_buf(),
            script,
            _folder: folder,
        })
    }

    /// The script that runs.
    pub fn script(&self) -> &Path {
        &self.script
    }

    /// Runs the script once for `steps` timed steps at batch `batch`; returns its JSON line.
    pub fn run(&self, steps: usize, batch: usize) -> Result<Value, ReferenceError> {
        let output = Command::new(&self.python)
            .arg(&self.script)
            .args(["--steps", &steps.to_string(), "--batch", &batch.to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|cause| ReferenceError::NoInterpreter {
                python: self.python.clone(),
                cause,
            })?;
        if !output.status.success() {
            return Err(ReferenceError::Failed {
                script: self.script.clone(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or_default();
        serde_json::from_str(line).map_err(|error| ReferenceError::NoJson {
            stdout: stdout.into_owned(),
            error,
        })
    }
}

/// Runs `python -c "import torch"`.
fn check_torch(python: &Path) -> Result<(), ReferenceError> {
    let output = Command::new(python)
        .args(["-c", "import torch"])
        .stdin(Stdio::null())
        .output()
        .map_err(|cause| ReferenceError::NoInterpreter {
            python: python.to_path_buf(),
            cause,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let detail = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .map_or_else(|| output.status.to_string(), str::to_owned);
    Err(ReferenceError::NoTorch {
        python: python.to_path_buf(),
        detail,
    })
}

/// The figure `key` of the reference's JSON line.
pub fn number(v: &Value, key: &'static str) -> Result<f64, ReferenceError> {
    v[key].as_f64().ok_or(ReferenceError::MissingKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_script_prints_the_keys_the_comparison_reads() {
        for key in [
            "framework",
            "threads",
            "train_step_ms_median",
            "inference_images_per_s",
            "peak_rss_mb",
        ] {
            assert!(SCRIPT.contains(&format!("\"{key}\"")), "{key}");
        }
    }

    #[test]
    fn a_missing_interpreter_or_script_says_what_to_do() {
        let err = Reference::prepare(Path::new("/nonexistent/python"), None).unwrap_err();
        assert!(matches!(err, ReferenceError::NoInterpreter { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(SETUP_COMMAND) && text.contains("--python"),
            "{text}"
        );

        let err = Reference::prepare(Path::new("python3"), Some(Path::new("/nonexistent/ref.py")))
            .unwrap_err();
        assert!(err.to_string().contains("--reference"), "{err}");
    }

    #[test]
    fn the_built_in_script_is_written_to_a_temporary_file_for_the_run() {
        // `true` accepts any arguments and succeeds, standing in for a Python with torch.
        let reference = Reference::prepare(Path::new("true"), None).unwrap();
        assert_eq!(std::fs::read_to_string(reference.script()).unwrap(), SCRIPT);
        let folder = reference.script().parent().unwrap().to_path_buf();
        drop(reference);
        assert!(!folder.exists());
    }
}
