//! `digitdash bench` prints its own figures as text or one JSON line; `--compare` hands over
//! to [`compare`].

pub mod compare;
pub mod layers;
pub mod measure;
pub mod reference;
pub mod roofline;
pub mod stats;
pub mod stats_cost;

use anyhow::Result;

use crate::cli::BenchArgs;
pub use measure::{measure, BenchReport};

/// Runs the benchmark and prints its figures.
pub fn run(args: &BenchArgs, data_dir: &std::path::Path) -> Result<()> {
    if args.compare {
        return compare::compare(args, data_dir);
    }
    let report = measure(args, data_dir)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report, args.steps);
    }
    Ok(())
}

/// The report as text: the steps, inference, memory and the per-layer table.
fn print_text(r: &BenchReport, steps: usize) {
    println!(
        "digitdash bench ({}, {}; the network without dropout, as the PyTorch reference)",
        crate::output::counted(r.threads as u64, "thread"),
        r.instruction_set
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
    let share = |ms: f64| 100.0 * ms / r.train_step_ms_median;
    println!(
        "  augmenting a batch as --preset best does: median {:.2} ms, {:.1}% of the median step",
        r.augment_ms_median,
        share(r.augment_ms_median)
    );
    println!(
        "  the same plus elastic distortion (alpha 34, sigma 4): median {:.2} ms, {:.1}%",
        r.augment_elastic_ms_median,
        share(r.augment_elastic_ms_median)
    );
    println!(
        "  layer statistics of a step: median {:.2} ms ({:.0}% of the median step); every {} \
         steps (log.layer_stats_every's default) that is {:.2}% of training",
        r.layer_stats_ms_median,
        share(r.layer_stats_ms_median),
        r.layer_stats_every,
        r.layer_stats_share_percent
    );
    println!("  peak resident memory: {:.0} MB", r.peak_rss_mb);
    println!(
        "  gemm peak (f32, 2048x2048, {}): {:.0} GFLOP/s; the step: {:.2} GFLOP, {:.0} GFLOP/s, {:.0}% of the peak",
        crate::output::counted(r.threads as u64, "thread"),
        r.gemm_peak_gflops,
        r.train_step_gflop,
        r.train_step_gflops,
        100.0 * r.train_step_peak_share
    );
    println!("  per layer (median ms, GFLOP/s, % of peak):  forward                 backward");
    for l in &r.layers {
        println!(
            "    {:<28} {:>8.2} {:>6.0} {:>5.0}%   {:>8.2} {:>6.0} {:>5.0}%",
            l.layer,
            l.forward_ms,
            l.forward_gflops,
            100.0 * l.forward_peak_share,
            l.backward_ms,
            l.backward_gflops,
            100.0 * l.backward_peak_share
        );
    }
    println!(
        "  (operations counted as a direct convolution does them, so a Winograd layer's rate is an effective one)"
    );
}
