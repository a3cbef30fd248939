//! A run's folder: its records as it goes and its checkpoints.

pub mod checkpoint;
pub mod records;

pub use checkpoint::{CheckpointError, CheckpointMeta};
pub use records::{RecordError, RunRecords};
