//! The trainer thread and the messages it speaks.

pub mod evaluate;
pub mod messages;
mod persist;
pub mod schedule;
pub mod step;
pub mod trainer;

pub use messages::{Command, Evaluation, Event, SettingChange, Started, StepStats, Summary};
pub use trainer::{spawn, RunSetup, TrainerHandle};
