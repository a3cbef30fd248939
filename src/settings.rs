//! The settings that can change while training runs, as typed values: what every part of the
//! program accepts (the config check and the trainer), the narrower range the dashboard's keys
//! and typed values stay in, and how one key press steps each of them. All of it is defined
//! here once; the trainer's messages carry these types ([`crate::train::messages`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Largest mini-batch a run may use (the size of MNIST's training set).
pub const MAX_BATCH_SIZE: usize = 60_000;
/// Most steps a run may plan: a trillion, far beyond any run (at a thousand steps a second
/// it would take thirty years), and far within what the step counters hold.
pub const MAX_STEPS: u64 = 1_000_000_000_000;
/// Learning rates the dashboard's keys and typed values stay within.
pub const LIVE_LEARNING_RATE: (f64, f64) = (1e-7, 1.0);
/// Factor by which one key press multiplies or divides the learning rate.
pub const LEARNING_RATE_FACTOR: f64 = 2.0;
/// Largest batch size the dashboard asks for (memory grows with it), unless the run started
/// with a larger one.
pub const LIVE_MAX_BATCH: usize = 1000;
/// How much one key press raises or lowers the dropout probability.
pub const DROPOUT_NOTCH: f32 = 0.1;
/// The largest dropout probability the dashboard asks for.
pub const LIVE_MAX_DROPOUT: f32 = 0.9;
/// The evaluation intervals one key press steps through (0: only at the end).
pub const EVAL_LADDER: [u64; 9] = [0, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

/// A setting that can change while training runs. Records spell it by [`Setting::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Setting {
    /// Adam's learning rate (the peak rate under a schedule).
    LearningRate,
    /// Images per mini-batch.
    BatchSize,
    /// Steps between test-set evaluations (0: only at the end).
    EvalEvery,
    /// Probability of dropping a unit of the 1024-unit layer while training.
    Dropout,
}

impl Setting {
    /// Every setting, in the order the dashboard lists them.
    pub const ALL: [Setting; 4] = [
        Setting::LearningRate,
        Setting::BatchSize,
        Setting::EvalEvery,
        Setting::Dropout,
    ];

    /// The key under `[train]` in `config.toml`, also the name in the run's records.
    pub fn name(self) -> &'static str {
        self.keys().0
    }

    /// The dotted config key, e.g. `train.learning_rate`.
    pub fn config_key(self) -> &'static str {
        self.keys().1
    }

    /// The setting's key under `[train]` and its dotted form: the one place both are spelled.
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Setting::LearningRate => ("learning_rate", "train.learning_rate"),
            Setting::BatchSize => ("batch_size", "train.batch_size"),
            Setting::EvalEvery => ("eval_every", "train.eval_every"),
            Setting::Dropout => ("dropout", "train.dropout"),
        }
    }

    /// The setting whose [`Setting::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Setting> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The name shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Setting::LearningRate => "learning rate",
            Setting::BatchSize => "batch size",
            Setting::EvalEvery => "eval every",
            Setting::Dropout => "dropout",
        }
    }

    /// What a valid value looks like, for an error about the config or a flag.
    pub fn rule(self) -> &'static str {
        match self {
            Setting::LearningRate => "it must be a number above 0 (the tutorial uses 1e-4)",
            Setting::BatchSize => "it must be between 1 and 60000 (the tutorial uses 50)",
            Setting::EvalEvery => "it must be a whole number of steps (0: only at the end)",
            Setting::Dropout => {
                "it must be at least 0 and below 1 (the tutorial uses 0.5; 0 turns dropout off)"
            }
        }
    }

    /// What a value typed into the dashboard must look like.
    pub fn hint(self) -> String {
        match self {
            Setting::LearningRate => format!(
                "a number from {:e} to {}",
                LIVE_LEARNING_RATE.0, LIVE_LEARNING_RATE.1
            ),
            Setting::BatchSize => format!("a whole number from 1 to {LIVE_MAX_BATCH}"),
            Setting::EvalEvery => "a number of steps (0: only at the end)".into(),
            Setting::Dropout => {
                format!("a probability from 0 to {LIVE_MAX_DROPOUT} (0: no dropout)")
            }
        }
    }

    /// The next (`forward`) or previous setting in [`Setting::ALL`], wrapping around.
    pub fn cycled(self, forward: bool) -> Setting {
        let n = Self::ALL.len();
        let i = self.index();
        Self::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// The setting's place in [`Setting::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Reads a value typed into the dashboard; `max_batch` is the largest batch size allowed
    /// there. The error says what is wrong.
    pub fn parse_live(self, text: &str, max_batch: usize) -> Result<SettingValue, String> {
        let text = text.trim();
        let value = match self {
            Setting::LearningRate => text.parse().ok().map(SettingValue::LearningRate),
            Setting::BatchSize => text.parse().ok().map(SettingValue::BatchSize),
            Setting::EvalEvery => text.parse().ok().map(SettingValue::EvalEvery),
            // Hundredths, as the screen and the records show it.
            Setting::Dropout => text
                .parse::<f32>()
                .ok()
                .map(|p| SettingValue::Dropout((p * 100.0).round() / 100.0)),
        };
        value
            .filter(|v| v.is_live(max_batch))
            .ok_or_else(|| format!("'{text}' is not {}", self.hint()))
    }
}

