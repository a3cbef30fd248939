//! The subcommands besides training, one module each.

/// `digitdash bench`: training-step, inference and per-layer timings, and the PyTorch comparison.
pub mod bench;
/// Which checkpoint a path names: a run folder's best (or of a step), or the path itself.
pub mod checkpoint_of;
/// `digitdash eval`: a saved model's test accuracy, loss and confusion matrix.
pub mod eval;
/// `digitdash export`: a saved model as an ONNX file.
pub mod export;
/// `digitdash lr-find`: the learning-rate range test, drawn, with a suggested rate.
pub mod lr_find;
/// `digitdash plot`: loss and accuracy of runs against step, overlaid, as SVG or PNG.
pub mod plot;
/// `digitdash predict`: classifying PNG images of digits with a saved model.
pub mod predict;
/// `digitdash presets`: each preset trained on each seed, with epochs, time and accuracy.
pub mod presets;
/// `digitdash runs`: every run under a folder, with status, accuracy and setting differences.
pub mod runs;
/// `digitdash completions` and `digitdash man`: shell completions and man pages.
pub mod shell;
/// `digitdash sweep`: searching the settings, locally or planned for a cluster, and its report.
pub mod sweep;
/// `digitdash watch SWEEP_DIR`: the dashboard on a sweep's page, following its trials.
pub mod watch_sweep;
