//! The two front-ends over a running trainer: [`headless`] prints lines, [`dashboard`] draws
//! the terminal UI. Both only consume the trainer's events and send it commands.

pub mod dashboard;
pub mod headless;
