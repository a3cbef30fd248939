//! `digitdash bench --compare`: the PyTorch reference and digitdash measured alternately in
//! one run, so both see the same machine, and their ratios.

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

use super::measure::{measure, BenchReport};
use super::reference::{number, Reference};
use super::stats::median;
use crate::cli::BenchArgs;

/// One round: the reference's figures, then ours.
#[derive(Debug, Serialize)]
pub struct Round {
    /// PyTorch's step time, ms.
    pub reference_step_ms: f64,
    /// digitdash's step time, ms.
    pub step_ms: f64,
    /// PyTorch's inference, images/s.
    pub reference_images_per_s: f64,
    /// digitdash's inference, images/s.
    pub images_per_s: f64,
    /// digitdash's step as a share of the gemm peak measured in the same round (1 = the
    /// peak).
    pub peak_share: f64,
}

/// Alternates reference and digitdash `args.rounds` times and prints the ratios.
pub fn compare(args: &BenchArgs, data_dir: &std::path::Path) -> Result<()> {
    let pytorch = Reference::prepare(&args.python, args.reference.as_deref())?;
    let mut rounds = Vec::new();
    let mut last: Option<(Value, BenchReport)> = None;
    for round in 1..=args.rounds {
        eprintln!("round {round}: PyTorch reference ...");
        let reference = pytorch.run(args.steps, args.batch_size)?;
        eprintln!("round {round}: digitdash ...");
        let ours = measure(args, data_dir)?;
        rounds.push(Round {
            reference_step_ms: number(&reference, "train_step_ms_median")?,
            step_ms: ours.train_step_ms_median,
            reference_images_per_s: number(&reference, "inference_images_per_s")?,
            images_per_s: ours.inference_images_per_s,
            peak_share: ours.train_step_peak_share,
        });
        last = Some((reference, ours));
    }
    let mut step_ratios: Vec<f64> = rounds
        .iter()
        .map(|r| r.step_ms / r.reference_step_ms)
        .collect();
    let mut inference_ratios: Vec<f64> = rounds
        .iter()
        .map(|r| r.images_per_s / r.reference_images_per_s)
        .collect();
    let (step_ratio, inference_ratio) = (median(&mut step_ratios), median(&mut inference_ratios));
    let mut peak_shares: Vec<f64> = rounds.iter().map(|r| r.peak_share).collect();
    let peak_share = median(&mut peak_shares);
    let (reference, ours) = last.context("no rounds ran")?;
    if args.json {
        let value = serde_json::json!({
            "rounds": rounds,
            "step_time_ratio_median": step_ratio,
            "inference_ratio_median": inference_ratio,
            "peak_share_median": peak_share,
            "reference": reference,
            "digitdash": ours,
        });
        println!("{value}");
        return Ok(());
    }
    let their_instruction_set = reference["instruction_set"].as_str();
    println!(
        "digitdash vs {} ({}, {}; digitdash {}, {}), batch {}",
        reference["framework"].as_str().unwrap_or("reference"),
        crate::output::counted(reference["threads"].as_u64().unwrap_or(0), "thread"),
        their_instruction_set.unwrap_or("instruction set unknown"),
        crate::output::counted(ours.threads as u64, "thread"),
        ours.instruction_set,
        ours.batch_size
    );
    if let Some(note) = instruction_set_mismatch(&ours.instruction_set, their_instruction_set) {
        println!("{note}");
    }
    println!(
        "round   step ms: torch  digitdash  ratio   inference img/s: torch  digitdash  ratio   \
         % of gemm peak"
    );
    for (i, r) in rounds.iter().enumerate() {
        println!(
            "{:>5}   {:>14.1} {:>10.1} {:>6.2}   {:>22.0} {:>10.0} {:>6.2}   {:>14.0}",
            i + 1,
            r.reference_step_ms,
            r.step_ms,
            r.step_ms / r.reference_step_ms,
            r.reference_images_per_s,
            r.images_per_s,
            r.images_per_s / r.reference_images_per_s,
            100.0 * r.peak_share
        );
    }
    println!(
        "median ratios: step time {step_ratio:.2}x PyTorch's (target <= 0.60), inference {inference_ratio:.2}x PyTorch's images/s (target >= 3)"
    );
    println!(
        "peak memory: digitdash {:.0} MB, PyTorch {} MB",
        ours.peak_rss_mb, reference["peak_rss_mb"]
    );
    println!(
        "digitdash's step: {:.0}% of the gemm peak measured in its round, median of the rounds \
         (last round: {:.0} GFLOP/s a step, peak {:.0} GFLOP/s)",
        100.0 * peak_share,
        ours.train_step_gflops,
        ours.gemm_peak_gflops
    );
    Ok(())
}

/// A warning when digitdash's kernels (`ours`: `AVX-512`, `AVX2`, `x86-64`) and PyTorch's
/// (`theirs`, as `torch.backends.cpu.get_cpu_capability()` names it: `AVX512`, `AVX2`,
/// `DEFAULT`) ran on different instruction sets, so that the ratios compare those as well as
/// the code. Nothing when they agree or PyTorch did not say.
pub fn instruction_set_mismatch(ours: &str, theirs: Option<&str>) -> Option<String> {
    let theirs = theirs?;
    let canonical = |name: &str| match name.replace('-', "").to_ascii_uppercase().as_str() {
        "DEFAULT" | "X8664" => "scalar".to_string(),
        other => other.to_string(),
    };
    (canonical(ours) != canonical(theirs)).then(|| {
        format!(
            "note: digitdash ran {ours} kernels and PyTorch {theirs} ones, so the ratios compare \
             instruction sets as well as code; to hold both to AVX2, build with \
             `--no-default-features` and run with ATEN_CPU_CAPABILITY=avx2 \
             ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 (README, Speed)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_instruction_sets_are_named_and_matching_ones_pass_quietly() {
        assert_eq!(instruction_set_mismatch("AVX-512", Some("AVX512")), None);
        assert_eq!(instruction_set_mismatch("AVX2", Some("AVX2")), None);
        assert_eq!(instruction_set_mismatch("x86-64", Some("DEFAULT")), None);
        assert_eq!(instruction_set_mismatch("AVX2", None), None);
        let note = instruction_set_mismatch("AVX2", Some("AVX512")).expect("a note");
        assert!(note.contains("AVX2 kernels and PyTorch AVX512"), "{note}");
        assert!(note.contains("--no-default-features"), "{note}");
        assert!(!note.contains("  "), "one space between words: {note}");
    }
}
