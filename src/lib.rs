//! digitdash: train the TensorFlow "Deep MNIST" convolutional network with dfdx and watch it
//! learn in the terminal.
//!
//! The crate is split the way the program runs: [`config`] says what to do, [`data`] reads and
//! downloads MNIST, [`model`] holds the network and its hand-written convolution and pooling
//! layers, [`train`] runs the trainer thread and speaks over `flume` channels, and the
//! front-ends ([`headless`] and the dashboard) only consume the trainer's events.

pub mod alloc;
pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod durable;
pub mod headless;
pub mod model;
pub mod run;
pub mod signals;
pub mod train;
pub mod tui;
pub mod ui;
