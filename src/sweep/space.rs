//! The search space: each searched `[train]` key and the values it may take (a list, or a
//! uniform, log-uniform or integer range), read from a sweep file's `[space]` table.
//!
//! ```toml
//! [space]
//! learning_rate = { log_uniform = [1e-4, 1e-2], points = 3 }   # points: for a grid
//! batch_size = [32, 64, 128]
//! dropout = { uniform = [0.0, 0.5], points = 3 }
//! augment.rotate = { uniform = [0.0, 15.0] }
//! seed = { int = [0, 4] }
//! ```

use rand::Rng;

use super::value::{round_significant, ParamValue};
use crate::config::TrainConfig;

/// Significant digits sampled numbers are rounded to.
pub const SAMPLED_DIGITS: i32 = 4;

/// What a `[train]` key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A whole number.
    Int,
    /// A number.
    Float,
    /// A name.
    Text,
}

/// The `[train]` keys a sweep can search, dotted (`augment.rotate`), with what each holds:
/// every key `[train]` accepts but `steps`, which the budget sets.
pub fn searchable_keys() -> Vec<(String, KeyKind)> {
    let mut keys = Vec::new();
    if let Ok(table) = toml::Table::try_from(TrainConfig::default()) {
        collect_keys("", &table, &mut keys);
    }
    keys.retain(|(key, _)| key != "steps");
    keys
}

/// Puts the keys of `table` under `prefix` into `out`.
fn collect_keys(prefix: &str, table: &toml::Table, out: &mut Vec<(String, KeyKind)>) {
    for (key, value) in table {
        let key = format!("{prefix}{key}");
        let kind = match value {
            toml::Value::Table(inner) => {
                collect_keys(&format!("{key}."), inner, out);
                continue;
            }
            toml::Value::Integer(_) => KeyKind::Int,
            toml::Value::Float(_) => KeyKind::Float,
            _ => KeyKind::Text,
        };
        out.push((key, kind));
    }
}

/// The values a searched key may take.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// These values (a grid takes each; random draws one).
    List(Vec<ParamValue>),
    /// Numbers from `low` to `high`, drawn evenly.
    Uniform {
        /// Low end.
        low: f64,
        /// High end.
        high: f64,
        /// Evenly spaced values a grid takes, ends included.
        points: Option<usize>,
    },
    /// Numbers from `low` to `high` (both above zero), drawn evenly in their logarithm.
    LogUniform {
        /// Low end.
        low: f64,
        /// High end.
        high: f64,
        /// Values a grid takes, evenly spaced in the logarithm, ends included.
        points: Option<usize>,
    },
    /// Whole numbers from `low` to `high`, both included.
    Int {
        /// Low end.
        low: i64,
        /// High end.
        high: i64,
        /// Values a grid takes, evenly spaced (every number from low to high without it).
        points: Option<usize>,
    },
}

impl Domain {
    /// Whether the space is logarithmic (plots draw its axis so).
    pub fn is_log(&self) -> bool {
        matches!(self, Domain::LogUniform { .. })
    }