impl From<Setting> for &'static str {
    fn from(setting: Setting) -> Self {
        setting.name()
    }
}

impl TryFrom<String> for Setting {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Setting::from_name(&name).ok_or_else(|| format!("{name:?} is not a live setting"))
    }
}

/// The value of one live setting. Written alone it is a bare number; read back it needs its
/// setting ([`SettingValue::from_number`]), as the records keep it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// Adam's learning rate.
    LearningRate(f64),
    /// Images per mini-batch.
    BatchSize(usize),
    /// Steps between evaluations (0: only at the end).
    EvalEvery(u64),
    /// Dropout probability.
    Dropout(f32),
}

impl SettingValue {
    /// Which setting this is a value of.
    pub fn setting(self) -> Setting {
        match self {
            SettingValue::LearningRate(_) => Setting::LearningRate,
            SettingValue::BatchSize(_) => Setting::BatchSize,
            SettingValue::EvalEvery(_) => Setting::EvalEvery,
            SettingValue::Dropout(_) => Setting::Dropout,
        }
    }

    /// Whether a run may use this value at all: the rule of the config check and of the
    /// trainer ([`Setting::rule`] says it in words).
    pub fn is_valid(self) -> bool {
        match self {
            SettingValue::LearningRate(lr) => lr.is_finite() && lr > 0.0,
            SettingValue::BatchSize(b) => (1..=MAX_BATCH_SIZE).contains(&b),
            SettingValue::EvalEvery(_) => true,
            SettingValue::Dropout(p) => (0.0..1.0).contains(&p),
        }
    }

    /// Whether the dashboard may ask for this value (a part of the valid range);
    /// `max_batch` is the largest batch size allowed there.
    pub fn is_live(self, max_batch: usize) -> bool {
        self.is_valid()
            && match self {
                SettingValue::LearningRate(lr) => {
                    (LIVE_LEARNING_RATE.0..=LIVE_LEARNING_RATE.1).contains(&lr)
                }
                SettingValue::BatchSize(b) => b <= max_batch,
                SettingValue::EvalEvery(_) => true,
                SettingValue::Dropout(p) => p <= LIVE_MAX_DROPOUT,
            }
    }

