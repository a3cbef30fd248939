//! Searching the settings: a sweep file's space ([`space`], [`spec`]), the ways trials'
//! settings are chosen ([`sampler`]: grid and random; [`tpe`]), asynchronous successive
//! halving ([`asha`]), what to do next ([`planner`]), the one record of a decision
//! ([`record`]), the sweep's folder ([`folder`]) and the sweep read back from it ([`board`]).
//!
//! Everything here is files and pure state; `commands::sweep` trains the trials (each an
//! ordinary run folder inside the sweep's) and writes the records this module defines. The
//! dashboard's Sweep page reads a sweep through [`SweepBoard::read`].

pub mod apply;
pub mod asha;
pub mod board;
pub mod error;
pub mod folder;
pub mod planner;
pub mod record;
pub mod sampler;
pub mod space;
pub mod spec;
pub mod tpe;
pub mod value;

pub use board::{SweepBoard, TrialRow, TrialStatus};
pub use error::SweepError;
pub use folder::SweepDir;
pub use record::SweepRecord;
pub use spec::{Method, SweepFile, SweepSpec};
pub use value::{ParamValue, Settings};
