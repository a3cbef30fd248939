//! Checkpoints: the weights as `.safetensors` plus a small JSON file saying where training was.
//!
//! Each checkpoint is a folder, written under a temporary name and renamed into place only
//! when both files are complete and synced, so a crash mid-write never leaves a broken one:
//!
//! ```text
//! checkpoints/step-00001000/model.safetensors
//! checkpoints/step-00001000/checkpoint.json
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use dfdx::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::Config;
use crate::durable::sync_dir;
use crate::model::{self, Network};

/// Version of the checkpoint layout this build writes and reads. Format 1 had no dropout
/// layer, so its second dense layer sat at index 4.
pub const FORMAT_VERSION: u32 = 2;
/// The name of the network a checkpoint holds.
pub const MODEL_NAME: &str = "deep-mnist-cnn";
pub use super::dir::{META_FILE, WEIGHTS_FILE};

/// Every tensor of the network: its name in the file and its shape.
pub const TENSORS: [(&str, &[usize]); 8] = [
    ("0.weight", &[32, 1, 5, 5]),
    ("0.bias", &[32]),
    ("1.weight", &[64, 32, 5, 5]),
    ("1.bias", &[64]),
    ("3.weight", &[1024, 3136]),
    ("3.bias", &[1024]),
    ("5.weight", &[10, 1024]),
    ("5.bias", &[10]),
];

/// Every scalar setting saved with the weights (as one F64 each): the dropout probability.
pub const SCALARS: [&str; 1] = ["4.p"];

/// Where training stood when a checkpoint was written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointMeta {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format: u32,
    /// The network ([`MODEL_NAME`]).
    pub model: String,
    /// Steps done.
    pub step: u64,
    /// Data-order epoch (0-based).
    pub epoch: u64,
    /// Images of that epoch already used.
    pub position: usize,
    /// Images trained on so far.
    pub samples: u64,
    /// Seconds spent in training steps so far.
    pub train_seconds: f64,
    /// Seconds since the run first started (across resumes).
    #[serde(default)]
    pub wall_seconds: f64,
    /// Test accuracy of the last evaluation, if any.
    pub test_accuracy: Option<f64>,
    /// Best test accuracy seen in the run so far, if any.
    pub best_test_accuracy: Option<f64>,
    /// The run's settings at that step (live changes included).
    pub config: Config,
}

/// A checkpoint that could not be written or read.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// Writing failed (disk full, folder not writable, ...).
    #[error("cannot write checkpoint {path}: {cause}. Free some disk space or make the folder writable; training state in memory is kept.")]
    Write {
        /// What was being written.
        path: PathBuf,
        /// Why it failed.
        cause: String,
    },
    /// The file or folder does not exist or cannot be read.
    #[error("cannot read checkpoint {path}: {cause}. Pass a checkpoint folder (runs/NAME/checkpoints/step-...) or its model.safetensors file.")]
    Read {
        /// The path.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The file is damaged or not a checkpoint of this network.
    #[error("checkpoint {path} is not usable: {problem}")]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// There is no checkpoint in a run folder.
    #[error("no checkpoint found in {}: {}", run.display(), none_found_hint(run))]
    NoneFound {
        /// The run folder.
        run: PathBuf,
    },
}

/// What to do when `--resume RUN` finds no checkpoint: the likely mistake, then the rule.
fn none_found_hint(run: &Path) -> &'static str {
    if !run.exists() {
        "the folder does not exist. Pass the folder of an earlier run (under runs/)."
    } else if run.join(META_FILE).is_file() {
        "that is a checkpoint folder. Pass the run's folder, two levels up (runs/NAME)."
    } else {
        "a run writes one every run.checkpoint_every steps and when it stops. Start a new run instead of resuming."
    }
}

fn write_error(path: &Path, cause: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Write {
        path: path.to_path_buf(),
        cause: cause.to_string(),
    }
}

/// Writes `model` and `meta` as the folder `dir/name`, replacing one of that name.
pub fn save(
    dir: &Path,
    name: &str,
    model: &Network,
    meta: &CheckpointMeta,
) -> Result<PathBuf, CheckpointError> {
    let final_dir = dir.join(name);
    let temp_dir = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = write_folder(&temp_dir, model, meta).and_then(|()| {
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(|e| write_error(&final_dir, e))?;
        }
        fs::rename(&temp_dir, &final_dir).map_err(|e| write_error(&final_dir, e))?;
        sync_dir(dir);
        Ok(final_dir.clone())
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&temp_dir);
    }
    result
}

fn write_folder(
    temp_dir: &Path,
    model: &Network,
    meta: &CheckpointMeta,
) -> Result<(), CheckpointError> {
    let _ = fs::remove_dir_all(temp_dir);
    fs::create_dir_all(temp_dir).map_err(|e| write_error(temp_dir, e))?;
    let weights = temp_dir.join(WEIGHTS_FILE);
    model
        .save_safetensors(&weights)
        .map_err(|e| write_error(&weights, format!("{e:?}")))?;
    sync_file(&weights)?;
    let meta_path = temp_dir.join(META_FILE);
    let text = serde_json::to_string_pretty(meta).map_err(|e| write_error(&meta_path, e))?;
    fs::write(&meta_path, text).map_err(|e| write_error(&meta_path, e))?;
    sync_file(&meta_path)
}

