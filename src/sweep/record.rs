//! The one record of a sweep's decisions: a line of the sweep folder's `decisions.jsonl` for
//! each trial planned, started, reaching a rung, promoted, stopped early, finished or failed.
//! Written by the process that decides (a local sweep, or each `sweep trial` of a cluster
//! job) and read back by `sweep --resume`, `sweep report`, `plot` and the dashboard. One
//! definition, serialised both ways; its `decision` field names the kind:
//!
//! ```text
//! {"decision":"started","trial":7,"settings":{"batch_size":64,"learning_rate":0.001},"rung":0,"steps":286,"full_steps":1718}
//! {"decision":"promoted","trial":7,"from_rung":0,"to_rung":1,"validation_accuracy":0.9712,"steps":573}
//! ```
//!
//! Numbers JSON cannot hold (`NaN`) are written as `null` and read back as `NaN`.

use serde::{Deserialize, Serialize};
use strum::EnumDiscriminants;

use super::value::Settings;
use crate::run::numbers::number_or_nan;

/// A line of `decisions.jsonl`; its `decision` field names the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, EnumDiscriminants)]
#[serde(tag = "decision", rename_all = "snake_case")]
#[strum_discriminants(
    name(DecisionKind),
    derive(strum::EnumIter),
    doc = "The kinds of [`SweepRecord`], without their fields."
)]
pub enum SweepRecord {
    /// A trial's settings fixed ahead of its start (grid and random sweeps, `sweep plan`).
    Planned(Planned),
    /// A trial began, toward its first rung (or its full budget).
    Started(TrialStarted),
    /// A trial trained to a rung below the top and waits for a promotion.
    Reached(RungReached),
    /// A trial goes on to the next rung.
    Promoted(Promotion),
    /// A trial was left at its rung: too few of its rung's trials were below it.
    StoppedEarly(StoppedEarly),
    /// A trial trained its full budget.
    Finished(TrialFinished),
    /// A trial could not train (a diverged loss, a bad setting); the sweep went on.
    Failed(TrialFailed),
}

impl SweepRecord {
    /// The trial the decision is about.
    pub fn trial(&self) -> usize {
        match self {
            SweepRecord::Planned(r) => r.trial,
            SweepRecord::Started(r) => r.trial,
            SweepRecord::Reached(r) => r.trial,
            SweepRecord::Promoted(r) => r.trial,
            SweepRecord::StoppedEarly(r) => r.trial,
            SweepRecord::Finished(r) => r.trial,
            SweepRecord::Failed(r) => r.trial,
        }
    }

    /// Which kind of decision this is.
    pub fn kind(&self) -> DecisionKind {
        DecisionKind::from(self)
    }

    /// The record as one line of JSON (without the line end).
    pub fn to_json_line(&self) -> String {
        // Numbers, names and maps of them: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads one line; `None` when it is not a decision of this version (a torn line, a kind
    /// from a later version).
    pub fn from_json_line(line: &[u8]) -> Option<Self> {
        serde_json::from_slice(line).ok()
    }
}

/// A trial's settings, fixed ahead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    /// The trial's number.
    pub trial: usize,
    /// Its searched settings.
    pub settings: Settings,
}

/// A trial's start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialStarted {
    /// The trial's number.
    pub trial: usize,
    /// Its searched settings.
    pub settings: Settings,
    /// The rung it trains toward (0).
    pub rung: usize,
    /// The step it trains to now.
    pub steps: u64,
    /// Its full budget in steps.
    pub full_steps: u64,
}

/// A rung reached, below the top.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RungReached {
    /// The trial's number.
    pub trial: usize,
    /// The rung.
    pub rung: usize,
    /// Steps trained so far.
    pub steps: u64,
    /// Images trained so far.
    pub images: u64,
    /// Validation accuracy at the rung: what promotions compare.
    #[serde(deserialize_with = "number_or_nan")]
    pub validation_accuracy: f64,
    /// Seconds the trial has trained for, its evaluations included.
    #[serde(deserialize_with = "number_or_nan")]
    pub seconds: f64,
}

/// A promotion to the next rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    /// The trial's number.
    pub trial: usize,
    /// The rung it leaves.
    pub from_rung: usize,
    /// The rung it trains toward.
    pub to_rung: usize,
    /// Its validation accuracy at `from_rung`.
    #[serde(deserialize_with = "number_or_nan")]
    pub validation_accuracy: f64,
    /// The step it trains to now.
    pub steps: u64,
}

