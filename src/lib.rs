//! digitdash: train the TensorFlow "Deep MNIST" convolutional network with dfdx and watch it
//! learn in the terminal.
//!
//! Data flows one way: the trainer thread (or a run folder read back) sends events, a
//! front-end turns them into state and draws it; commands go back. The modules, lowest first
//! (each imports only from those above it; `tests/module_graph.rs` keeps that true):
//!
//! ```text
//! alloc, panic_text, error_text, output, durable, signals
//!               small services used across the rest
//! settings      the live settings as typed values: ranges and key steps, defined once
//! data/         the datasets (MNIST, Fashion-MNIST, KMNIST) by name: file tables and checksums,
//!               class names, IDX reader, download, splits, epoch order, images from and to PNG
//! augment/      training-time image transforms
//! model/        the network (shapes and layers by name), its kernels, and scores (argmax,
//!               softmax, classifying and evaluating images)
//! config        Config, presets and their checks (config.toml)
//! cli           flags and subcommands, and how they combine with config.toml
//! run/          a run's folder: the one record type (record), the records written (writer,
//!               metrics, layer statistics), checkpoints, the write lock, and reading it all
//!               back (history, events, tail, status, listing, smoothing, downsampling,
//!               layer history)
//! sweep/        searching the settings: a sweep file's space and method, grid, random and tpe
//!               samplers, asynchronous successive halving, the decisions' record, the sweep's
//!               folder and the sweep read back from it
//! export/       the network as an ONNX model (prost-encoded messages)
//! plot/         plots of runs as SVG or PNG files (plotters, built-in font)
//! train/        the trainer thread: messages (events, commands, outcome), training state,
//!               steps, schedule, checkpointer, layer statistics
//! source/       where events come from: the Source trait, live (a trainer) and replay (a
//!               run folder), and the one pump every front-end reads through (drive, Pump)
//! frontend/     headless/ (text and JSON printers) and dashboard/ (frame loop, terminal,
//!               input and inspector threads, app/ state and ui/ drawing)
//! commands/     the subcommands: bench/, eval, predict, runs, plot, presets, sweep/, lr_find,
//!               export, completions, man; which checkpoint a run folder stands for
//! ```

pub mod alloc;
pub mod augment;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod durable;
pub mod error_text;
pub mod export;
pub mod frontend;
pub mod model;
pub mod output;
pub mod panic_text;
pub mod plot;
pub mod priority;
pub mod run;
pub mod settings;
pub mod signals;
pub mod source;
pub mod sweep;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod train;