fn sync_file(path: &Path) -> Result<(), CheckpointError> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| write_error(path, e))
}

/// Reads a checkpoint from its folder or its `.safetensors` file: the network and, when the
/// metadata file is there, where training stood.
pub fn load(
    path: &Path,
    device: &Cpu,
) -> Result<(Network, Option<CheckpointMeta>), CheckpointError> {
    let (weights, meta_path) = if path.is_dir() {
        (path.join(WEIGHTS_FILE), Some(path.join(META_FILE)))
    } else {
        let sibling = path.with_file_name(META_FILE);
        (path.to_path_buf(), Some(sibling).filter(|p| p.is_file()))
    };
    let meta = match meta_path {
        Some(p) => Some(read_meta(&p)?),
        None => None,
    };
    check_weights(&weights)?;
    // Every value is overwritten from the file: no initialisation scheme to apply first.
    let mut model = device.build_module::<model::NetworkSpec, f32>();
    model
        .load_safetensors(&weights)
        .map_err(|e| invalid(&weights, format!("{e:?}")))?;
    Ok((model, meta))
}

fn invalid(path: &Path, problem: impl Into<String>) -> CheckpointError {
    CheckpointError::Invalid {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Reads and checks a metadata file.
pub fn read_meta(path: &Path) -> Result<CheckpointMeta, CheckpointError> {
    let text = fs::read_to_string(path).map_err(|e| CheckpointError::Read {
        path: path.to_path_buf(),
        cause: e.to_string(),
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        invalid(
            path,
            format!("its metadata is not valid JSON ({e}); the file is damaged"),
        )
    })?;
    let format = value
        .get("format")
        .and_then(|f| f.as_u64())
        .ok_or_else(|| {
            invalid(
                path,
                "its metadata has no checkpoint format number; the file is damaged",
            )
        })?;
    if format > u64::from(FORMAT_VERSION) {
        return Err(invalid(
            path,
            format!(
                "it was written in checkpoint format {format} by a newer digitdash; this build reads format {FORMAT_VERSION}. Upgrade digitdash to read it."
            ),
        ));
    }
    if format < u64::from(FORMAT_VERSION) {
        return Err(invalid(
            path,
            format!(
                "it was written in checkpoint format {format} by an earlier digitdash, whose network had no dropout layer; this build reads format {FORMAT_VERSION}. Start a new run, or evaluate it with the digitdash version that wrote it."
            ),
        ));
    }
    let meta: CheckpointMeta = serde_json::from_value(value)
        .map_err(|e| invalid(path, format!("its metadata is incomplete or damaged ({e})")))?;
    if meta.model != MODEL_NAME {
        return Err(invalid(
            path,
            format!("it holds a '{}' model, not '{MODEL_NAME}'", meta.model),
        ));
    }
    Ok(meta)
}

/// Checks that a weights file is complete and holds exactly this network's tensors, as F32,
/// and its scalar settings ([`SCALARS`]), as F64.
pub fn check_weights(path: &Path) -> Result<(), CheckpointError> {
    let bytes = fs::read(path).map_err(|e| CheckpointError::Read {
        path: path.to_path_buf(),
        cause: e.to_string(),
    })?;
    let tensors = ::safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
        invalid(
            path,
            format!("it is truncated or not a safetensors file ({e:?}); use an earlier checkpoint"),
        )
    })?;
    if tensors.tensor("4.weight").is_ok() && tensors.tensor("5.weight").is_err() {
        return Err(invalid(
            path,
            "it holds the network of checkpoint format 1, written by an earlier digitdash before the dropout layer; this build reads format 2. Start a new run, or evaluate it with the digitdash version that wrote it.",
        ));
    }
    for (name, shape) in TENSORS {
        let tensor = tensors.tensor(name).map_err(|_| {
            invalid(
                path,
                format!("it lacks the tensor {name}: it is not a checkpoint of this network"),
            )
        })?;
        if tensor.shape() != shape || tensor.dtype() != ::safetensors::Dtype::F32 {
            return Err(invalid(
                path,
                format!(
                    "tensor {name} is {:?} {:?}, but this network needs F32 {shape:?}: the checkpoint is from another model shape",
                    tensor.dtype(),
                    tensor.shape()
                ),
            ));
        }
    }
    for name in SCALARS {
        let scalar = tensors.tensor(name).map_err(|_| {
            invalid(
                path,
                format!("it lacks the setting {name}: it is not a checkpoint of this network"),
            )
        })?;
        if !scalar.shape().is_empty() || scalar.dtype() != ::safetensors::Dtype::F64 {
            return Err(invalid(
                path,
                format!(
                    "setting {name} is {:?} {:?}, but this network stores it as one F64",
                    scalar.dtype(),
                    scalar.shape()
                ),
            ));
        }
    }
    let expected = TENSORS.len() + SCALARS.len();
    if tensors.len() != expected {
        return Err(invalid(
            path,
            format!(
                "it holds {} tensors, this network has {expected}: it is from another model",
                tensors.len(),
            ),
        ));
    }
    Ok(())
}
