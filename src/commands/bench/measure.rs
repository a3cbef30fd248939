//! The timings of `digitdash bench`: training steps on random data, inference over the test
//! set, peak memory and each layer's share.
//!
//! The keys of the JSON form match those of the PyTorch reference, `bench/torch_reference.py`,
//! so the two can be compared side by side.

use std::time::Instant;

use anyhow::Result;
use dfdx::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;

use super::layers::{rate, time_layers, with_rates, LayerTiming};
use super::roofline::{gemm_peak_gflops, network_flops, LayerFlops};
use super::stats::{median, peak_rss_mb};
use super::stats_cost::time_layer_stats;
use crate::augment::{AugmentConfig, Augmenter};
use crate::cli::BenchArgs;
use crate::config::DEFAULT_LAYER_STATS_EVERY;
use crate::data::{self, Split};
use crate::model::score::evaluate;
use crate::model::{self, Init, CLASSES, IMAGE_PIXELS};
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
    /// The instruction set of the kernels and of the gemm peak (`AVX-512`, `AVX2`, `x86-64`).
    pub instruction_set: String,
    /// Mini-batch size of the timed steps.
    pub batch_size: usize,
    /// This machine's f32 matrix-multiply peak, GFLOP/s: `gemm` on every thread, the fastest
    /// of five 2048x2048 products before the timed steps and five after.
    pub gemm_peak_gflops: f64,
    /// Operations of one training step, GFLOP (counted from the shapes, see `roofline`).
    pub train_step_gflop: f64,
    /// The step's GFLOP/s at the median step time.
    pub train_step_gflops: f64,
    /// The step's GFLOP/s as a share of the gemm peak (1 = the peak).
    pub train_step_peak_share: f64,
    /// Each layer's forward and backward time and rates.
    pub layers: Vec<LayerTiming>,
    /// Median time to augment one batch as the `best` preset does (shift, rotation, scale),
    /// milliseconds: work added to each step of an augmented run.
    pub augment_ms_median: f64,
    /// The same with the elastic distortion on as well (alpha 34, sigma 4), milliseconds.
    pub augment_elastic_ms_median: f64,
    /// Median time the layer statistics of one step take besides the step, milliseconds.
    pub layer_stats_ms_median: f64,
    /// The default interval of layer statistics, in steps (`log.layer_stats_every`).
    pub layer_stats_every: u64,
    /// Their cost at that interval as a share of training time, percent: the statistics'
    /// median over the median step times the interval.
    pub layer_stats_share_percent: f64,
}

/// Measures training steps, inference and memory.
pub fn measure(args: &BenchArgs, data_dir: &std::path::Path) -> Result<BenchReport> {
    // The gemm peak is measured first and last, and the higher kept: on a shared machine
    // one of the two may fall in a busy moment. The last comes after the peak memory is
    // read, so its matrices do not count.
    let peak_first = gemm_peak_gflops();
    let device = Cpu::seed_from_u64(0);
    let mut model = model::build(&device, Init::Tutorial);
    // The same network as the PyTorch reference, which has no dropout.
    model::set_dropout(&mut model, 0.0);
    let mut grads = model.alloc_grads();
    let mut optimizer = new_optimizer(&model, 1e-4);
    // As in training: the steps read the optimizer's copy of the weights, and the model's
    // tensors are brought up to date only when something else reads them.
    optimizer.defer_write_back(true);
    let mut rng = StdRng::seed_from_u64(0);
    let batch = args.batch_size;
    let pixels: Vec<f32> = (0..batch * IMAGE_PIXELS).map(|_| rng.gen()).collect();
    let mut one_hot = vec![0.0f32; batch * CLASSES];
    for row in one_hot.chunks_mut(CLASSES) {
        row[rng.gen_range(0..CLASSES)] = 1.0;
    }
    let mut times = Vec::with_capacity(args.steps);
    for i in 0..args.warmup + args.steps {
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
    let train_step_gflop: f64 = network_flops(batch).iter().map(LayerFlops::total).sum();
    let train_step_gflops = rate(train_step_gflop, median);
    let samples = args.steps.clamp(3, 15);
    optimizer.write_back(&mut model);
    let layers = time_layers(&model, &device, batch, samples);
    let layer_stats_ms_median = time_layer_stats(
        &mut model,
        &mut optimizer,
        &device,
        (&pixels, &one_hot),
        samples,
    )?;
    let layer_stats_every = DEFAULT_LAYER_STATS_EVERY;
    let augment = best_augmentation();
    let augment_ms_median = time_augmentation(&pixels, augment, args.steps);
    let elastic = augment.with_simard_elastic();
    let augment_elastic_ms_median = time_augmentation(&pixels, elastic, args.steps);

    let (test, inference_data) = inference_set(data_dir, &mut rng);
    optimizer.write_back(&mut model);
    evaluate(
        &model,
        &device,
        &test.first(INFERENCE_BATCH),
        INFERENCE_BATCH,
    );
    let started = Instant::now();
    evaluate(&model, &device, &test, INFERENCE_BATCH);
    let inference_images_per_s = test.len() as f64 / started.elapsed().as_secs_f64();
    let peak_rss_mb = peak_rss_mb();
    let gemm_peak_gflops = gemm_peak_gflops().max(peak_first);

    Ok(BenchReport {
        train_step_ms_median: median,
        train_step_ms_min: times[0],
        train_step_ms_max: times[times.len() - 1],
        train_samples_per_s: batch as f64 / (median / 1e3),
        inference_images_per_s,
        inference_data,
        peak_rss_mb,
        threads: rayon::current_num_threads(),
        instruction_set: model::simd::instruction_set().to_string(),
        batch_size: batch,
        gemm_peak_gflops,
        train_step_gflop,
        train_step_gflops,
        train_step_peak_share: train_step_gflops / gemm_peak_gflops,
        layers: with_rates(layers, batch, gemm_peak_gflops),
        augment_ms_median,
        augment_elastic_ms_median,
        layer_stats_ms_median,
        layer_stats_every,
        layer_stats_share_percent: 100.0 * layer_stats_ms_median
            / (median * layer_stats_every as f64),
    })
}

/// The `best` preset's augmentation settings.
fn best_augmentation() -> AugmentConfig {
    let mut train = crate::config::TrainConfig::default();
    crate::config::Preset::Best.apply(&mut train);
    train.augment
}

/// Median milliseconds to augment `pixels` (a batch) as `config` says.
fn time_augmentation(pixels: &[f32], config: AugmentConfig, times: usize) -> f64 {
    let augmenter = Augmenter::new(config);
    let mut batch = pixels.to_vec();
    let mut ms: Vec<f64> = (0..times as u64)
        .map(|step| {
            batch.copy_from_slice(pixels);
            let started = Instant::now();
            augmenter.augment_batch(&mut batch, 0, step);
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(&mut ms)
}

/// The MNIST test set when the data folder has it, else 10,000 random images.
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
