//! The first layer at inference, both kernels on the same 1,000 images, alternating in one
//! process: the direct sum (`model::direct`) and Winograd F(4x4, 5x5)
//! (`model::winograd::one_channel`), each with its filter preparation, as a pass without a
//! backward pass runs them. Prints the medians, their ratio, the largest difference between
//! the two outputs and which kernel inference takes on this CPU.
//!
//! `cargo bench --bench first_layer`; on an AVX-512 machine, add `--no-default-features` to
//! time the AVX2 code.

use std::time::Instant;

use digitdash::model::conv_kernels::ConvGeometry;
use digitdash::model::winograd::one_channel;
use digitdash::model::{direct, simd};

/// Images a pass.
const IMAGES: usize = 1000;
/// Passes of each kernel.
const ROUNDS: usize = 41;

fn main() {
    let g = ConvGeometry {
        batch: IMAGES,
        in_channels: 1,
        out_channels: 32,
        kernel: 5,
        height: 28,
        width: 28,
    };
    // A fixed pseudo-random stream: pixels in 0..1, weights and biases in ±0.1.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let pixels: Vec<f32> = (0..IMAGES * g.plane()).map(|_| uniform()).collect();
    let weight: Vec<f32> = (0..32 * 25).map(|_| uniform() * 0.2 - 0.1).collect();
    let bias: Vec<f32> = (0..32).map(|_| uniform() * 0.2 - 0.1).collect();
    let len = IMAGES * g.output_image() / 4;
    let (mut by_direct, mut by_winograd) = (vec![0.0f32; len], vec![0.0f32; len]);
    let (mut direct_ms, mut winograd_ms) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let wt = direct::transpose_filters(&g, &weight);
        direct::forward_pooled_channel_last(&g, &pixels, &wt, &bias, &mut by_direct);
        direct_ms.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        let u = one_channel::transform_filters(&g, &weight);
        one_channel::pooled_values(&g, &pixels, &u, &bias, &mut by_winograd);
        winograd_ms.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let (direct, winograd) = (median(&mut direct_ms), median(&mut winograd_ms));
    let difference = by_direct
        .iter()
        .zip(&by_winograd)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let largest = by_direct.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    println!(
        "first layer, {IMAGES} images, {} threads, {}: medians of {ROUNDS}, alternating",
        rayon::current_num_threads(),
        simd::instruction_set()
    );
    println!("  direct sum           {direct:7.2} ms");
    println!("  Winograd F(4x4,5x5)  {winograd:7.2} ms");
    println!("  direct / Winograd    {:7.2}x", direct / winograd);
    println!("  largest difference   {difference:.1e} (largest value {largest:.2})",);
    let chosen = if one_channel::beats_direct() {
        "Winograd"
    } else {
        "the direct sum"
    };
    println!("  inference on this CPU takes {chosen}");
}

/// The middle value of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
