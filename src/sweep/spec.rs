//! A sweep file (`SWEEP.toml`): the base settings, the space, the method, the trials, the
//! budget and the optional scheduler; read, checked and written back (the copy in a sweep's
//! folder is the file as it ran, overrides applied). `examples/sweep.toml` documents it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::apply::apply_settings;
use super::error::SweepError;
use super::space::{parse_space, Space};
use super::value::Settings;
use crate::config::{Config, MAX_CONFIG_BYTES};

/// The most trials a grid may hold.
pub const MAX_GRID_TRIALS: u128 = 10_000;

/// How trials' settings are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Every combination of the keys' values, in order.
    Grid,
    /// Each trial draws each key on its own, from the sweep's seed and its number.
    Random,
    /// Tree-structured Parzen estimators: after some random trials, draws near the settings of
    /// the best trials so far.
    Tpe,
}

impl Method {
    /// The method's name as the file spells it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Grid => "grid",
            Method::Random => "random",
            Method::Tpe => "tpe",
        }
    }
}

/// The `[budget]` table: each trial's full budget, in steps or in epochs.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetFile {
    /// Training steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    /// Epochs of the training images (the validation split held out); a trial's steps follow
    /// from its batch size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<f64>,
}

/// The `[asha]` table: asynchronous successive halving.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AshaFile {
    /// Of the trials that reach a rung, the top 1 in this many go on to the next, whose
    /// budget is this many times larger.
    #[serde(default = "default_reduction")]
    pub reduction_factor: u32,
    /// The smallest budget (the first rung), in the budget's unit.
    pub min_budget: f64,
}

fn default_reduction() -> u32 {
    3
}

/// A sweep file as written: serialised both ways.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// A preset the trials start from (`tutorial`, `fast`, `best`), over `config` if both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// A config file the trials start from, relative to the sweep file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<PathBuf>,
    /// `grid`, `random` or `tpe`.
    pub method: Method,
    /// Trials to run (a grid: at most this many of its combinations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials: Option<usize>,
    /// Seed of the random draws (`random`, `tpe`); the trials' own seed is `[train] seed`.
    #[serde(default)]
    pub seed: u64,
    /// Each trial's full budget.
    pub budget: BudgetFile,
    /// Successive halving, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asha: Option<AshaFile>,
    /// The searched `[train]` keys.
    pub space: toml::Table,
}

/// A trial's full budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Budget {
    /// Training steps.
    Steps(u64),
    /// Epochs of the training images.
    Epochs(f64),
}

impl Budget {
    /// The amount, in its unit.
    pub fn amount(self) -> f64 {
        match self {
            Budget::Steps(n) => n as f64,
            Budget::Epochs(e) => e,
        }
    }

    /// Its unit, for people: `steps` or `epochs`.
    pub fn unit(self) -> &'static str {
        match self {
            Budget::Steps(_) => "steps",
            Budget::Epochs(_) => "epochs",
        }
    }

    /// Steps that `amount` (in this budget's unit) takes at `batch` images a step over
    /// `train_images` images: at least 1.
    pub fn steps_for(self, amount: f64, batch: usize, train_images: usize) -> u64 {
        let steps = match self {
            Budget::Steps(_) => amount,
            Budget::Epochs(_) => amount * train_images as f64 / batch.max(1) as f64,
        };
        (steps.round() as u64).max(1)
    }
}

/// Successive halving as checked: the reduction factor and each rung's budget, the last the
/// full one.
#[derive(Debug, Clone, PartialEq)]
pub struct AshaSpec {
    /// The reduction factor (eta).
    pub eta: u32,
    /// Each rung's budget in the budget's unit, rising; the last is the full budget.
    pub rungs: Vec<f64>,
}

