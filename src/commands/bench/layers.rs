//! Per-layer timings for `digitdash bench`: each layer's forward, and its backward (the time
//! of forward + backward on a taped input, less the forward and less the sum that seeds the
//! backward pass).

use std::time::Instant;

use dfdx::prelude::*;
use serde::Serialize;

use super::stats::median;
use crate::model::{Flatten, ImageShape, Layers, Network, FLAT};

/// Median timings of one layer at the benchmark's batch size.
#[derive(Debug, Clone, Serialize)]
pub struct LayerTiming {
    /// The layer.
    pub layer: &'static str,
    /// Forward pass, milliseconds.
    pub forward_ms: f64,
    /// Backward pass, milliseconds.
    pub backward_ms: f64,
}

/// Times `layer` on `input` (untaped), `reps` times each way.
macro_rules! time_layer {
    ($name:expr, $layer:expr, $input:expr, $reps:expr) => {{
        let input = $input;
        let mut forward = Vec::new();
        let mut both = Vec::new();
        let mut reduction = Vec::new();
        for _ in 0..$reps {
            let started = Instant::now();
            let out = $layer.forward(input.clone());
            forward.push(started.elapsed().as_secs_f64() * 1e3);
            drop(out);
            let started = Instant::now();
            let out = $layer.forward(input.clone().leaky_trace());
            let _grads = out.sum().backward();
            both.push(started.elapsed().as_secs_f64() * 1e3);
            // The sum that seeds the backward pass is not the layer's work: time it alone.
            let out = $layer.forward(input.clone());
            let started = Instant::now();
            let _grads = out.leaky_trace().sum().backward();
            reduction.push(started.elapsed().as_secs_f64() * 1e3);
        }
        let forward = median(&mut forward);
        LayerTiming {
            layer: $name,
            forward_ms: forward,
            backward_ms: (median(&mut both) - forward - median(&mut reduction)).max(0.0),
        }
    }};
}

/// Times each layer of `model` on a batch of `batch` random images.
pub fn time_layers(model: &Network, device: &Cpu, batch: usize, reps: usize) -> Vec<LayerTiming> {
    let x: Tensor<ImageShape, f32, Cpu> = device.sample_uniform_like(&(batch, Const, Const, Const));
    let p1 = model.conv1().forward(x.clone());
    let p2 = model.conv2().forward(p1.clone());
    let flat = Flatten::<FLAT>.forward(p2);
    let h = model.hidden().forward(flat.clone());
    vec![
        time_layer!("conv1 5x5x32, relu, pool", model.conv1(), x, reps),
        time_layer!("conv2 5x5x64, relu, pool", model.conv2(), p1, reps),
        time_layer!("dense 3136 -> 1024, relu", model.hidden(), flat, reps),
        time_layer!("dense 1024 -> 10", model.output(), h, reps),
    ]
}
