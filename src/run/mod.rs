//! A run's folder: where everything lives ([`RunDir`]), the records written as it goes, its
//! checkpoints, and the lock that keeps it to one writer.

pub mod checkpoint;
pub mod dir;
pub mod lock;
pub mod records;

pub use checkpoint::{CheckpointError, CheckpointMeta};
pub use dir::{CheckpointKind, RunDir};
pub use lock::{writer_state, LockError, RunLock, WriterState};
pub use records::{MetricsRow, RecordError, RunRecords};
