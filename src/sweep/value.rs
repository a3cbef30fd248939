//! A searched setting's value, and a trial's settings: the `[train]` keys a sweep chose for it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The value of one searched `[train]` key, as TOML and JSON spell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A whole number (`batch_size`, `seed`, `eval_every`).
    Int(i64),
    /// A number (`learning_rate`, `dropout`, `augment.rotate`).
    Float(f64),
    /// A name (`schedule`, `init`).
    Text(String),
}

impl ParamValue {
    /// The value as a number, for plots and samplers (a name has none).
    pub fn number(&self) -> Option<f64> {
        match self {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(f) => Some(*f),
            ParamValue::Text(_) => None,
        }
    }

    /// The value as TOML, for a config file.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            ParamValue::Int(i) => toml::Value::Integer(*i),
            ParamValue::Float(f) => toml::Value::Float(*f),
            ParamValue::Text(s) => toml::Value::String(s.clone()),
        }
    }

    /// The value of a TOML scalar, if it is one a setting can take.
    pub fn from_toml(value: &toml::Value) -> Option<Self> {
        match value {
            toml::Value::Integer(i) => Some(ParamValue::Int(*i)),
            toml::Value::Float(f) => Some(ParamValue::Float(*f)),
            toml::Value::String(s) => Some(ParamValue::Text(s.clone())),
            _ => None,
        }
    }
}

impl fmt::Display for ParamValue {
    /// Short, for tables: four significant digits for numbers that need them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => f.write_str(&short_number(*x)),
            ParamValue::Text(s) => f.write_str(s),
        }
    }
}

/// `x` in at most four significant digits: `0.001234` as `1.234e-3`, `0.25` as `0.25`.
pub fn short_number(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor();
    if (-2.0..4.0).contains(&magnitude) {
        let decimals = (3.0 - magnitude).max(0.0) as usize;
        let text = format!("{x:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    } else {
        let text = format!("{x:.3e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => format!(
                "{}e{exponent}",
                mantissa.trim_end_matches('0').trim_end_matches('.')
            ),
            _ => text,
        }
    }
}

/// `x` rounded to `digits` significant digits (sampled rates read as `0.001234`, not
/// `0.0012339876...`).
pub fn round_significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    let rounded = (x * scale).round() / scale;
    // Parsing the printed value gives the shortest float that prints as it.
    format!("{rounded:.*e}", (digits - 1).max(0) as usize)
        .parse()
        .unwrap_or(rounded)
}

/// A trial's settings: each searched key (dotted under `[train]`: `augment.rotate`) and its
/// value.
pub type Settings = BTreeMap<String, ParamValue>;

/// Puts `value` into `table` under the dotted `key`, making the sub-tables on the way
/// (`augment.rotate` goes into `augment`); a key whose way runs through a value that is not a
/// table is left out.
pub fn insert_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(inner) = entry {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

/// `settings` on one line: `batch_size=64 dropout=0.31 learning_rate=1.2e-3`.
pub fn settings_line(settings: &Settings) -> String {
    settings
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_values_read_back_as_their_kind() {
        assert_eq!(short_number(0.001234567), "1.235e-3");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(0.5), "0.5");
        assert_eq!(short_number(128.0), "128");
        assert_eq!(short_number(0.0), "0");
        assert_eq!(round_significant(0.0012345678, 4), 0.001235);
        assert_eq!(round_significant(0.31234, 4), 0.3123);
        for value in [
            ParamValue::Int(64),
            ParamValue::Float(0.5),
            ParamValue::Float(1.0),
            ParamValue::Text("one_cycle".into()),
        ] {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(serde_json::from_str::<ParamValue>(&json).unwrap(), value);
            assert_eq!(ParamValue::from_toml(&value.to_toml()), Some(value));
        }
    }
}
