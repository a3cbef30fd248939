//! The live settings as the dashboard knows them: the value asked for last, whether the
//! trainer has confirmed it, and the commands that step or set them. Ranges and steps come
//! from [`crate::settings`], where they are defined once.
//!
//! A change is shown at once (the value asked for) and marked as pending until the trainer
//! confirms it with a [`SettingChange`].

use crate::settings::LIVE_MAX_BATCH;
use crate::train::{Command, Setting, SettingChange, SettingValue};

/// The value of each live setting, by name.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Values {
    learning_rate: f64,
    batch_size: usize,
    eval_every: u64,
    dropout: f32,
}

impl Values {
    fn get(&self, setting: Setting) -> SettingValue {
        match setting {
            Setting::LearningRate => SettingValue::LearningRate(self.learning_rate),
            Setting::BatchSize => SettingValue::BatchSize(self.batch_size),
            Setting::EvalEvery => SettingValue::EvalEvery(self.eval_every),
            Setting::Dropout => SettingValue::Dropout(self.dropout),
        }
    }

    fn set(&mut self, value: SettingValue) {
        match value {
            SettingValue::LearningRate(lr) => self.learning_rate = lr,
            SettingValue::BatchSize(b) => self.batch_size = b,
            SettingValue::EvalEvery(every) => self.eval_every = every,
            SettingValue::Dropout(p) => self.dropout = p,
        }
    }
}

/// The live settings as the dashboard knows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The value asked for last of each setting.
    values: Values,
    /// The trainer's confirmed evaluation interval (used to tell when it evaluates).
    confirmed_eval_every: u64,
    /// Largest batch the dashboard asks for.
    max_batch: usize,
    /// Changes asked for but not yet confirmed, per setting.
    pending: [u32; Setting::ALL.len()],
}

impl Settings {
    /// The settings a run starts with.
    pub fn from_config(train: &crate::config::TrainConfig) -> Self {
        Self {
            values: Values {
                learning_rate: train.learning_rate,
                batch_size: train.batch_size,
                eval_every: train.eval_every,
                dropout: train.dropout,
            },
            confirmed_eval_every: train.eval_every,
            max_batch: LIVE_MAX_BATCH.max(train.batch_size),
            pending: [0; Setting::ALL.len()],
        }
    }

    /// Limits the batch size to the size of the training set once it is known.
    pub fn set_train_len(&mut self, len: usize) {
        self.max_batch = self.max_batch.min(len.max(1));
    }

    /// The value of `setting` asked for last.
    pub fn value(&self, setting: Setting) -> SettingValue {
        self.values.get(setting)
    }

    /// The learning rate asked for last.
    pub fn learning_rate(&self) -> f64 {
        self.values.learning_rate
    }

    /// The batch size asked for last.
    pub fn batch_size(&self) -> usize {
        self.values.batch_size
    }

    /// The trainer's confirmed evaluation interval.
    pub fn confirmed_eval_every(&self) -> u64 {
        self.confirmed_eval_every
    }

    /// The value of `setting` for the screen.
    pub fn display(&self, setting: Setting) -> String {
        match self.value(setting) {
            SettingValue::LearningRate(lr) => format_lr(lr),
            SettingValue::EvalEvery(0) => "end only".into(),
            SettingValue::EvalEvery(every) => format!("{every} steps"),
            SettingValue::Dropout(0.0) => "off".into(),
            value => value.to_string(),
        }
    }

    /// Whether a change of `setting` waits for the trainer's confirmation.
    pub fn is_pending(&self, setting: Setting) -> bool {
        self.pending[setting.index()] > 0
    }

    /// The command that raises (`up`) or lowers `setting` by one notch, if it can move.
    pub fn stepped(&self, setting: Setting, up: bool) -> Option<Command> {
        self.value(setting)
            .stepped(up, self.max_batch)
            .map(Command::Set)
    }

    /// Reads a typed value for `setting` into the command that sets it, or says what is wrong.
    pub fn parse(&self, setting: Setting, text: &str) -> Result<Command, String> {
        setting.parse_live(text, self.max_batch).map(Command::Set)
    }

