//! digitdash: train the TensorFlow "Deep MNIST" convolutional network with dfdx and watch it
//! learn in the terminal.
//!
//! Data flows one way: the trainer thread sends events, a front-end turns them into state and
//! draws it; commands go back. The modules, lowest first:
//!
//! ```text
//! settings      the live settings as typed values: ranges and key steps, defined once
//! config        Config, presets and their checks (config.toml, flags)
//! data/         the datasets (MNIST, Fashion-MNIST, KMNIST) by name: file tables and checksums,
//!               class names, IDX reader, download, splits, epoch order
//! model/        the network (shapes and layers by name) and its kernels
//! run/          a run's folder (RunDir), its records and checkpoint files; reading them back
//!               (RunHistory: tail reader, status, listing, smoothing, downsampling)
//! export/       the network as an ONNX model (prost-encoded messages)
//! plot/         plots of runs as SVG or PNG files (plotters, built-in font)
//! train/        the trainer thread; messages (events, commands, records, outcome);
//!               training state and checkpointer
//! frontend/     headless/ (text and JSON printers) and dashboard/ (frame loop, terminal,
//!               input thread, app/ state and ui/ drawing)
//! commands/     the subcommands: bench/, eval, predict, runs, plot, export, completions, man
//! cli           flags and how they combine with config.toml
//! signals, output, durable, panic_text, alloc   small services used across the above
//! ```

pub mod alloc;
pub mod augment;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod durable;
pub mod export;
pub mod frontend;
pub mod model;
pub mod output;
pub mod panic_text;
pub mod plot;
pub mod run;
pub mod settings;
pub mod signals;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod train;
