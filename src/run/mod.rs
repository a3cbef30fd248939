//! A run's folder: where everything lives ([`RunDir`]), the records written as it goes, and
//! its checkpoints.

pub mod checkpoint;
pub mod dir;
pub mod records;
pub mod smoothing;

pub use checkpoint::{CheckpointError, CheckpointMeta};
pub use dir::{CheckpointKind, RunDir};
pub use records::{MetricsRow, RecordError, RunRecords};
