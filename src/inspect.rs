//! Using a saved model after training: `digitdash eval` (test accuracy and confusion matrix)
//! and `digitdash predict` (classify image files).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use dfdx::prelude::*;

use crate::data::{self, Split};
use crate::model::{Network, CLASSES, IMAGE_PIXELS};
use crate::run::checkpoint;
use crate::train::evaluate::{argmax, evaluate, log_softmax};

/// Writes to stdout; false when stdout is closed (e.g. piped into `head`), which is not an
/// error for a report.
fn print_quietly(text: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}

/// Test-set results of a saved model.
#[derive(Debug, Clone)]
pub struct EvalReport {
    /// Fraction of test images classified right.
    pub accuracy: f64,
    /// Mean cross-entropy.
    pub loss: f64,
    /// `confusion[true][predicted]` counts.
    pub confusion: [[usize; CLASSES]; CLASSES],
}

/// Loads a checkpoint (folder or `.safetensors` file) onto the CPU.
pub fn load_model(path: &Path) -> Result<(Cpu, Network)> {
    let device = Cpu::default();
    let (model, _) = checkpoint::load(path, &device)?;
    Ok((device, model))
}

/// Scores a saved model on a test split.
pub fn eval_model(model: &Network, device: &Cpu, test: &Split) -> EvalReport {
    let scores = evaluate(model, device, test, 500);
    let mut confusion = [[0usize; CLASSES]; CLASSES];
    for (i, probs) in scores.probabilities.chunks(CLASSES).enumerate() {
        confusion[test.label(i) as usize][argmax(probs)] += 1;
    }
    EvalReport {
        accuracy: scores.accuracy,
        loss: scores.loss,
        confusion,
    }
}

/// The confusion matrix as text: rows are true digits, columns predictions.
pub fn format_confusion(confusion: &[[usize; CLASSES]; CLASSES]) -> String {
    let mut out = String::from("true\\pred");
    for p in 0..CLASSES {
        out.push_str(&format!("{p:>6}"));
    }
    out.push_str("   recall\n");
    for (t, row) in confusion.iter().enumerate() {
        out.push_str(&format!("{t:>9}"));
        for count in row {
            out.push_str(&format!("{count:>6}"));
        }
        let total: usize = row.iter().sum();
        let recall = row[t] as f64 / total.max(1) as f64;
        out.push_str(&format!("   {:.4}\n", recall));
    }
    out
}

/// `digitdash eval`: prints test accuracy, loss and the confusion matrix.
pub fn run_eval(checkpoint: &Path, data_dir: &Path) -> Result<()> {
    let (device, model) = load_model(checkpoint)?;
    let mnist = data::load(data_dir)?;
    let report = eval_model(&model, &device, &mnist.test);
    let text = format!(
        "test accuracy {:.4} ({} of {}), test loss {:.4}\n{}",
        report.accuracy,
        (report.accuracy * mnist.test.len() as f64).round(),
        mnist.test.len(),
        report.loss,
        format_confusion(&report.confusion)
    );
    print_quietly(&text);
    Ok(())
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

/// `digitdash predict`: classifies PNG files and prints one line each.
pub fn run_predict(checkpoint: &Path, images: &[PathBuf]) -> Result<()> {
    let (device, model) = load_model(checkpoint)?;
    let pixels = images
        .iter()
        .map(|p| {
            crate::image::load_digit(p).with_context(|| format!("cannot use image {}", p.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    for (path, probs) in images.iter().zip(classify(&model, &device, &pixels)) {
        let digit = argmax(&probs);
        let mut ranked: Vec<usize> = (0..CLASSES).collect();
        ranked.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        let others: Vec<String> = ranked[1..3]
            .iter()
            .map(|&d| format!("{d} {:.1}%", probs[d] * 100.0))
            .collect();
        let line = format!(
            "{}: {digit} ({:.1}%; then {})\n",
            path.display(),
            probs[digit] * 100.0,
            others.join(", ")
        );
        if !print_quietly(&line) {
            break;
        }
    }
    Ok(())
}