/// A sweep, checked: what a sweep runs by.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// The file as it runs (overrides applied).
    pub file: SweepFile,
    /// How settings are chosen.
    pub method: Method,
    /// The searched keys.
    pub space: Space,
    /// Trials to run.
    pub trials: usize,
    /// Each trial's full budget.
    pub budget: Budget,
    /// Successive halving, when set.
    pub asha: Option<AshaSpec>,
}

impl SweepFile {
    /// Reads a sweep file (at most [`MAX_CONFIG_BYTES`]).
    pub fn load(path: &Path) -> Result<Self, SweepError> {
        use std::io::Read;
        let read_error = |cause| SweepError::Read {
            path: path.to_path_buf(),
            cause,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(read_error(std::io::Error::other(format!(
                "it is larger than the {MAX_CONFIG_BYTES} bytes a sweep file can be"
            ))));
        }
        Self::from_toml(&text, path)
    }

    /// Parses a sweep file's text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, SweepError> {
        toml::from_str(text).map_err(|e| SweepError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })
    }

    /// The file as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The file with the command line's `--trials` and `--steps` put in: `steps` replaces the
    /// budget, and a scheduler's smallest budget keeps its share of it (so the rungs stay).
    pub fn with_overrides(mut self, trials: Option<usize>, steps: Option<u64>) -> Self {
        if let Some(trials) = trials {
            self.trials = Some(trials);
        }
        if let Some(steps) = steps {
            let full = self.budget.steps.map(|s| s as f64).or(self.budget.epochs);
            if let (Some(asha), Some(full)) = (self.asha.as_mut(), full) {
                if full > 0.0 {
                    asha.min_budget = (asha.min_budget / full * steps as f64).round().max(1.0);
                }
            }
            self.budget = BudgetFile {
                steps: Some(steps),
                epochs: None,
            };
        }
        self
    }
}

impl SweepSpec {
    /// Checks `file` (read from `path`) against `base`, the settings its trials start from.
    pub fn new(file: SweepFile, path: &Path, base: &Config) -> Result<Self, SweepError> {
        let key_error = |key: &str, problem: String| SweepError::key(path, key, problem);
        if base.data.validation() == 0 {
            return Err(key_error(
                "base",
                "a sweep chooses on the validation split, and the base settings hold none: set \
                 [data] validation = 5000 (the tutorial's) in the base config"
                    .into(),
            ));
        }
        let space = parse_space(&file.space).map_err(|(key, problem)| key_error(&key, problem))?;
        check_space_values(&space, base).map_err(|(key, problem)| key_error(&key, problem))?;
        let budget = match (file.budget.steps, file.budget.epochs) {
            (Some(steps), None) if steps >= 1 => Budget::Steps(steps),
            (None, Some(epochs)) if epochs > 0.0 && epochs.is_finite() => Budget::Epochs(epochs),
            (Some(_), Some(_)) => {
                return Err(key_error("budget", "give steps or epochs, not both".into()))
            }
            (None, None) => {
                return Err(key_error(
                    "budget",
                    "give each trial's full budget: steps = N or epochs = N".into(),
                ))
            }
            _ => {
                return Err(key_error(
                    "budget",
                    "the budget must be above zero: steps = 1 or more, or epochs above 0".into(),
                ))
            }
        };
        let trials =
            trial_count(&file, &space).map_err(|(key, problem)| key_error(&key, problem))?;
        let asha = match file.asha {
            None => None,
            Some(asha) => Some(asha_rungs(asha, budget).map_err(|(k, p)| key_error(&k, p))?),
        };
        Ok(Self {
            method: file.method,
            space,
            trials,
            budget,
            asha,
            file,
        })
    }

    /// The budget of rung `rung` in the budget's unit (the full budget without a scheduler).
    pub fn rung_budget(&self, rung: usize) -> f64 {
        match &self.asha {
            Some(asha) => asha.rungs[rung.min(asha.rungs.len() - 1)],
            None => self.budget.amount(),
        }
    }

    /// Rungs a trial climbs: 1 without a scheduler.
    pub fn rung_count(&self) -> usize {
        self.asha.as_ref().map_or(1, |a| a.rungs.len())
    }

