//! A trial's settings put into a config: each searched key written over the base's `[train]`.

use super::value::{insert_dotted, Settings};
use crate::config::{Config, TrainConfig};

/// `base` with `settings` written over its `[train]` keys (dotted keys into sub-tables:
/// `augment.rotate`). The result is not checked: [`Config::validate`] does that.
pub fn apply_settings(base: &Config, settings: &Settings) -> Result<Config, String> {
    let mut table = toml::Table::try_from(&base.train).map_err(|e| e.to_string())?;
    for (key, value) in settings {
        insert_dotted(&mut table, key, value.to_toml());
    }
    let train: TrainConfig = table.try_into().map_err(|e| format!("{e}"))?;
    Ok(Config {
        train,
        ..base.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::value::ParamValue;

    #[test]
    fn settings_replace_their_keys_and_leave_the_rest() {
        let base = Config::default();
        let settings: Settings = [
            ("learning_rate".to_string(), ParamValue::Float(3e-3)),
            ("batch_size".to_string(), ParamValue::Int(128)),
            ("augment.rotate".to_string(), ParamValue::Float(7.5)),
            ("schedule".to_string(), ParamValue::Text("one_cycle".into())),
        ]
        .into();
        let config = apply_settings(&base, &settings).unwrap();
        assert_eq!(config.train.learning_rate, 3e-3);
        assert_eq!(config.train.batch_size, 128);
        assert_eq!(config.train.augment.rotate, 7.5);
        assert_eq!(config.train.schedule, crate::config::Schedule::OneCycle);
        assert_eq!(config.train.dropout, base.train.dropout);
        assert_eq!(config.data, base.data);
        let bad: Settings = [("schedule".to_string(), ParamValue::Text("sideways".into()))].into();
        assert!(apply_settings(&base, &bad)
            .unwrap_err()
            .contains("sideways"));
    }
}
