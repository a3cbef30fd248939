//! Carrying out what the app asks of the world besides the trainer: questions for the
//! inspector thread, and drawings to write.

use std::path::{Path, PathBuf};

use super::app::{App, Effect};
use super::inspector::Inspector;
use crate::data::IMAGE_SIDE;

/// Carries out the app's queued effects. Returns whether the screen changed.
pub fn carry_out(app: &mut App, inspector: &Inspector) -> bool {
    let mut changed = false;
    for effect in app.take_effects() {
        match effect {
            Effect::Inspect(job) => inspector.ask(job),
            Effect::SaveDrawing { dir, pixels } => {
                app.drawing_saved(save_drawing(&dir, &pixels));
                changed = true;
            }
        }
    }
    changed
}

/// Writes `pixels` as `drawing-NNN.png` under the first number not taken in `dir`.
pub fn save_drawing(dir: &Path, pixels: &[f32]) -> Result<PathBuf, String> {
    let path = (1..10_000)
        .map(|n| dir.join(format!("drawing-{n:03}.png")))
        .find(|p| !p.exists())
        .ok_or_else(|| format!("{} holds too many drawings", dir.display()))?;
    crate::commands::predict::png::write_png(&path, pixels, IMAGE_SIDE)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