    /// The values a grid takes; `None` for a range of numbers without `points`.
    pub fn grid_values(&self) -> Option<Vec<ParamValue>> {
        let spaced = |n: usize, at: &dyn Fn(f64) -> f64| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    at(if n == 1 {
                        0.0
                    } else {
                        i as f64 / (n - 1) as f64
                    })
                })
                .collect()
        };
        let floats = |values: Vec<f64>| {
            values
                .into_iter()
                .map(|v| ParamValue::Float(round_significant(v, SAMPLED_DIGITS)))
                .collect()
        };
        Some(match self {
            Domain::List(values) => values.clone(),
            Domain::Uniform { low, high, points } => {
                floats(spaced((*points)?, &|t| low + t * (high - low)))
            }
            Domain::LogUniform { low, high, points } => floats(spaced((*points)?, &|t| {
                (low.ln() + t * (high.ln() - low.ln())).exp()
            })),
            Domain::Int { low, high, points } => {
                let mut values: Vec<i64> = match points {
                    None => (*low..=*high).collect(),
                    Some(n) => spaced(*n, &|t| *low as f64 + t * (high - low) as f64)
                        .into_iter()
                        .map(|v| v.round() as i64)
                        .collect(),
                };
                values.dedup();
                values.into_iter().map(ParamValue::Int).collect()
            }
        })
    }

    /// How many values a grid takes, without listing them (`None` as for
    /// [`Domain::grid_values`]).
    pub fn grid_len(&self) -> Option<u128> {
        match self {
            Domain::Int {
                low,
                high,
                points: None,
            } => Some((*high as i128 - *low as i128 + 1) as u128),
            _ => self.grid_values().map(|v| v.len() as u128),
        }
    }

    /// One value drawn at random.
    pub fn sample(&self, rng: &mut impl Rng) -> ParamValue {
        match self {
            Domain::List(values) => values[rng.gen_range(0..values.len())].clone(),
            Domain::Uniform { low, high, .. } => ParamValue::Float(round_significant(
                rng.gen_range(*low..=*high),
                SAMPLED_DIGITS,
            )),
            Domain::LogUniform { low, high, .. } => {
                let log = rng.gen_range(low.ln()..=high.ln());
                let value = round_significant(log.exp(), SAMPLED_DIGITS);
                ParamValue::Float(value.clamp(*low, *high))
            }
            Domain::Int { low, high, .. } => ParamValue::Int(rng.gen_range(*low..=*high)),
        }
    }

    /// The ends of the space as values (each list entry for a list): what must be valid
    /// settings for every drawn value to be.
    pub fn extremes(&self) -> Vec<ParamValue> {
        match self {
            Domain::List(values) => values.clone(),
            Domain::Uniform { low, high, .. } | Domain::LogUniform { low, high, .. } => {
                vec![ParamValue::Float(*low), ParamValue::Float(*high)]
            }
            Domain::Int { low, high, .. } => vec![ParamValue::Int(*low), ParamValue::Int(*high)],
        }
    }

    /// The numeric span of the space (a list's smallest and largest number), for plot axes.
    pub fn span(&self) -> Option<(f64, f64)> {
        match self {
            Domain::List(values) => {
                let numbers: Vec<f64> = values.iter().filter_map(ParamValue::number).collect();
                let low = numbers.iter().copied().reduce(f64::min)?;
                let high = numbers.iter().copied().reduce(f64::max)?;
                Some((low, high))
            }
            Domain::Uniform { low, high, .. } | Domain::LogUniform { low, high, .. } => {
                Some((*low, *high))
            }
            Domain::Int { low, high, .. } => Some((*low as f64, *high as f64)),
        }
    }
}

/// One searched key and its space.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The `[train]` key, dotted under it: `learning_rate`, `augment.rotate`.
    pub key: String,
    /// What the key holds.
    pub kind: KeyKind,
    /// Its values.
    pub domain: Domain,
}

impl Param {
    /// `value` as the key holds it: a whole number given for a number key becomes a number.
    pub fn typed(&self, value: ParamValue) -> ParamValue {
        match (self.kind, value) {
            (KeyKind::Float, ParamValue::Int(i)) => ParamValue::Float(i as f64),
            (_, value) => value,
        }
    }
}

/// Every searched key, in the order of their keys.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Space {
    /// The keys and their spaces.
    pub params: Vec<Param>,
}

impl Space {
    /// The searched key `key`, if it is one.
    pub fn param(&self, key: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.key == key)
    }
}

/// Reads `[space]`: each entry a searched key (or the `augment` table of them). An error is
/// `(key, problem)`, the key dotted from `space`.
pub fn parse_space(table: &toml::Table) -> Result<Space, (String, String)> {
    let keys = searchable_keys();
    let mut params = Vec::new();
    parse_entries("", table, &keys, &mut params)?;
    if params.is_empty() {
        return Err((
            "space".into(),
            "no setting to search: add at least one, e.g. learning_rate = { log_uniform = \
             [1e-4, 1e-2] }"
                .into(),
        ));
    }
    Ok(Space { params })
}

/// Reads the entries of `table` whose keys begin with `prefix`.
fn parse_entries(
    prefix: &str,
    table: &toml::Table,
    keys: &[(String, KeyKind)],
    out: &mut Vec<Param>,
) -> Result<(), (String, String)> {
    for (name, value) in table {
        let key = format!("{prefix}{name}");
        let is_group = keys.iter().any(|(k, _)| k.starts_with(&format!("{key}.")));
        match value {
            toml::Value::Table(inner) if is_group => {
                parse_entries(&format!("{key}."), inner, keys, out)?
            }
            _ => {
                let kind = key_kind(&key, keys)?;
                let domain =
                    parse_domain(&key, kind, value).map_err(|p| (format!("space.{key}"), p))?;
                out.push(Param { key, kind, domain });
            }
        }
    }
    Ok(())
}

