//! What layer statistics cost: the work a step that computes them does besides training
//! (the weights copied before the update, the forward pass that finds dead ReLUs, the
//! gradients read, and the norms and histograms after the update), timed apart from the step.

use std::time::Instant;

use crate::train::adam::Adam;
use dfdx::prelude::*;

use super::stats::median;
use crate::model::Network;
use crate::train::layer_stats::{Before, GradientRms};
use crate::train::step::train_step_seen;

/// Median milliseconds the statistics of one step take, over `times` steps of `model` on one
/// batch (`pixels`, `one_hot`); the steps train the model as usual.
pub fn time_layer_stats(
    model: &mut Network,
    optimizer: &mut Adam,
    device: &Cpu,
    batch: (&[f32], &[f32]),
    times: usize,
) -> anyhow::Result<f64> {
    let (pixels, one_hot) = batch;
    let mut grads = model.alloc_grads();
    let mut ms = Vec::with_capacity(times);
    for step in 0..times as u64 {
        let started = Instant::now();
        // As in training, a deferred write-back is done for the statistics' sake.
        let before = Before::take(optimizer.write_back(model), device, pixels);
        let mut seconds = started.elapsed().as_secs_f64();
        let mut gradients = None;
        train_step_seen(
            model,
            optimizer,
            &mut grads,
            device,
            pixels.to_vec(),
            one_hot,
            |model, grads| {
                let read = Instant::now();
                gradients = Some(GradientRms::read(model, grads));
                seconds += read.elapsed().as_secs_f64();
            },
        )?;
        let finish = Instant::now();
        if let Some(gradients) = gradients {
            before.finish(optimizer.write_back(model), gradients, step + 1);
        }
        seconds += finish.elapsed().as_secs_f64();
        ms.push(seconds * 1e3);
    }
    Ok(median(&mut ms))
}
