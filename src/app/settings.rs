//! The settings that can change while training runs: their values as the dashboard knows
//! them, how a key steps them, and how a typed value is read.
//!
//! A change is shown at once (the value asked for) and marked as pending until the trainer
//! confirms it with [`SettingChange`](crate::train::SettingChange).

use crate::config::TrainConfig;
use crate::train::{Command, SettingChange};

/// Factor by which one key press multiplies or divides the learning rate.
pub const LR_FACTOR: f64 = 2.0;
/// Learning rates the dashboard accepts.
pub const LR_RANGE: (f64, f64) = (1e-7, 1.0);
/// Largest batch size the dashboard asks for (memory grows with it).
pub const MAX_BATCH: usize = 1000;
/// How much one key press raises or lowers the dropout probability.
pub const DROPOUT_NOTCH: f32 = 0.1;
/// The largest dropout probability the dashboard asks for.
pub const MAX_DROPOUT: f32 = 0.9;
/// The evaluation intervals `+` and `-` step through (0: only at the end).
pub const EVAL_LADDER: [u64; 9] = [0, 50, 100, 200, 500, 1000, 2000, 5000, 10_000];

/// A live setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// Adam's learning rate.
    LearningRate,
    /// Images per mini-batch.
    BatchSize,
    /// Steps between test-set evaluations.
    EvalEvery,
    /// Probability of dropping a unit of the 1024-unit layer while training.
    Dropout,
}

impl Setting {
    /// Every setting, in the order the controls panel lists them.
    pub const ALL: [Setting; 4] = [
        Setting::LearningRate,
        Setting::BatchSize,
        Setting::EvalEvery,
        Setting::Dropout,
    ];

