//! Per-layer timings for `digitdash bench`: each layer's forward, and its backward (the time
//! of forward + backward on a taped input, less the forward and less the sum that seeds the
//! backward pass), with the GFLOP/s they make and their share of the gemm peak.

use std::time::Instant;

use dfdx::prelude::*;
use serde::Serialize;

use super::roofline::{network_flops, LayerFlops};
use super::stats::median;
use crate::model::{lent, Flatten, ImageShape, Layers, Network, FLAT};

/// Median timings of one layer at the benchmark's batch size, and the rates they make.
#[derive(Debug, Clone, Serialize)]
pub struct LayerTiming {
    /// The layer.
    pub layer: &'static str,
    /// Forward pass, milliseconds.
    pub forward_ms: f64,
    /// Backward pass, milliseconds.
    pub backward_ms: f64,
    /// Forward pass, GFLOP (counted from the shapes, see `roofline`).
    pub forward_gflop: f64,
    /// Backward pass, GFLOP.
    pub backward_gflop: f64,
    /// Forward pass, GFLOP/s.
    pub forward_gflops: f64,
    /// Backward pass, GFLOP/s.
    pub backward_gflops: f64,
    /// Forward GFLOP/s as a share of the measured gemm peak (1 = the peak).
    pub forward_peak_share: f64,
    /// Backward GFLOP/s as a share of the measured gemm peak.
    pub backward_peak_share: f64,
}

impl LayerTiming {
    /// Fills in the rates from the layer's operation count and the machine's peak.
    fn with_rates(mut self, flops: LayerFlops, peak_gflops: f64) -> Self {
        self.forward_gflop = flops.forward;
        self.backward_gflop = flops.backward;
        self.forward_gflops = rate(flops.forward, self.forward_ms);
        self.backward_gflops = rate(flops.backward, self.backward_ms);
        self.forward_peak_share = self.forward_gflops / peak_gflops;
        self.backward_peak_share = self.backward_gflops / peak_gflops;
        self
    }
}

/// GFLOP/s of `gflop` done in `ms` milliseconds (0 when nothing was timed).
pub fn rate(gflop: f64, ms: f64) -> f64 {
    if ms > 0.0 {
        gflop / (ms / 1e3)
    } else {
        0.0
    }
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
            forward_gflop: 0.0,
            backward_gflop: 0.0,
            forward_gflops: 0.0,
            backward_gflops: 0.0,
            forward_peak_share: 0.0,
            backward_peak_share: 0.0,
        }
    }};
}

/// Times each layer of `model` on a batch of `batch` random images (the rates left at zero:
/// see [`with_rates`]).
pub fn time_layers(model: &Network, device: &Cpu, batch: usize, reps: usize) -> Vec<LayerTiming> {
    let x: Tensor<ImageShape, f32, Cpu> = device.sample_uniform_like(&(batch, Const, Const, Const));
    let p1 = model.conv1().forward(x.clone());
    let p2 = model.conv2().forward(p1.clone());
    let flat = Flatten::<FLAT>.forward(p2);
    let h = model.hidden().forward(flat.clone());
    // As in a training step, the dense layers read weights lent to them instead of copying.
    let _lent = lent::lend([
        lent::copy_for_loan(&model.hidden().weight),
        lent::copy_for_loan(&model.output().weight),
    ]);
    vec![
        time_layer!("conv1 5x5x32, relu, pool", model.conv1(), x, reps),
        time_layer!("conv2 5x5x64, relu, pool", model.conv2(), p1, reps),
        time_layer!("dense 3136 -> 1024, relu", model.hidden(), flat, reps),
        time_layer!("dense 1024 -> 10", model.output(), h, reps),
    ]
}

/// The timings of [`time_layers`] at `batch` with their GFLOP/s and shares of a gemm peak of
/// `peak_gflops`.
pub fn with_rates(layers: Vec<LayerTiming>, batch: usize, peak_gflops: f64) -> Vec<LayerTiming> {
    layers
        .into_iter()
        .zip(network_flops(batch))
        .map(|(timing, flops)| timing.with_rates(flops, peak_gflops))
        .collect()
}
