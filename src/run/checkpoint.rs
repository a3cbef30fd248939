//! Checkpoints: the weights as `.safetensors` plus a small JSON file saying where training was.
//!
//! Each checkpoint is a folder, written under a temporary name and renamed into place only
//! when both files are complete and synced, so a crash mid-write never leaves a broken one:
//!
//! ```text
//! checkpoints/step-00001000/model.safetensors
//! checkpoints/step-00001000/checkpoint.json
//! ```
//!
//! The metadata records the SHA-256 of the weights file; a checkpoint whose weights do not
//! match it is damaged and is not loaded. Reading is bounded by the sizes these files can
//! have ([`MAX_META_BYTES`], [`max_weights_bytes`]), never by a length written in them.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use dfdx::nn::tensor_collection::{RecursiveWalker, TensorCollection};
use dfdx::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::config::Config;
use crate::durable::sync_dir;
use crate::error_text::{safetensors_cause, weights_load_cause};
use crate::model::{self, Network};

use super::dir::RunDir;

/// Version of the checkpoint layout this build writes. Format 1 had no dropout layer, so its
/// second dense layer sat at index 4; format 2 had no checksum of the weights (it is still
/// read, unverified); format 3 adds it.
pub const FORMAT_VERSION: u32 = 3;
/// The oldest format this build reads.
pub const OLDEST_FORMAT: u32 = 2;
/// The largest metadata file read; a real one is a few kilobytes.
pub const MAX_META_BYTES: u64 = 1 << 20;
/// What to do about a damaged checkpoint.
const EARLIER_HINT: &str = "use an earlier checkpoint (--resume passes over damaged ones by \
     itself; for eval and predict, pass an older checkpoints/step-... folder of the run)";
/// Room for the safetensors header (names, shapes, offsets) beyond the tensors' data.
const MAX_WEIGHTS_HEADER_BYTES: u64 = 64 << 10;
/// The name of the network a checkpoint holds.
pub const MODEL_NAME: &str = "deep-mnist-cnn";
pub use super::dir::{META_FILE, WEIGHTS_FILE};
use crate::settings::MAX_STEPS;

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
    /// Accuracy of the last evaluation on the split choices are made on (validation, or
    /// test without one), if any.
    #[serde(alias = "test_accuracy")]
    pub accuracy: Option<f64>,
    /// Best accuracy on that split in the run so far, if any.
    #[serde(alias = "best_test_accuracy")]
    pub best_accuracy: Option<f64>,
    /// Times the test set was scored in the run up to this checkpoint.
    #[serde(default)]
    pub test_looks: u64,
    /// The run's settings at that step (live changes included).
    pub config: Config,
    /// SHA-256 of `model.safetensors`, in lowercase hex (format 3 on; `None` in format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
}

/// A checkpoint that could not be written or read.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// The weights in memory diverged: no checkpoint is made of them.
    #[error("checkpoint {path} not written: {why}. A checkpoint is never made of diverged weights: roll back (r) to the last checkpoint, or lower the learning rate and train on until the loss is back within bounds.")]
    Diverged {
        /// The checkpoint that was asked for.
        path: PathBuf,
        /// What diverged, and where.
        why: String,
    },
    /// Writing failed (disk full, folder not writable, ...).
    #[error("cannot write checkpoint {path}: {cause}. Free some disk space or make the folder writable.")]
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
    /// The folder to resume holds no digitdash run: nothing of it is touched.
    #[error("{} holds no digitdash run (no metrics.csv or events.jsonl written by digitdash), so there is nothing to resume; nothing in it was touched. Pass the folder of an earlier run (digitdash runs lists them), or start a new run.", run.display())]
    NotARun {
        /// The folder.
        run: PathBuf,
    },
    /// Every checkpoint of a run folder is damaged.
    #[error("no usable checkpoint in {}:{}\nStart a new run instead of resuming (the records \
             in the folder are kept).", run.display(), skipped_list(skipped))]
    NoneUsable {
        /// The run folder.
        run: PathBuf,
        /// Each checkpoint tried, newest first, and why it cannot be used.
        skipped: Vec<Skipped>,
    },
}

