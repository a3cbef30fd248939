//! Both `eval` and `predict` load a checkpoint onto the CPU and run the network forward.

use std::path::Path;

use anyhow::Result;
use dfdx::prelude::*;

use crate::data::Dataset;
use crate::model::{Network, CLASSES, IMAGE_PIXELS};
use crate::run::checkpoint::{self, CheckpointMeta, META_FILE};
use crate::train::evaluate::log_softmax;

/// Loads a checkpoint (folder or `.safetensors` file) onto the CPU.
pub fn load_model(path: &Path) -> Result<(Cpu, Network)> {
    let (device, model, _) = load_model_with_meta(path)?;
    Ok((device, model))
}

/// [`load_model`], with the checkpoint's metadata when its folder has it.
pub fn load_model_with_meta(path: &Path) -> Result<(Cpu, Network, Option<CheckpointMeta>)> {
    let device = Cpu::default();
    let (model, meta) = checkpoint::load(path, &device)?;
    Ok((device, model, meta))
}

/// The dataset a checkpoint (folder or `.safetensors` file) was trained on, as its metadata
/// records it; `None` when there is no readable metadata beside the weights.
pub fn trained_on(path: &Path) -> Option<Dataset> {
    let folder = if path.is_dir() { path } else { path.parent()? };
    let meta = checkpoint::read_meta(&folder.join(META_FILE)).ok()?;
    Some(meta.config.data.dataset)
}

/// Classifies 28x28 pixel images (values 0..1, white digit on black).
pub fn classify(model: &Network, device: &Cpu, images: &[Vec<f32>]) -> Vec<[f32; CLASSES]> {
    let mut pixels = Vec::with_capacity(images.len() * IMAGE_PIXELS);
    for image in images {
        pixels.extend_from_slice(image);
    }
    let x = device.tensor_from_vec(pixels, (images.len(), Const::<1>, Const::<28>, Const::<28>));
    let mut logits = vec![0.0f32; images.len() * CLASSES];
    model.forward(x).copy_into(&mut logits);
    logits
        .chunks(CLASSES)
        .map(|row| log_softmax(row).map(f32::exp))
        .collect()
}