/// What `key` holds, or why it cannot be searched.
fn key_kind(key: &str, keys: &[(String, KeyKind)]) -> Result<KeyKind, (String, String)> {
    if key == "steps" {
        return Err((
            "space.steps".into(),
            "the steps are the budget's: set [budget] steps = N or epochs = N (and, for early \
             stopping of weak trials, [asha])"
                .into(),
        ));
    }
    keys.iter()
        .find(|(k, _)| k == key)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| {
            let known: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
            (
                format!("space.{key}"),
                format!(
                    "unknown parameter: the space searches [train] keys, which are {}",
                    known.join(", ")
                ),
            )
        })
}

/// The help text for the ways a space is written.
const FORMS: &str = "write a list [a, b, c], or a range { uniform = [low, high] }, \
                     { log_uniform = [low, high] } or { int = [low, high] } (with points = N \
                     for a grid)";

/// Reads the space of one key.
fn parse_domain(key: &str, kind: KeyKind, value: &toml::Value) -> Result<Domain, String> {
    match value {
        toml::Value::Array(items) => parse_list(key, kind, items),
        toml::Value::Table(table) => parse_range(key, kind, table),
        _ => Err(format!(
            "{FORMS}; a single value belongs in the base config, not the space"
        )),
    }
}

/// Reads a list of values.
fn parse_list(key: &str, kind: KeyKind, items: &[toml::Value]) -> Result<Domain, String> {
    if items.is_empty() {
        return Err("the list is empty: give at least one value".into());
    }
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let value = ParamValue::from_toml(item)
            .ok_or_else(|| format!("{item} is neither a number nor a name"))?;
        let value = match (kind, value) {
            (KeyKind::Float, ParamValue::Int(i)) => ParamValue::Float(i as f64),
            (KeyKind::Float, v @ ParamValue::Float(_))
            | (KeyKind::Int, v @ ParamValue::Int(_))
            | (KeyKind::Text, v @ ParamValue::Text(_)) => v,
            (_, v) => {
                return Err(format!(
                    "{v} is not a value {key} takes ({})",
                    kind_name(kind)
                ))
            }
        };
        if values.contains(&value) {
            return Err(format!("{value} is listed twice: list each value once"));
        }
        values.push(value);
    }
    Ok(Domain::List(values))
}

/// What a kind of key takes, in words.
fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Int => "a whole number",
        KeyKind::Float => "a number",
        KeyKind::Text => "a name in quotes",
    }
}

/// Reads a range: `{ uniform = [low, high] }` and its kin, with an optional `points`.
fn parse_range(key: &str, kind: KeyKind, table: &toml::Table) -> Result<Domain, String> {
    let forms = ["uniform", "log_uniform", "int"];
    if let Some(other) = table
        .keys()
        .find(|k| !forms.contains(&k.as_str()) && *k != "points")
    {
        return Err(format!("`{other}` is not part of a range: {FORMS}"));
    }
    let chosen: Vec<&str> = forms
        .into_iter()
        .filter(|f| table.contains_key(*f))
        .collect();
    let [form] = chosen[..] else {
        return Err(format!("a range names exactly one form: {FORMS}"));
    };
    let points = match table.get("points") {
        None => None,
        Some(toml::Value::Integer(n)) if (1..=10_000).contains(n) => Some(*n as usize),
        Some(other) => {
            return Err(format!(
                "points = {other}: give a whole number from 1 to 10000"
            ))
        }
    };
    let ends = match table.get(form) {
        Some(toml::Value::Array(ends)) if ends.len() == 2 => ends,
        _ => return Err(format!("{form} takes two ends, [low, high]")),
    };
    if kind == KeyKind::Text {
        return Err(format!(
            "{key} takes a name: list the names, [\"a\", \"b\"]"
        ));
    }
    if form == "int" {
        let (Some(low), Some(high)) = (ends[0].as_integer(), ends[1].as_integer()) else {
            return Err("an int range takes whole numbers, [low, high]".into());
        };
        check_order(low as f64, high as f64, &ends[0], &ends[1])?;
        return Ok(Domain::Int { low, high, points });
    }
    if kind == KeyKind::Int {
        return Err(format!(
            "{key} takes whole numbers: use {{ int = [low, high] }} or a list [a, b, c]"
        ));
    }
    let number = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
    let (Some(low), Some(high)) = (number(&ends[0]), number(&ends[1])) else {
        return Err(format!("{form} takes two numbers, [low, high]"));
    };
    check_order(low, high, &ends[0], &ends[1])?;
    if form == "log_uniform" {
        if low <= 0.0 {
            return Err(format!(
                "the log_uniform range [{}, {}] runs through zero or below, where no logarithm \
                 is: start it above zero, e.g. [1e-5, {}]",
                ends[0], ends[1], ends[1]
            ));
        }
        return Ok(Domain::LogUniform { low, high, points });
    }
    Ok(Domain::Uniform { low, high, points })
}

