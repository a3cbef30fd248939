//! `digitdash bench`: how fast one training step and inference run on this machine.
//!
//! The keys of the JSON line match `shared/bench/torch_reference.py`, so the two can be
//! compared side by side.

use std::time::Instant;

use anyhow::Result;
use dfdx::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;

use crate::bench_layers::{time_layers, LayerTiming};
use crate::cli::BenchArgs;
use crate::data::{self, Split};
use crate::model::{self, Init, CLASSES, IMAGE_PIXELS};
use crate::train::evaluate::evaluate;
use crate::train::step::{new_optimizer, train_step};

/// Images per forward pass when timing inference (as the PyTorch reference does).
const INFERENCE_BATCH: usize = 1000;

/// The measured figures.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Median wall time of one training step, milliseconds.
    pub train_step_ms_median: f64,
    /// Fastest step, milliseconds.
    pub train_step_ms_min: f64,
    /// Slowest step, milliseconds.
    pub train_step_ms_max: f64,
    /// Training images per second at the median step time.
    pub train_samples_per_s: f64,
    /// Test-set images classified per second.
    pub inference_images_per_s: f64,
    /// Where the inference images came from.
    pub inference_data: String,
    /// Peak resident memory of the process, MB.
    pub peak_rss_mb: f64,
    /// Worker threads.
    pub threads: usize,
    /// Mini-batch size of the timed steps.
    pub batch_size: usize,
    /// Each layer's forward and backward time.
    pub layers: Vec<LayerTiming>,
}

/// Runs the benchmark and prints its figures.
pub fn run(args: &BenchArgs, data_dir: &std::path::Path) -> Result<()> {
    if args.compare {
        return crate::bench_compare::compare(args, data_dir);
    }
    let report = measure(args, data_dir)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report, args.steps);
    }
    Ok(())
}

/// Measures training steps, inference and memory.
pub fn measure(args: &BenchArgs, data_dir: &std::path::Path) -> Result<BenchReport> {
    let device = Cpu::seed_from_u64(0);
    let mut model = model::build(&device, Init::Tutorial);
    // The same network as the PyTorch reference, which has no dropout.
    model::set_dropout(&mut model, 0.0);
    let mut grads = model.alloc_grads();
    let mut optimizer = new_optimizer(&model, 1e-4);
    let mut rng = StdRng::seed_from_u64(0);
    let batch = args.batch_size.max(1);
    let pixels: Vec<f32> = (0..batch * IMAGE_PIXELS).map(|_| rng.gen()).collect();
    let mut one_hot = vec![0.0f32; batch * CLASSES];
    for row in one_hot.chunks_mut(CLASSES) {
        row[rng.gen_range(0..CLASSES)] = 1.0;
    }
    let mut times = Vec::with_capacity(args.steps);
    for i in 0..args.warmup + args.steps.max(1) {
        let started = Instant::now();
        train_step(
            &mut model,
            &mut optimizer,
            &mut grads,
            &device,
            pixels.clone(),
            &one_hot,
        )?;
        if i >= args.warmup {
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    let median = median(&mut times);
    let layers = time_layers(&model, &device, batch, args.steps.clamp(3, 15));

    let (test, inference_data) = inference_set(data_dir, &mut rng);
    evaluate(
        &model,
        &device,
        &test.first(INFERENCE_BATCH),
        INFERENCE_BATCH,
    );
    let started = Instant::now();
    evaluate(&model, &device, &test, INFERENCE_BATCH);
    let inference_images_per_s = test.len() as f64 / started.elapsed().as_secs_f64();

    Ok(BenchReport {
        train_step_ms_median: median,
        train_step_ms_min: times[0],
        train_step_ms_max: times[times.len() - 1],
        train_samples_per_s: batch as f64 / (median / 1e3),
        inference_images_per_s,
        inference_data,
        peak_rss_mb: peak_rss_mb(),
        threads: rayon::current_num_threads(),
        batch_size: batch,
        layers,
    })
}

/// The MNIST test set when the data folder has it, else 10,000 random images.
/// Sorts `values` and returns the middle one (the upper one of an even count); `values` must
/// not be empty.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn inference_set(data_dir: &std::path::Path, rng: &mut StdRng) -> (Split, String) {
    if let Ok(mnist) = data::load(data_dir) {
        return (
            mnist.test,
            format!("MNIST test set from {}", data_dir.display()),
        );
    }
    let n = 10_000;
    let images: Vec<u8> = (0..n * IMAGE_PIXELS).map(|_| rng.gen()).collect();
    let labels: Vec<u8> = (0..n).map(|_| rng.gen_range(0..CLASSES as u8)).collect();
    let split = Split::new(images, labels).expect("image and label counts agree");
    (split, "10,000 random images (no MNIST found)".into())
}

/// Peak resident set size of this process in MB (Linux; 0 where unknown).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn print_text(r: &BenchReport, steps: usize) {
    println!(
        "digitdash bench ({} threads; the network without dropout, as the PyTorch reference)",
        r.threads
    );
    println!(
        "  training step, batch {}: median {:.1} ms (min {:.1}, max {:.1}, {} steps), {:.0} images/s",
        r.batch_size, r.train_step_ms_median, r.train_step_ms_min, r.train_step_ms_max, steps,
        r.train_samples_per_s
    );
    println!(
        "  inference: {:.0} images/s on the {}",
        r.inference_images_per_s, r.inference_data
    );
    println!("  peak resident memory: {:.0} MB", r.peak_rss_mb);
    println!("  per layer (median ms):       forward   backward");
    for l in &r.layers {
        println!(
            "    {:<28} {:>8.2} {:>10.2}",
            l.layer, l.forward_ms, l.backward_ms
        );
    }
}