    /// The name shown on screen.
    pub fn label(self) -> &'static str {
        match self {
            Setting::LearningRate => "learning rate",
            Setting::BatchSize => "batch size",
            Setting::EvalEvery => "eval every",
            Setting::Dropout => "dropout",
        }
    }

    /// The setting the trainer calls `name` in a [`SettingChange`].
    pub fn from_trainer_name(name: &str) -> Option<Setting> {
        match name {
            "learning_rate" => Some(Setting::LearningRate),
            "batch_size" => Some(Setting::BatchSize),
            "dropout" => Some(Setting::Dropout),
            "eval_every" => Some(Setting::EvalEvery),
            _ => None,
        }
    }

    /// The next (`forward`) or previous setting in the list, wrapping around.
    pub fn cycled(self, forward: bool) -> Setting {
        let n = Self::ALL.len();
        let i = Self::ALL.iter().position(|&s| s == self).unwrap_or(0);
        Self::ALL[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }]
    }

    /// What a typed value must look like, for the entry line.
    pub fn hint(self) -> String {
        match self {
            Setting::LearningRate => format!("a number from {:e} to {}", LR_RANGE.0, LR_RANGE.1),
            Setting::BatchSize => format!("a whole number from 1 to {MAX_BATCH}"),
            Setting::EvalEvery => "a number of steps (0: only at the end)".into(),
            Setting::Dropout => format!("a probability from 0 to {MAX_DROPOUT} (0: no dropout)"),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The live settings as the dashboard knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Learning rate asked for last.
    pub learning_rate: f64,
    /// Batch size asked for last.
    pub batch_size: usize,
    /// Evaluation interval asked for last.
    pub eval_every: u64,
    /// Dropout probability asked for last.
    pub dropout: f32,
    /// The trainer's confirmed evaluation interval (used to tell when it evaluates).
    pub confirmed_eval_every: u64,
    /// Largest batch the training set allows.
    max_batch: usize,
    /// Changes asked for but not yet confirmed, per setting.
    pending: [u32; Setting::ALL.len()],
}

impl Settings {
    /// The settings a run starts with.
    pub fn from_config(train: &TrainConfig) -> Self {
        Self {
            learning_rate: train.learning_rate,
            batch_size: train.batch_size,
            eval_every: train.eval_every,
            confirmed_eval_every: train.eval_every,
            dropout: train.dropout,
            max_batch: MAX_BATCH.max(train.batch_size),
            pending: [0; Setting::ALL.len()],
        }
    }

    /// Limits the batch size to the size of the training set once it is known.
    pub fn set_train_len(&mut self, len: usize) {
        self.max_batch = self.max_batch.min(len.max(1));
    }

    /// The value of `setting` for the screen.
    pub fn display(&self, setting: Setting) -> String {
        match setting {
            Setting::LearningRate => format_lr(self.learning_rate),
            Setting::BatchSize => self.batch_size.to_string(),
            Setting::EvalEvery if self.eval_every == 0 => "end only".into(),
            Setting::EvalEvery => format!("{} steps", self.eval_every),
            Setting::Dropout if self.dropout == 0.0 => "off".into(),
            Setting::Dropout => format_dropout(self.dropout),
        }
    }

    /// Whether a change of `setting` waits for the trainer's confirmation.
    pub fn is_pending(&self, setting: Setting) -> bool {
        self.pending[setting.index()] > 0
    }

    /// The command that raises (`up`) or lowers `setting` by one notch, if it can move.
    pub fn stepped(&self, setting: Setting, up: bool) -> Option<Command> {
        let command = match setting {
            Setting::LearningRate => {
                let lr = if up {
                    self.learning_rate * LR_FACTOR
                } else {
                    self.learning_rate / LR_FACTOR
                };
                Command::SetLearningRate(lr.clamp(LR_RANGE.0, LR_RANGE.1))
            }
            Setting::BatchSize => {
                let batch = if up {
                    self.batch_size.saturating_mul(2)
                } else {
                    self.batch_size / 2
                };
                Command::SetBatchSize(batch.clamp(1, self.max_batch))
            }
            Setting::EvalEvery => Command::SetEvalEvery(ladder_step(self.eval_every, up)),
            // Above the dashboard's maximum (possible from the config file), only down moves.
            Setting::Dropout if up && self.dropout >= MAX_DROPOUT => return None,
            Setting::Dropout => {
                let notches = (self.dropout / DROPOUT_NOTCH).round() + if up { 1.0 } else { -1.0 };
                Command::SetDropout((notches * DROPOUT_NOTCH).clamp(0.0, MAX_DROPOUT))
            }
        };
        self.changes(command).then_some(command)
    }

    /// Reads a typed value for `setting` into the command that sets it, or says what is wrong.
    pub fn parse(&self, setting: Setting, text: &str) -> Result<Command, String> {
        let text = text.trim();
        let wrong = || format!("'{text}' is not {}", setting.hint());
        match setting {
            Setting::LearningRate => match text.parse::<f64>() {
                Ok(lr) if (LR_RANGE.0..=LR_RANGE.1).contains(&lr) => {
                    Ok(Command::SetLearningRate(lr))
                }
                _ => Err(wrong()),
            },
            Setting::BatchSize => match text.parse::<usize>() {
                Ok(b) if (1..=self.max_batch).contains(&b) => Ok(Command::SetBatchSize(b)),
                _ => Err(wrong()),
            },
            Setting::EvalEvery => text
                .parse::<u64>()
                .map(Command::SetEvalEvery)
                .map_err(|_| wrong()),
            // Hundredths, as the screen and the trainer's log show it.
            Setting::Dropout => match text.parse::<f32>().map(|p| (p * 100.0).round() / 100.0) {
                Ok(p) if (0.0..=MAX_DROPOUT).contains(&p) => Ok(Command::SetDropout(p)),
                _ => Err(wrong()),
            },
        }
    }

    /// Whether `command` would change a setting's value.
    pub fn changes(&self, command: Command) -> bool {
        match command {
            Command::SetLearningRate(lr) => lr != self.learning_rate,
            Command::SetBatchSize(b) => b != self.batch_size,
            Command::SetEvalEvery(e) => e != self.eval_every,
            Command::SetDropout(p) => format_dropout(p) != format_dropout(self.dropout),
            _ => false,
        }
    }

    /// Records that `command` was sent: shows its value and marks it pending.
    pub fn request(&mut self, command: Command) {
        let setting = match command {
            Command::SetLearningRate(lr) => {
                self.learning_rate = lr;
                Setting::LearningRate
            }
            Command::SetBatchSize(b) => {
                self.batch_size = b;
                Setting::BatchSize
            }
            Command::SetEvalEvery(e) => {
                self.eval_every = e;
                Setting::EvalEvery
            }
            Command::SetDropout(p) => {
                self.dropout = p;
                Setting::Dropout
            }
            _ => return,
        };
        self.pending[setting.index()] += 1;
    }

    /// Takes in the trainer's confirmation of a change. Returns the setting, if known.
    pub fn confirm(&mut self, change: &SettingChange) -> Option<Setting> {
        let setting = Setting::from_trainer_name(change.setting)?;
        let pending = &mut self.pending[setting.index()];
        *pending = pending.saturating_sub(1);
        let settled = *pending == 0;
        match setting {
            Setting::EvalEvery => {
                if let Ok(e) = change.new.parse() {
                    self.confirmed_eval_every = e;
                    if settled {
                        self.eval_every = e;
                    }
                }
            }
            Setting::LearningRate if settled => {
                self.learning_rate = change.new.parse().unwrap_or(self.learning_rate)
            }
            Setting::BatchSize if settled => {
                self.batch_size = change.new.parse().unwrap_or(self.batch_size)
            }
            Setting::Dropout if settled => {
                self.dropout = change.new.parse().unwrap_or(self.dropout)
            }
            _ => {}
        }
        Some(setting)
    }

    /// Forgets unconfirmed changes (the trainer has ended).
    pub fn clear_pending(&mut self) {
        self.pending = [0; Setting::ALL.len()];
    }
}

/// The next value on [`EVAL_LADDER`] above (`up`) or below `value`, or `value` at the end.
fn ladder_step(value: u64, up: bool) -> u64 {
    if up {
        EVAL_LADDER
            .into_iter()
            .find(|&v| v > value)
            .unwrap_or(value)
    } else {
        EVAL_LADDER
            .into_iter()
            .rev()
            .find(|&v| v < value)
            .unwrap_or(value)
    }
}

/// A dropout probability as the screen and the event log show it, e.g. `0.50`.
pub fn format_dropout(p: f32) -> String {
    format!("{p:.2}")
}

/// A learning rate as the screen shows it, e.g. `1.00e-4`.
pub fn format_lr(lr: f64) -> String {
    format!("{lr:.2e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_config(&TrainConfig::default())
    }

    fn change(setting: &'static str, old: &str, new: &str) -> SettingChange {
        SettingChange {
            step: 7,
            setting,
            old: old.into(),
            new: new.into(),
        }
    }

    #[test]
    fn the_learning_rate_steps_by_the_factor_within_range() {
        let mut s = settings();
        assert_eq!(
            s.stepped(Setting::LearningRate, true),
            Some(Command::SetLearningRate(2e-4))
        );
        assert_eq!(
            s.stepped(Setting::LearningRate, false),
            Some(Command::SetLearningRate(5e-5))
        );
        s.learning_rate = LR_RANGE.1;
        assert_eq!(s.stepped(Setting::LearningRate, true), None);
    }

    #[test]
    fn batch_size_doubles_and_halves_within_bounds() {
        let mut s = settings();
        s.set_train_len(60);
        assert_eq!(
            s.stepped(Setting::BatchSize, true),
            Some(Command::SetBatchSize(60))
        );
        s.batch_size = 1;
        assert_eq!(s.stepped(Setting::BatchSize, false), None);
    }

    #[test]
    fn dropout_steps_by_a_tenth_between_off_and_the_maximum() {
        let mut s = settings();
        assert_eq!(s.display(Setting::Dropout), "0.50");
        assert_eq!(
            s.stepped(Setting::Dropout, true),
            Some(Command::SetDropout(0.6))
        );
        s.dropout = 0.1;
        assert_eq!(
            s.stepped(Setting::Dropout, false),
            Some(Command::SetDropout(0.0))
        );
        s.dropout = 0.0;
        assert_eq!(s.display(Setting::Dropout), "off");
        assert_eq!(s.stepped(Setting::Dropout, false), None);
        s.dropout = MAX_DROPOUT;
        assert_eq!(s.stepped(Setting::Dropout, true), None);
        // From the config file's range above the dashboard's: down only.
        s.dropout = 0.95;
        assert_eq!(s.stepped(Setting::Dropout, true), None);
        assert_eq!(
            s.stepped(Setting::Dropout, false),
            Some(Command::SetDropout(MAX_DROPOUT))
        );
        // A typed value off the tenths steps to the nearest tenth first.
        s.dropout = 0.33;
        assert_eq!(
            s.stepped(Setting::Dropout, true),
            Some(Command::SetDropout(0.4))
        );
        assert_eq!(
            s.parse(Setting::Dropout, "0.25"),
            Ok(Command::SetDropout(0.25))
        );
        assert_eq!(
            s.parse(Setting::Dropout, "0.333"),
            Ok(Command::SetDropout(0.33))
        );
        assert!(s.parse(Setting::Dropout, "1").is_err());
        assert!(s.parse(Setting::Dropout, "-0.1").is_err());
        s.request(Command::SetDropout(0.25));
        assert!(s.is_pending(Setting::Dropout));
        assert_eq!(
            s.confirm(&change("dropout", "0.33", "0.25")),
            Some(Setting::Dropout)
        );
        assert!(!s.is_pending(Setting::Dropout));
        assert_eq!(s.dropout, 0.25);
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
    fn typed_values_are_checked() {
        let s = settings();
        assert_eq!(
            s.parse(Setting::LearningRate, " 3e-4 "),
            Ok(Command::SetLearningRate(3e-4))
        );
        assert!(s.parse(Setting::LearningRate, "0").is_err());
        assert!(s.parse(Setting::LearningRate, "nan").is_err());
        assert!(s.parse(Setting::LearningRate, "abc").is_err());
        assert_eq!(
            s.parse(Setting::BatchSize, "64"),
            Ok(Command::SetBatchSize(64))
        );
        assert!(s.parse(Setting::BatchSize, "0").is_err());
        assert!(s.parse(Setting::BatchSize, "100000").is_err());
        assert_eq!(
            s.parse(Setting::EvalEvery, "0"),
            Ok(Command::SetEvalEvery(0))
        );
        assert!(s.parse(Setting::EvalEvery, "-1").is_err());
    }

    #[test]
    fn requests_show_at_once_and_settle_on_the_last_confirmation() {
        let mut s = settings();
        s.request(Command::SetLearningRate(2e-4));
        s.request(Command::SetLearningRate(4e-4));
        assert!(s.is_pending(Setting::LearningRate));
        assert_eq!(s.display(Setting::LearningRate), "4.00e-4");
        s.confirm(&change("learning_rate", "1.000e-4", "2.000e-4"));
        assert_eq!(s.learning_rate, 4e-4, "an older confirmation must not undo");
        s.confirm(&change("learning_rate", "2.000e-4", "4.000e-4"));
        assert!(!s.is_pending(Setting::LearningRate));
        assert_eq!(s.learning_rate, 4e-4);
    }

    #[test]
    fn confirmations_without_requests_update_the_values() {
        let mut s = settings();
        assert_eq!(
            s.confirm(&change("eval_every", "1000", "0")),
            Some(Setting::EvalEvery)
        );
        assert_eq!(s.display(Setting::EvalEvery), "end only");
        assert_eq!(s.confirmed_eval_every, 0);
        assert_eq!(s.confirm(&change("momentum", "0", "1")), None);
    }

    #[test]
    fn settings_cycle_both_ways() {
        assert_eq!(Setting::LearningRate.cycled(true), Setting::BatchSize);
        assert_eq!(Setting::LearningRate.cycled(false), Setting::Dropout);
        assert_eq!(Setting::EvalEvery.cycled(true), Setting::Dropout);
        assert_eq!(Setting::Dropout.cycled(true), Setting::LearningRate);
    }
}