    /// The value one key press up (`up`) or down makes of this one, kept in the dashboard's
    /// range (`max_batch` is the largest batch size there); `None` when it cannot move.
    pub fn stepped(self, up: bool, max_batch: usize) -> Option<SettingValue> {
        let next = match self {
            SettingValue::LearningRate(lr) => {
                let lr = if up {
                    lr * LEARNING_RATE_FACTOR
                } else {
                    lr / LEARNING_RATE_FACTOR
                };
                SettingValue::LearningRate(lr.clamp(LIVE_LEARNING_RATE.0, LIVE_LEARNING_RATE.1))
            }
            SettingValue::BatchSize(b) => {
                let b = if up { b.saturating_mul(2) } else { b / 2 };
                SettingValue::BatchSize(b.clamp(1, max_batch.max(1)))
            }
            SettingValue::EvalEvery(every) => SettingValue::EvalEvery(ladder_step(every, up)),
            // Above the dashboard's maximum (possible from the config file), only down moves.
            SettingValue::Dropout(p) if up && p >= LIVE_MAX_DROPOUT => return None,
            SettingValue::Dropout(p) => {
                let notches = (p / DROPOUT_NOTCH).round() + if up { 1.0 } else { -1.0 };
                SettingValue::Dropout((notches * DROPOUT_NOTCH).clamp(0.0, LIVE_MAX_DROPOUT))
            }
        };
        (!next.same_as(self)).then_some(next)
    }

    /// Whether two values are the same as far as the run is concerned (dropout to the
    /// hundredth it is shown and recorded with).
    pub fn same_as(self, other: SettingValue) -> bool {
        match (self, other) {
            (SettingValue::Dropout(a), SettingValue::Dropout(b)) => {
                (a * 100.0).round() == (b * 100.0).round()
            }
            _ => self == other,
        }
    }
}

impl SettingValue {
    /// A value of `setting` from a recorded number; `None` when the number cannot be one
    /// (a fraction or a negative number for a count).
    pub fn from_number(setting: Setting, number: f64) -> Option<SettingValue> {
        let count =
            (number >= 0.0 && number.fract() == 0.0 && number <= u64::MAX as f64).then_some(number);
        Some(match setting {
            Setting::LearningRate => SettingValue::LearningRate(number),
            Setting::BatchSize => SettingValue::BatchSize(count? as usize),
            Setting::EvalEvery => SettingValue::EvalEvery(count? as u64),
            Setting::Dropout => SettingValue::Dropout(number as f32),
        })
    }

    /// The bare number, as a config file or a flag would write it (`0.0001`, `0.5`).
    pub fn plain(self) -> String {
        match self {
            SettingValue::LearningRate(lr) => lr.to_string(),
            SettingValue::BatchSize(b) => b.to_string(),
            SettingValue::EvalEvery(every) => every.to_string(),
            SettingValue::Dropout(p) => p.to_string(),
        }
    }
}

impl fmt::Display for SettingValue {
    /// The value as the headless log and the event log show it: `1.000e-4`, `50`, `0.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::LearningRate(lr) => write!(f, "{lr:.3e}"),
            SettingValue::BatchSize(b) => write!(f, "{b}"),
            SettingValue::EvalEvery(every) => write!(f, "{every}"),
            SettingValue::Dropout(p) => write!(f, "{p:.2}"),
        }
    }
}