/// A checkpoint passed over by [`choose_for_resume`], and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The checkpoint folder.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// The lines of [`CheckpointError::NoneUsable`].
fn skipped_list(skipped: &[Skipped]) -> String {
    skipped
        .iter()
        .map(|s| format!("\n  - {}: {}", s.path.display(), s.reason))
        .collect()
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
        .map_err(|e| write_error(&weights, safetensors_cause(&e)))?;
    sync_file(&weights)?;
    // The checksum of the bytes as they are in the file, read back.
    let written = fs::read(&weights).map_err(|e| write_error(&weights, e))?;
    let meta = CheckpointMeta {
        weights_sha256: Some(sha256_hex(&written)),
        ..meta.clone()
    };
    let meta_path = temp_dir.join(META_FILE);
    let text = serde_json::to_string_pretty(&meta).map_err(|e| write_error(&meta_path, e))?;
    fs::write(&meta_path, text).map_err(|e| write_error(&meta_path, e))?;
    sync_file(&meta_path)
}

fn sync_file(path: &Path) -> Result<(), CheckpointError> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| write_error(path, e))
}

/// The checkpoint a resume goes on from, and the newer ones it passed over.
#[derive(Debug, Clone)]
pub struct ResumePoint {
    /// The checkpoint folder.
    pub checkpoint: PathBuf,
    /// Its metadata.
    pub meta: CheckpointMeta,
    /// Newer checkpoints that do not load or verify, newest first, and why.
    pub skipped: Vec<Skipped>,
}

/// Walks the checkpoints of `run` from the newest to older ones and picks the newest that
/// loads and verifies.
pub fn choose_for_resume(run: &RunDir) -> Result<ResumePoint, CheckpointError> {
    let folders = run.checkpoint_folders();
    if folders.is_empty() {
        return Err(CheckpointError::NoneFound {
            run: run.path().to_path_buf(),
        });
    }
    let mut skipped = Vec::new();
    for folder in folders {
        match verify(&folder) {
            Ok(Some(meta)) => {
                return Ok(ResumePoint {
                    checkpoint: folder,
                    meta,
                    skipped,
                })
            }
            // A folder always has its metadata read; kept for completeness.
            Ok(None) => skipped.push(Skipped {
                reason: format!("its {META_FILE} is missing"),
                path: folder,
            }),
            Err(error) => skipped.push(Skipped {
                reason: reason(&folder, &error),
                path: folder,
            }),
        }
    }
    Err(CheckpointError::NoneUsable {
        run: run.path().to_path_buf(),
        skipped,
    })
}

/// The checkpoints of `run` newer than `checkpoint` that do not load or verify, newest
/// first, and why: what a resume from `checkpoint` passed over.
pub fn damaged_newer_than(run: &RunDir, checkpoint: &Path) -> Vec<Skipped> {
    run.checkpoint_folders()
        .into_iter()
        .take_while(|folder| folder != checkpoint)
        .filter_map(|folder| {
            let error = verify(&folder).err()?;
            Some(Skipped {
                reason: reason(&folder, &error),
                path: folder,
            })
        })
        .collect()
}

/// Why a checkpoint folder cannot be used, in words naming the file inside it.
fn reason(folder: &Path, error: &CheckpointError) -> String {
    let file = |path: &Path| {
        path.strip_prefix(folder)
            .ok()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| path.display().to_string(), |p| p.display().to_string())
    };
    match error {
        CheckpointError::Invalid { path, problem } => format!("{}: {problem}", file(path)),
        CheckpointError::Read { path, cause } => format!("cannot read {}: {cause}", file(path)),
        other => other.to_string(),
    }
}

/// Lowercase hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The dataset a checkpoint (folder or `.safetensors` file) was trained on, as its metadata
/// records it; `None` when there is no readable metadata beside the weights.
pub fn trained_on(path: &Path) -> Option<crate::data::Dataset> {
    let folder = if path.is_dir() { path } else { path.parent()? };
    let meta = read_meta(&folder.join(META_FILE)).ok()?;
    Some(meta.config.data.dataset)
}

/// Reads a checkpoint (as [`load`]) onto a new CPU device, for commands that only run the
/// network forward.
pub fn load_on_cpu(path: &Path) -> Result<(Cpu, Network), CheckpointError> {
    let device = Cpu::default();
    let (model, _) = load(path, &device)?;
    Ok((device, model))
}

