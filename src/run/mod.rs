//! A run's folder: where everything lives ([`RunDir`]), the records written as it goes, its
//! checkpoints, the lock that keeps it to one writer, and reading it all back
//! ([`RunHistory`]) for listings, charts and plots.

pub mod checkpoint;
pub mod dir;
pub mod downsample;
pub mod events;
pub mod history;
pub mod layer_history;
pub mod layers;
pub mod listing;
pub mod lock;
pub mod metrics;
pub mod numbers;
pub mod record;
pub mod smoothing;
pub mod status;
pub mod tail;
pub mod writer;

pub use checkpoint::{CheckpointError, CheckpointMeta};
pub use dir::{CheckpointKind, RunDir};
pub use history::{Changes, HistoryError, RunHistory};
pub use lock::{writer_state, LockError, RunLock, WriterState};
pub use metrics::{Column, Detail, MetricsRow};
pub use record::Record;
pub use status::{writer_alive, RunStatus};
pub use writer::{RecordError, RunRecords};