    /// Steps of rung `rung` for a trial at `batch` images a step, over `train_images`.
    pub fn rung_steps(&self, rung: usize, batch: usize, train_images: usize) -> u64 {
        let steps = |r: usize| {
            self.budget
                .steps_for(self.rung_budget(r), batch, train_images)
        };
        // Each rung at least a step beyond the one below.
        (0..=rung).fold(0, |below, r| steps(r).max(below + 1))
    }
}

/// Each list value and each range end, applied to `base` and checked as a config: a space
/// whose every value is a valid setting.
fn check_space_values(space: &Space, base: &Config) -> Result<(), (String, String)> {
    for param in &space.params {
        for value in param.domain.extremes() {
            let settings: Settings = [(param.key.clone(), param.typed(value.clone()))].into();
            let key = format!("space.{}", param.key);
            let config = apply_settings(base, &settings)
                .map_err(|e| (key.clone(), format!("{value} is not a value it takes: {e}")))?;
            config
                .validate(&|_| format!("the sweep's space, {key}"))
                .map_err(|e| (key.clone(), format!("{value} is not a value it takes: {e}")))?;
        }
    }
    Ok(())
}

/// The trials the file asks for: a grid's size (capped by `trials`), else `trials`.
fn trial_count(file: &SweepFile, space: &Space) -> Result<usize, (String, String)> {
    let asked = file.trials;
    if asked == Some(0) {
        return Err(("trials".into(), "run at least one trial".into()));
    }
    if file.method != Method::Grid {
        return asked.ok_or_else(|| {
            (
                "trials".into(),
                format!(
                    "{} needs a number of trials: trials = N",
                    file.method.name()
                ),
            )
        });
    }
    let mut size: u128 = 1;
    let mut sizes = Vec::new();
    for param in &space.params {
        let n = param.domain.grid_len().ok_or_else(|| {
            (
                format!("space.{}", param.key),
                "a grid takes a range of numbers at points: add points = N, e.g. { uniform = \
                 [0.0, 0.5], points = 3 }"
                    .to_string(),
            )
        })?;
        size = size.saturating_mul(n);
        sizes.push(format!("{} {n}", param.key));
    }
    if size > MAX_GRID_TRIALS {
        return Err((
            "space".into(),
            format!(
                "the grid holds {size} trials ({}), over the {MAX_GRID_TRIALS} a sweep runs: use \
                 fewer values or points, or method = \"random\" with trials = N",
                sizes.join(" x ")
            ),
        ));
    }
    Ok(asked.map_or(size as usize, |n| n.min(size as usize)))
}

