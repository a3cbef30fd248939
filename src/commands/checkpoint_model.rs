//! Both `eval` and `predict` load a checkpoint onto the CPU and run the network forward.

use std::path::Path;

use anyhow::Result;
use dfdx::prelude::*;

use crate::model::{Network, CLASSES, IMAGE_PIXELS};
use crate::run::checkpoint;
use crate::train::evaluate::log_softmax;

/// Loads a checkpoint (folder or `.safetensors` file) onto the CPU.
pub fn load_model(path: &Path) -> Result<(Cpu, Network)> {
    let device = Cpu::default();
    let (model, _) = checkpoint::load(path, &device)?;
    Ok((device, model))
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
