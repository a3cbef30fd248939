//! Classifies PNG files with a saved model and prints one line each: the class, its
//! probability and the next two guesses, named as the dataset names its classes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::data::{png, Dataset};
use crate::model::score::{argmax, classify};
use crate::model::CLASSES;
use crate::output::StdoutLines;
use crate::run::checkpoint::load_on_cpu;

/// `digitdash predict`: classifies PNG files and prints one line each, naming the classes as
/// `dataset` does.
pub fn run(checkpoint: &Path, images: &[PathBuf], dataset: Dataset) -> Result<()> {
    let (device, model) = load_on_cpu(checkpoint)?;
    let pixels = images
        .iter()
        .map(|p| png::load_digit(p).with_context(|| format!("cannot use image {}", p.display())))
        .collect::<Result<Vec<_>>>()?;
    let mut out = StdoutLines::default();
    let probabilities = classify(&model, &device, &pixels.concat());
    for (path, probs) in images.iter().zip(probabilities.chunks(CLASSES)) {
        let digit = argmax(probs);
        let mut ranked: Vec<usize> = (0..CLASSES).collect();
        ranked.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        let others: Vec<String> = ranked[1..3]
            .iter()
            .map(|&d| format!("{} {:.1}%", dataset.class_name(d), probs[d] * 100.0))
            .collect();
        out.line(format_args!(
            "{}: {} ({:.1}%; then {})",
            path.display(),
            dataset.class_name(digit),
            probs[digit] * 100.0,
            others.join(", ")
        ));
        if out.is_closed() {
            break;
        }
    }
    Ok(())
}