    /// Whether `command` would change a setting's value.
    pub fn changes(&self, command: Command) -> bool {
        match command {
            Command::Set(value) => !value.same_as(self.value(value.setting())),
            _ => false,
        }
    }

    /// Records that `command` was sent: shows its value and marks it pending.
    pub fn request(&mut self, command: Command) {
        if let Command::Set(value) = command {
            self.values.set(value);
            self.pending[value.setting().index()] += 1;
        }
    }

    /// Takes in the trainer's confirmation of a change; the value asked for last stays shown
    /// until its own confirmation arrives.
    pub fn confirm(&mut self, change: &SettingChange) {
        let index = change.setting().index();
        let pending = &mut self.pending[index];
        *pending = pending.saturating_sub(1);
        if *pending == 0 {
            self.values.set(change.new);
        }
        if let SettingValue::EvalEvery(every) = change.new {
            self.confirmed_eval_every = every;
        }
    }

    /// Forgets unconfirmed changes (the trainer has ended).
    pub fn clear_pending(&mut self) {
        self.pending = [0; Setting::ALL.len()];
    }
}

/// A learning rate as the screen shows it, e.g. `1.00e-4`.
pub fn format_lr(lr: f64) -> String {
    format!("{lr:.2e}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrainConfig;

    fn settings() -> Settings {
        Settings::from_config(&TrainConfig::default())
    }

    fn change(old: SettingValue, new: SettingValue) -> SettingChange {
        SettingChange { step: 7, old, new }
    }

    #[test]
    fn keys_step_the_values_and_stop_at_the_ends() {
        let mut s = settings();
        let lr = SettingValue::LearningRate;
        assert_eq!(
            s.stepped(Setting::LearningRate, true),
            Some(Command::Set(lr(2e-4)))
        );
        s.request(Command::Set(lr(1.0)));
        assert_eq!(s.stepped(Setting::LearningRate, true), None);
        s.set_train_len(60);
        assert_eq!(
            s.stepped(Setting::BatchSize, true),
            Some(Command::Set(SettingValue::BatchSize(60)))
        );
        assert_eq!(
            s.parse(Setting::BatchSize, "61").unwrap_err(),
            "'61' is not a whole number from 1 to 1000"
        );
    }

    #[test]
    fn dropout_shows_hundredths_and_off() {
        let mut s = settings();
        assert_eq!(s.display(Setting::Dropout), "0.50");
        let off = Command::Set(SettingValue::Dropout(0.0));
        assert!(s.changes(off));
        s.request(off);
        assert_eq!(s.display(Setting::Dropout), "off");
        assert!(s.is_pending(Setting::Dropout));
        assert!(!s.changes(Command::Set(SettingValue::Dropout(0.001))));
        s.confirm(&change(
            SettingValue::Dropout(0.5),
            SettingValue::Dropout(0.0),
        ));
        assert!(!s.is_pending(Setting::Dropout));
    }

    #[test]
    fn requests_show_at_once_and_settle_on_the_last_confirmation() {
        let mut s = settings();
        let lr = SettingValue::LearningRate;
        s.request(Command::Set(lr(2e-4)));
        s.request(Command::Set(lr(4e-4)));
        assert!(s.is_pending(Setting::LearningRate));
        assert_eq!(s.display(Setting::LearningRate), "4.00e-4");
        s.confirm(&change(lr(1e-4), lr(2e-4)));
        assert_eq!(
            s.learning_rate(),
            4e-4,
            "an older confirmation must not undo"
        );
        s.confirm(&change(lr(2e-4), lr(4e-4)));
        assert!(!s.is_pending(Setting::LearningRate));
        assert_eq!(s.learning_rate(), 4e-4);
    }

    #[test]
    fn confirmations_without_requests_update_the_values() {
        let mut s = settings();
        s.confirm(&change(
            SettingValue::EvalEvery(1000),
            SettingValue::EvalEvery(0),
        ));
        assert_eq!(s.display(Setting::EvalEvery), "end only");
        assert_eq!(s.confirmed_eval_every(), 0);
        s.confirm(&change(
            SettingValue::BatchSize(50),
            SettingValue::BatchSize(64),
        ));
        assert_eq!(s.batch_size(), 64);
    }
}