/// Reads a checkpoint from its folder or its `.safetensors` file: the network and, when the
/// metadata file is there, where training stood. The weights are checked against the
/// metadata's checksum (format 3 on) and this network's tensors before any is used.
pub fn load(
    path: &Path,
    device: &Cpu,
) -> Result<(Network, Option<CheckpointMeta>), CheckpointError> {
    let (meta, bytes) = read_verified(path)?;
    let weights = weights_path(path);
    let tensors = ::safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| invalid(&weights, safetensors_cause(&e)))?;
    // Every value is overwritten from the file: no initialisation scheme to apply first.
    let mut model = device.build_module::<model::NetworkSpec, f32>();
    let mut visitor = tensors;
    <Network as TensorCollection<f32, Cpu>>::iter_tensors(&mut RecursiveWalker {
        m: (&mut model, String::new()),
        f: &mut visitor,
    })
    .map_err(|e| invalid(&weights, weights_load_cause(&e)))?;
    Ok((model, meta))
}

/// Checks a checkpoint as [`load`] would, without building the network: its metadata (if
/// any), the weights' checksum, and the tensors. Returns the metadata.
pub fn verify(path: &Path) -> Result<Option<CheckpointMeta>, CheckpointError> {
    read_verified(path).map(|(meta, _)| meta)
}

/// The weights file of a checkpoint folder or a weights file itself.
fn weights_path(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join(WEIGHTS_FILE)
    } else {
        path.to_path_buf()
    }
}

/// Reads and checks the metadata (if any) and the weights' bytes of a checkpoint.
fn read_verified(path: &Path) -> Result<(Option<CheckpointMeta>, Vec<u8>), CheckpointError> {
    let meta_path = if path.is_dir() {
        Some(path.join(META_FILE))
    } else {
        Some(path.with_file_name(META_FILE)).filter(|p| p.is_file())
    };
    let meta = match meta_path {
        Some(p) => Some(read_meta(&p)?),
        None => None,
    };
    let weights = weights_path(path);
    let bytes = read_bounded(&weights, max_weights_bytes(), "weights file", || {
        "it is not a checkpoint of this network".to_string()
    })?;
    if let Some(expected) = meta.as_ref().and_then(|m| m.weights_sha256.as_deref()) {
        let found = sha256_hex(&bytes);
        if found != expected {
            return Err(invalid(
                &weights,
                format!(
                    "its SHA-256 is {found} but {META_FILE} records {expected}: the file was \
                     damaged or changed after it was written; {EARLIER_HINT}"
                ),
            ));
        }
    }
    check_tensors(&weights, &bytes)?;
    Ok((meta, bytes))
}

/// The largest weights file this network can have: its tensors' data plus room for the
/// header.
pub fn max_weights_bytes() -> u64 {
    let floats: usize = TENSORS
        .iter()
        .map(|(_, shape)| shape.iter().product::<usize>())
        .sum();
    (floats * 4 + SCALARS.len() * 8) as u64 + MAX_WEIGHTS_HEADER_BYTES
}