/// The next value on [`EVAL_LADDER`] above (`up`) or below `value`, or `value` at the end.
fn ladder_step(value: u64, up: bool) -> u64 {
    let next = if up {
        EVAL_LADDER.into_iter().find(|&v| v > value)
    } else {
        EVAL_LADDER.into_iter().rev().find(|&v| v < value)
    };
    next.unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_learning_rate_steps_by_the_factor_within_the_live_range() {
        let lr = SettingValue::LearningRate(1e-4);
        assert_eq!(
            lr.stepped(true, 1000),
            Some(SettingValue::LearningRate(2e-4))
        );
        assert_eq!(
            lr.stepped(false, 1000),
            Some(SettingValue::LearningRate(5e-5))
        );
        assert_eq!(SettingValue::LearningRate(1.0).stepped(true, 1000), None);
        assert!(SettingValue::LearningRate(1e30).is_valid());
        assert!(!SettingValue::LearningRate(1e30).is_live(1000));
        assert!(!SettingValue::LearningRate(f64::NAN).is_valid());
    }

    #[test]
    fn batch_size_doubles_and_halves_within_bounds() {
        let b = SettingValue::BatchSize(50);
        assert_eq!(b.stepped(true, 60), Some(SettingValue::BatchSize(60)));
        assert_eq!(SettingValue::BatchSize(1).stepped(false, 60), None);
        assert!(!SettingValue::BatchSize(0).is_valid());
        assert!(!SettingValue::BatchSize(MAX_BATCH_SIZE + 1).is_valid());
    }

    #[test]
    fn dropout_steps_by_a_tenth_and_from_above_the_live_maximum_only_down() {
        let p = SettingValue::Dropout;
        assert_eq!(p(0.5).stepped(true, 1), Some(p(0.6)));
        assert_eq!(p(0.1).stepped(false, 1), Some(p(0.0)));
        assert_eq!(p(0.0).stepped(false, 1), None);
        assert_eq!(p(LIVE_MAX_DROPOUT).stepped(true, 1), None);
        assert_eq!(p(0.95).stepped(true, 1), None);
        assert_eq!(p(0.95).stepped(false, 1), Some(p(LIVE_MAX_DROPOUT)));
        assert_eq!(p(0.33).stepped(true, 1), Some(p(0.4)));
        assert!(!p(1.0).is_valid());
        assert!(p(0.95).is_valid() && !p(0.95).is_live(1));
    }

    #[test]
    fn eval_interval_walks_the_ladder() {
        assert_eq!(ladder_step(1000, true), 2000);
        assert_eq!(ladder_step(300, true), 500);
        assert_eq!(ladder_step(300, false), 200);
        assert_eq!(ladder_step(50, false), 0);
        assert_eq!(ladder_step(0, false), 0);
        assert_eq!(ladder_step(10_000, true), 10_000);
    }

    #[test]
    fn typed_values_are_checked_against_the_live_range() {
        let parse = |s: Setting, t: &str| s.parse_live(t, 1000);
        assert_eq!(
            parse(Setting::LearningRate, " 3e-4 "),
            Ok(SettingValue::LearningRate(3e-4))
        );
        for bad in ["0", "nan", "abc", "2"] {
            assert!(parse(Setting::LearningRate, bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse(Setting::BatchSize, "64"),
            Ok(SettingValue::BatchSize(64))
        );
        assert!(parse(Setting::BatchSize, "0").is_err());
        assert!(parse(Setting::BatchSize, "1001").is_err());
        assert_eq!(
            parse(Setting::EvalEvery, "0"),
            Ok(SettingValue::EvalEvery(0))
        );
        assert!(parse(Setting::EvalEvery, "-1").is_err());
        assert_eq!(
            parse(Setting::Dropout, "0.333"),
            Ok(SettingValue::Dropout(0.33))
        );
        assert!(parse(Setting::Dropout, "1").is_err());
        let err = parse(Setting::Dropout, "-0.1").unwrap_err();
        assert!(err.contains("'-0.1' is not a probability"), "{err}");
    }

    #[test]
    fn values_print_as_the_records_show_them() {
        assert_eq!(SettingValue::LearningRate(1e-4).to_string(), "1.000e-4");
        assert_eq!(SettingValue::Dropout(0.2).to_string(), "0.20");
        assert_eq!(SettingValue::BatchSize(64).to_string(), "64");
        let json = serde_json::to_string(&SettingValue::Dropout(0.2)).unwrap();
        assert_eq!(json, "0.2");
        assert!(SettingValue::Dropout(0.501).same_as(SettingValue::Dropout(0.5)));
    }

    #[test]
    fn settings_cycle_both_ways() {
        assert_eq!(Setting::LearningRate.cycled(true), Setting::BatchSize);
        assert_eq!(Setting::LearningRate.cycled(false), Setting::Dropout);
        assert_eq!(Setting::Dropout.cycled(true), Setting::LearningRate);
    }
}