/// The rungs of successive halving: the smallest budget times the factor to each power, up
/// to the full budget.
fn asha_rungs(asha: AshaFile, budget: Budget) -> Result<AshaSpec, (String, String)> {
    let eta = asha.reduction_factor;
    if !(2..=100).contains(&eta) {
        return Err((
            "asha.reduction_factor".into(),
            format!("{eta}: give a whole number from 2 to 100 (3 is usual)"),
        ));
    }
    let full = budget.amount();
    let min = asha.min_budget;
    if !(min > 0.0 && min < full) {
        return Err((
            "asha.min_budget".into(),
            format!(
                "{min}: the smallest budget must be above 0 and below the full budget of {full} \
                 {} (it is in the budget's unit)",
                budget.unit()
            ),
        ));
    }
    let mut rungs = Vec::new();
    let mut at = min;
    // A rung within 1% of the full budget is the full budget.
    while at < full * 0.99 {
        rungs.push(at);
        at *= f64::from(eta);
    }
    rungs.push(full);
    Ok(AshaSpec { eta, rungs })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base of every test: the tutorial's validation split held out.
    pub(crate) fn base() -> Config {
        let mut config = Config::default();
        config.data.validation = Some(5000);
        config
    }

    fn spec(text: &str) -> Result<SweepSpec, SweepError> {
        let path = Path::new("sweep.toml");
        SweepSpec::new(SweepFile::from_toml(text, path)?, path, &base())
    }

    const GRID: &str = "method = \"grid\"\n[budget]\nepochs = 2\n[space]\n\
                        learning_rate = { log_uniform = [1e-4, 1e-2], points = 3 }\n\
                        batch_size = [32, 64, 128]\n";

    #[test]
    fn a_grid_holds_the_product_and_the_file_reads_back_as_written() {
        let s = spec(GRID).unwrap();
        assert_eq!(s.trials, 9);
        assert_eq!(s.budget, Budget::Epochs(2.0));
        let back = SweepFile::from_toml(&s.file.to_toml(), Path::new("x")).unwrap();
        assert_eq!(back, s.file);
        let capped = s.file.clone().with_overrides(Some(4), Some(30));
        let s = SweepSpec::new(capped, Path::new("x"), &base()).unwrap();
        assert_eq!((s.trials, s.budget), (4, Budget::Steps(30)));
    }

    #[test]
    fn asha_rungs_rise_by_the_factor_to_the_full_budget_and_keep_their_share() {
        let text = format!("{GRID}[asha]\nreduction_factor = 3\nmin_budget = 0.2222222\n");
        let s = spec(&text).unwrap();
        let rungs = &s.asha.as_ref().unwrap().rungs;
        assert_eq!(rungs.len(), 3, "{rungs:?}");
        assert!((rungs[1] - 0.6666666).abs() < 1e-6 && rungs[2] == 2.0);
        // 55,000 images at batch 50: 2 epochs are 2,200 steps, rung 0 about 244.
        assert_eq!(s.rung_steps(2, 50, 55_000), 2200);
        assert_eq!(s.rung_steps(0, 50, 55_000), 244);
        let quick = s.file.clone().with_overrides(None, Some(90));
        let s = SweepSpec::new(quick, Path::new("x"), &base()).unwrap();
        assert_eq!(s.asha.unwrap().rungs, [10.0, 30.0, 90.0]);
    }

    #[test]
    fn bad_sweep_files_name_the_key() {
        for (text, key, words) in [
            (
                "method = \"grid\"\n[budget]\nsteps = 9\n[space]\nlearning_rate = { log_uniform = [1e-4, 1e-2], points = 100 }\nbatch_size = { int = [1, 200] }\n",
                "space",
                "20000 trials",
            ),
            (
                "method = \"grid\"\n[budget]\nsteps = 9\n[space]\ndropout = { uniform = [0.0, 0.5] }\n",
                "space.dropout",
                "points",
            ),
            (
                "method = \"random\"\n[budget]\nsteps = 9\n[space]\ndropout = [0.1]\n",
                "trials",
                "number of trials",
            ),
            (
                "method = \"random\"\ntrials = 2\n[budget]\nsteps = 9\n[space]\ndropout = { uniform = [0.0, 1.5] }\n",
                "space.dropout",
                "train.dropout",
            ),
            (
                "method = \"random\"\ntrials = 2\n[budget]\n[space]\ndropout = [0.1]\n",
                "budget",
                "steps = N or epochs = N",
            ),
            (
                "method = \"random\"\ntrials = 2\n[budget]\nsteps = 9\n[asha]\nmin_budget = 9\n[space]\ndropout = [0.1]\n",
                "asha.min_budget",
                "below the full budget",
            ),
        ] {
            match spec(text).unwrap_err() {
                SweepError::Key { key: k, problem, .. } => {
                    assert_eq!(k, key, "{text}: {problem}");
                    assert!(problem.contains(words), "{text}: {problem}");
                }
                other => panic!("{text}: {other}"),
            }
        }
        let err = spec("method = \"grid\"\n[budget]\nsteps = 9\n[space]\nx = 1\n[extra]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("extra") && err.contains("sweep.toml"), "{err}");
    }
}
