//! The trainer thread and the messages it speaks.
//!
//! [`trainer`] runs the loop and applies commands between steps; [`state`] is what a step
//! changes (and what a checkpoint holds); [`step`] is one forward, backward and [`adam`]
//! update; [`checkpointer`] writes the run's records and checkpoints; [`messages`] is
//! everything that crosses the channel, typed; [`lr_range`] is the learning-rate range test
//! of `digitdash lr-find`.

pub mod adam;
pub mod checkpointer;
pub mod layer_stats;
pub mod lr_range;
pub mod messages;
pub mod schedule;
pub mod state;
pub mod step;
pub mod trainer;

pub use messages::{
    CheckpointChoice, Command, Evaluation, Event, Outcome, Setting, SettingChange, SettingValue,
    Started, StepStats, Summary, TrainingBatch,
};
pub use trainer::{spawn, spawn_with, RunSetup, RunStart, TrainerHandle, TrialLimits};

#[cfg(test)]
mod tests;