/// An error unless `low` < `high`.
fn check_order(low: f64, high: f64, a: &toml::Value, b: &toml::Value) -> Result<(), String> {
    if !(low.is_finite() && high.is_finite()) {
        return Err(format!("the range [{a}, {b}] needs finite ends"));
    }
    if low > high {
        return Err(format!(
            "the range [{a}, {b}] is reversed: write the low end first, [{b}, {a}]"
        ));
    }
    if low == high {
        return Err(format!(
            "the range [{a}, {b}] is empty: give two different ends, or fix the value in the \
             base config"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn space(text: &str) -> Result<Space, (String, String)> {
        parse_space(&text.parse::<toml::Table>().unwrap())
    }

    #[test]
    fn every_train_key_but_steps_is_searchable_augment_included() {
        let keys: Vec<String> = searchable_keys().into_iter().map(|(k, _)| k).collect();
        for key in [
            "learning_rate",
            "batch_size",
            "dropout",
            "schedule",
            "augment.rotate",
        ] {
            assert!(keys.contains(&key.to_string()), "{key}: {keys:?}");
        }
        assert!(!keys.contains(&"steps".to_string()));
        let s = space(
            "learning_rate = { log_uniform = [1e-4, 1e-2] }\nbatch_size = [32, 64]\n\
             augment.rotate = { uniform = [0, 15] }\nschedule = [\"constant\", \"one_cycle\"]\n\
             seed = { int = [0, 3] }\n",
        )
        .unwrap();
        let keys: Vec<&str> = s.params.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "augment.rotate",
                "batch_size",
                "learning_rate",
                "schedule",
                "seed"
            ]
        );
        assert!(s.param("learning_rate").unwrap().domain.is_log());
    }

    #[test]
    fn bad_spaces_are_named_by_their_key() {
        for (text, key, words) in [
            (
                "learnin_rate = [0.1]",
                "space.learnin_rate",
                "unknown parameter",
            ),
            ("steps = [1, 2]", "space.steps", "[budget]"),
            ("dropout = []", "space.dropout", "empty"),
            (
                "dropout = { uniform = [0.5, 0.1] }",
                "space.dropout",
                "reversed",
            ),
            (
                "dropout = { uniform = [0.2, 0.2] }",
                "space.dropout",
                "empty",
            ),
            (
                "learning_rate = { log_uniform = [0, 1e-2] }",
                "space.learning_rate",
                "through zero",
            ),
            (
                "learning_rate = { log_uniform = [-1e-3, 1e-2] }",
                "space.learning_rate",
                "through zero",
            ),
            (
                "batch_size = { uniform = [8, 64] }",
                "space.batch_size",
                "whole numbers",
            ),
            ("batch_size = [8.5]", "space.batch_size", "not a value"),
            ("dropout = 0.3", "space.dropout", "base config"),
            (
                "dropout = { normal = [0, 1] }",
                "space.dropout",
                "not part of a range",
            ),
            (
                "augment.twist = [1.0]",
                "space.augment.twist",
                "unknown parameter",
            ),
            ("", "space", "no setting"),
        ] {
            let (k, problem) = space(text).unwrap_err();
            assert_eq!(k, key, "{text}: {problem}");
            assert!(problem.contains(words), "{text}: {problem}");
        }
    }

    #[test]
    fn grids_space_their_points_and_draws_stay_inside() {
        let s = space(
            "learning_rate = { log_uniform = [1e-4, 1e-2], points = 3 }\n\
             dropout = { uniform = [0.0, 0.5], points = 3 }\nseed = { int = [2, 4] }\n",
        )
        .unwrap();
        let grid = |k: &str| s.param(k).unwrap().domain.grid_values().unwrap();
        let f = ParamValue::Float;
        assert_eq!(grid("learning_rate"), [f(1e-4), f(1e-3), f(1e-2)]);
        assert_eq!(grid("dropout"), [f(0.0), f(0.25), f(0.5)]);
        assert_eq!(grid("seed"), [2, 3, 4].map(ParamValue::Int));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            for p in &s.params {
                let (low, high) = p.domain.span().unwrap();
                let v = p.domain.sample(&mut rng).number().unwrap();
                assert!((low..=high).contains(&v), "{} {v}", p.key);
            }
        }
        let unpointed = space("dropout = { uniform = [0.0, 0.5] }").unwrap();
        assert_eq!(unpointed.params[0].domain.grid_values(), None);
    }
}