/// Reads a whole file of at most `limit` bytes; a larger one is refused before it is read
/// (`why` says what that means for the file).
fn read_bounded(
    path: &Path,
    limit: u64,
    what: &str,
    why: impl FnOnce() -> String,
) -> Result<Vec<u8>, CheckpointError> {
    let read_error = |e: std::io::Error| CheckpointError::Read {
        path: path.to_path_buf(),
        cause: e.to_string(),
    };
    let file = fs::File::open(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    let too_large = |len: u64| {
        invalid(
            path,
            format!(
                "the {what} is {len} bytes, more than the {limit} it can be: {}",
                why()
            ),
        )
    };
    if len > limit {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        // It grew while being read.
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

fn invalid(path: &Path, problem: impl Into<String>) -> CheckpointError {
    CheckpointError::Invalid {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Reads and checks a metadata file.
pub fn read_meta(path: &Path) -> Result<CheckpointMeta, CheckpointError> {
    let bytes = read_bounded(path, MAX_META_BYTES, "metadata file", || {
        "the file is damaged or not a checkpoint's metadata".to_string()
    })?;
    parse_meta(path, &bytes)
}

/// Parses and checks the bytes of a metadata file; `path` names it in errors.
pub fn parse_meta(path: &Path, bytes: &[u8]) -> Result<CheckpointMeta, CheckpointError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
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
                "it was written in checkpoint format {format} by a newer digitdash; this build reads formats {OLDEST_FORMAT} to {FORMAT_VERSION}. Upgrade digitdash to read it."
            ),
        ));
    }
    if format < u64::from(OLDEST_FORMAT) {
        return Err(invalid(
            path,
            format!(
                "it was written in checkpoint format {format} by an earlier digitdash, whose network had no dropout layer; this build reads formats {OLDEST_FORMAT} to {FORMAT_VERSION}. Start a new run, or evaluate it with the digitdash version that wrote it."
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
    if meta.step > MAX_STEPS.min(meta.config.train.steps) {
        return Err(invalid(
            path,
            format!(
                "it records step {}, past the {} steps its own settings plan; the file is damaged",
                meta.step, meta.config.train.steps
            ),
        ));
    }
    let checksum_ok =
        |sum: &str| sum.len() == 64 && sum.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match (&meta.weights_sha256, format) {
        (Some(sum), _) if !checksum_ok(sum) => Err(invalid(
            path,
            "its weights checksum is not 64 lowercase hex digits; the file is damaged",
        )),
        (None, f) if f >= 3 => Err(invalid(
            path,
            "its metadata lacks the weights checksum (weights_sha256); the file is damaged",
        )),
        _ => Ok(meta),
    }
}

/// Checks that a weights file is complete and holds exactly this network's tensors, as F32,
/// and its scalar settings ([`SCALARS`]), as F64 within their ranges.
pub fn check_weights(path: &Path) -> Result<(), CheckpointError> {
    let bytes = read_bounded(path, max_weights_bytes(), "weights file", || {
        "it is not a checkpoint of this network".to_string()
    })?;
    check_tensors(path, &bytes)
}

/// [`check_weights`] on the bytes of a weights file; `path` names it in errors.
pub fn check_tensors(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let tensors = ::safetensors::SafeTensors::deserialize(bytes).map_err(|e| {
        invalid(
            path,
            format!(
                "it is truncated or not a safetensors file ({}); {EARLIER_HINT}",
                safetensors_cause(&e)
            ),
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
        let value = <[u8; 8]>::try_from(scalar.data()).map(f64::from_le_bytes);
        if !value.is_ok_and(|p| (0.0..1.0).contains(&p)) {
            return Err(invalid(
                path,
                format!("setting {name} is {value:?}, outside 0 to 1: the file is damaged"),
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

#[cfg(test)]
impl CheckpointMeta {
    /// The metadata of a checkpoint at `step` with the default settings and nothing
    /// measured, for tests.
    pub(crate) fn blank(step: u64) -> Self {
        Self {
            format: FORMAT_VERSION,
            model: MODEL_NAME.into(),
            step,
            epoch: 0,
            position: 0,
            samples: 0,
            train_seconds: 0.0,
            wall_seconds: 0.0,
            accuracy: None,
            best_accuracy: None,
            test_looks: 0,
            config: Config::default(),
            weights_sha256: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(step: u64) -> CheckpointMeta {
        CheckpointMeta::blank(step)
    }

    /// A run folder with periodic checkpoints at `steps`, all of one network.
    fn run_with(steps: &[u64]) -> (tempfile::TempDir, RunDir) {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let device = Cpu::seed_from_u64(1);
        let network = model::build(&device, model::Init::default());
        fs::create_dir_all(run.checkpoints_dir()).unwrap();
        for &step in steps {
            let name = RunDir::checkpoint_name(super::super::CheckpointKind::Periodic, step);
            save(&run.checkpoints_dir(), &name, &network, &meta(step)).unwrap();
        }
        (dir, run)
    }

    /// Flips one bit in the middle of a file.
    fn flip_a_bit(path: &Path) {
        let mut bytes = fs::read(path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn the_weights_checksum_is_written_and_a_flipped_bit_is_damage() {
        let (_dir, run) = run_with(&[5]);
        let folder = run.checkpoints_dir().join("step-00000005");
        let written = read_meta(&folder.join(META_FILE)).unwrap();
        let sum = written.weights_sha256.clone().unwrap();
        assert_eq!(
            sum,
            sha256_hex(&fs::read(folder.join(WEIGHTS_FILE)).unwrap())
        );
        assert!(load(&folder, &Cpu::default()).is_ok());

        flip_a_bit(&folder.join(WEIGHTS_FILE));
        let err = load(&folder, &Cpu::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("{META_FILE} records {sum}")), "{msg}");
        assert!(msg.contains("damaged or changed"), "{msg}");
        assert!(msg.contains("model.safetensors"), "{msg}");
        // Without its metadata (a weights file passed alone) nothing records the checksum.
        fs::remove_file(folder.join(META_FILE)).unwrap();
        assert!(verify(&folder.join(WEIGHTS_FILE)).is_ok());
    }

    #[test]
    fn every_time_and_accuracy_reads_back_to_the_bit() {
        // Values whose shortest decimal form a fast parser rounds one bit away.
        let path = Path::new("checkpoint.json");
        let mut written = meta(1);
        written.train_seconds = 0.248_331_445_999_999_98;
        written.wall_seconds = 0.320612111;
        written.accuracy = Some(0.9931);
        written.weights_sha256 = Some("0".repeat(64));
        let text = serde_json::to_string_pretty(&written).unwrap();
        let read = parse_meta(path, text.as_bytes()).unwrap();
        assert_eq!(
            read.train_seconds.to_bits(),
            written.train_seconds.to_bits()
        );
        assert_eq!(read.wall_seconds.to_bits(), written.wall_seconds.to_bits());
        assert_eq!(read, written);
    }

    #[test]
    fn format_2_reads_unverified_and_format_3_needs_its_checksum() {
        let path = Path::new("checkpoint.json");
        let mut value = serde_json::to_value(meta(1)).unwrap();
        value["format"] = 2.into();
        let old = parse_meta(path, value.to_string().as_bytes()).unwrap();
        assert_eq!(old.weights_sha256, None);
        value["format"] = 3.into();
        let err = parse_meta(path, value.to_string().as_bytes()).unwrap_err();
        assert!(
            err.to_string().contains("lacks the weights checksum"),
            "{err}"
        );
        value["weights_sha256"] = "XYZ".into();
        let err = parse_meta(path, value.to_string().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("64 lowercase hex"), "{err}");
    }

    #[test]
    fn oversized_files_are_refused_before_they_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let meta_path = dir.path().join(META_FILE);
        let file = fs::File::create(&meta_path).unwrap();
        file.set_len(10 << 30).unwrap(); // sparse: 10 GB claimed, nothing stored
        let err = read_meta(&meta_path).unwrap_err();
        assert!(
            err.to_string()
                .contains("the metadata file is 10737418240 bytes, more than the 1048576"),
            "{err}"
        );
        let weights = dir.path().join(WEIGHTS_FILE);
        fs::File::create(&weights)
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        let err = check_weights(&weights).unwrap_err();
        assert!(
            err.to_string().contains("not a checkpoint of this network"),
            "{err}"
        );
        // A safetensors length field claiming far more than the file holds.
        let mut bytes = u64::MAX.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        fs::write(&weights, bytes).unwrap();
        let err = check_weights(&weights).unwrap_err();
        assert!(
            err.to_string().contains("truncated or not a safetensors"),
            "{err}"
        );
    }

    #[test]
    fn a_resume_walks_back_to_the_newest_checkpoint_that_verifies() {
        let (_dir, run) = run_with(&[5, 10, 15]);
        let dirs = run.checkpoints_dir();
        flip_a_bit(&dirs.join("step-00000015").join(WEIGHTS_FILE));
        fs::write(
            dirs.join("step-00000010").join(META_FILE),
            "{\"format\": 3, \"mod",
        )
        .unwrap();
        let point = choose_for_resume(&run).unwrap();
        assert!(point.checkpoint.ends_with("step-00000005"), "{point:?}");
        assert_eq!(point.meta.step, 5);
        let reasons: Vec<_> = point.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(
            reasons[0].starts_with("model.safetensors: its SHA-256"),
            "{reasons:?}"
        );
        assert!(
            reasons[1].starts_with("checkpoint.json: its metadata is not valid JSON"),
            "{reasons:?}"
        );
        assert_eq!(damaged_newer_than(&run, &point.checkpoint), point.skipped);

        flip_a_bit(&dirs.join("step-00000005").join(WEIGHTS_FILE));
        let err = choose_for_resume(&run).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("no usable checkpoint in"), "{msg}");
        assert_eq!(msg.matches("\n  - ").count(), 3, "{msg}");
        assert!(msg.contains("Start a new run"), "{msg}");
        let (_empty_dir, empty) = run_with(&[]);
        assert!(matches!(
            choose_for_resume(&empty),
            Err(CheckpointError::NoneFound { .. })
        ));
    }
}