/// A trial left at its rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoppedEarly {
    /// The trial's number.
    pub trial: usize,
    /// The rung it stays at.
    pub rung: usize,
    /// Its validation accuracy there.
    #[serde(deserialize_with = "number_or_nan")]
    pub validation_accuracy: f64,
    /// Steps it trained.
    pub steps: u64,
    /// Images it trained.
    pub images: u64,
}

/// A trial's full budget trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialFinished {
    /// The trial's number.
    pub trial: usize,
    /// Steps it trained.
    pub steps: u64,
    /// Images it trained.
    pub images: u64,
    /// Validation accuracy of its final weights.
    #[serde(deserialize_with = "number_or_nan")]
    pub validation_accuracy: f64,
    /// Its best validation accuracy (its best checkpoint's).
    #[serde(deserialize_with = "number_or_nan")]
    pub best_validation_accuracy: f64,
    /// The test accuracy of its best checkpoint, scored once at the end (never chosen on).
    #[serde(default)]
    pub test_accuracy: Option<f64>,
    /// Seconds it trained for, evaluations included.
    #[serde(deserialize_with = "number_or_nan")]
    pub seconds: f64,
}

/// A trial that could not train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialFailed {
    /// The trial's number.
    pub trial: usize,
    /// The rung it trained toward.
    pub rung: usize,
    /// What happened.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;
    use crate::sweep::value::ParamValue;

    /// One record of `kind` with every field set; no catch-all arm, so a new kind does not
    /// compile until it has one, and is then round-tripped below.
    fn example(kind: DecisionKind) -> SweepRecord {
        let settings: Settings = [
            ("learning_rate".to_string(), ParamValue::Float(1.2e-3)),
            ("batch_size".to_string(), ParamValue::Int(64)),
            ("schedule".to_string(), ParamValue::Text("one_cycle".into())),
        ]
        .into();
        match kind {
            DecisionKind::Planned => SweepRecord::Planned(Planned { trial: 3, settings }),
            DecisionKind::Started => SweepRecord::Started(TrialStarted {
                trial: 3,
                settings,
                rung: 0,
                steps: 286,
                full_steps: 1718,
            }),
            DecisionKind::Reached => SweepRecord::Reached(RungReached {
                trial: 3,
                rung: 1,
                steps: 573,
                images: 36_672,
                validation_accuracy: 0.97,
                seconds: 61.5,
            }),
            DecisionKind::Promoted => SweepRecord::Promoted(Promotion {
                trial: 3,
                from_rung: 1,
                to_rung: 2,
                validation_accuracy: 0.97,
                steps: 1718,
            }),
            DecisionKind::StoppedEarly => SweepRecord::StoppedEarly(StoppedEarly {
                trial: 4,
                rung: 0,
                validation_accuracy: 0.91,
                steps: 286,
                images: 18_304,
            }),
            DecisionKind::Finished => SweepRecord::Finished(TrialFinished {
                trial: 3,
                steps: 1718,
                images: 109_952,
                validation_accuracy: 0.989,
                best_validation_accuracy: 0.99,
                test_accuracy: Some(0.9891),
                seconds: 240.25,
            }),
            DecisionKind::Failed => SweepRecord::Failed(TrialFailed {
                trial: 5,
                rung: 0,
                message: "the loss is NaN at step 12".into(),
            }),
        }
    }

    #[test]
    fn every_kind_reads_back_as_written() {
        for kind in DecisionKind::iter() {
            let record = example(kind);
            let line = record.to_json_line();
            assert!(!line.contains('\n'), "{line}");
            assert_eq!(
                SweepRecord::from_json_line(line.as_bytes()),
                Some(record.clone())
            );
            assert_eq!(record.kind(), kind);
            assert!(record.trial() >= 3);
        }
    }

    #[test]
    fn nan_reads_back_as_nan_and_strangers_are_skipped() {
        let mut record = example(DecisionKind::Reached);
        if let SweepRecord::Reached(r) = &mut record {
            r.validation_accuracy = f64::NAN;
        }
        let line = record.to_json_line();
        assert!(line.contains("null"), "{line}");
        let Some(SweepRecord::Reached(back)) = SweepRecord::from_json_line(line.as_bytes()) else {
            panic!("{line}")
        };
        assert!(back.validation_accuracy.is_nan());
        assert_eq!(
            SweepRecord::from_json_line(b"{\"decision\":\"later\",\"trial\":1}"),
            None
        );
        assert_eq!(SweepRecord::from_json_line(b"{\"decision\":\"star"), None);
    }
}
