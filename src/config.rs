//! The run's settings: built-in defaults, `config.toml`, and command-line overrides.
//!
//! Defaults reproduce the TensorFlow tutorial. A config file may set any subset of keys;
//! unknown keys and wrong types are errors that name the file, the line and the fix.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::augment::AugmentConfig;
use crate::data::{DataError, Dataset};
use crate::model::dropout::TUTORIAL_DROPOUT;
use crate::model::Init;
use crate::settings::{SettingValue, MAX_STEPS};

/// The largest config file read (the shipped one is a few kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Everything a run needs to know.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Optimisation settings.
    pub train: TrainConfig,
    /// Which dataset, and where it comes from.
    pub data: DataConfig,
    /// What the reporters print.
    pub log: LogConfig,
    /// Where runs keep their records and checkpoints.
    pub run: RunConfig,
}

/// Where runs keep their records and checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Folder under which each run gets a folder named by its start time.
    pub dir: PathBuf,
    /// Steps between checkpoints (0: only when the run stops or ends).
    pub checkpoint_every: u64,
    /// Periodic checkpoints kept (older ones are deleted; the best one is always kept).
    pub keep_checkpoints: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("runs"),
            checkpoint_every: 1000,
            keep_checkpoints: 3,
        }
    }
}

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Training steps (mini-batches) in the run.
    pub steps: u64,
    /// Images per mini-batch.
    pub batch_size: usize,
    /// Adam's learning rate (the peak rate when a schedule is used).
    pub learning_rate: f64,
    /// Learning-rate schedule over the run.
    pub schedule: Schedule,
    /// Fraction of the steps spent warming up (one-cycle schedule only).
    pub warmup_fraction: f64,
    /// Seed of the weight initialisation and of the data order.
    pub seed: u64,
    /// How the weights start.
    pub init: Init,
    /// Probability of dropping each unit of the 1024-unit layer while training (the
    /// tutorial's `keep_prob` 0.5 is 0.5 here; 0 turns dropout off).
    pub dropout: f32,
    /// Weight taken from the true class and spread evenly over all ten in the training
    /// targets (Szegedy et al. 2016); 0 trains on the plain one-hot labels. The training loss
    /// is then the cross-entropy against the smoothed targets.
    pub label_smoothing: f32,
    /// Steps between evaluations (0: only at the end): on the validation split, or on the
    /// test set when there is none.
    pub eval_every: u64,
    /// Evaluations in a row without a better validation accuracy after which training stops
    /// (a normal finish; 0: never).
    pub early_stop: u64,
    /// Images per forward pass when evaluating.
    pub eval_batch_size: usize,
    /// Random transforms of the training images (`[train.augment]`), all off by default.
    pub augment: AugmentConfig,
}

/// A learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The same rate throughout (the tutorial).
    #[default]
    Constant,
    /// Linear warm-up from rate/25 to the rate, then cosine decay to zero.
    OneCycle,
}

/// Which dataset, and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// The dataset: MNIST, Fashion-MNIST or KMNIST.
    pub dataset: Dataset,
    /// Folder holding the four IDX files (gzip or raw); empty (the default) stands for the
    /// dataset's folder in the user's cache, [`Dataset::cache_dir`].
    #[serde(skip_serializing_if = "is_empty_path")]
    pub dir: PathBuf,
    /// Download missing files from the mirrors on first run.
    pub download: bool,
    /// Base URLs tried in order; a file's URL is the base followed by its name. Unset: the
    /// dataset's own, [`Dataset::mirrors`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirrors: Option<Vec<String>>,
    /// Training images held out as the validation split: the first this many of the
    /// training files, the same for every seed (0: none, and choices are made on the test
    /// set). Unset in a config means the tutorial's 5,000 for a new run, and none for a run
    /// recorded before the split existed ([`DataConfig::validation`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<usize>,
}

/// Images the validation split holds unless told otherwise: the tutorial's
/// `read_data_sets`, the first 5,000 of the 60,000 training images.
pub const DEFAULT_VALIDATION: usize = 5_000;

/// Whether `path` is empty: an unset `data.dir`.
fn is_empty_path(path: &Path) -> bool {
    path.as_os_str().is_empty()
}

impl DataConfig {
    /// Training images held out for validation (a recorded config without the key: none).
    pub fn validation(&self) -> usize {
        self.validation.unwrap_or(0)
    }

    /// The data folder: `dir` when set, else the dataset's folder in the user's cache.
    pub fn folder(&self) -> Result<PathBuf, DataError> {
        if is_empty_path(&self.dir) {
            self.dataset.cache_dir().ok_or(DataError::NoCacheFolder)
        } else {
            Ok(self.dir.clone())
        }
    }

    /// Sets an unset `dir` to the dataset's folder in the user's cache, so that a run's
    /// records name the folder it used; left unset when the system names no cache folder.
    pub fn fill_default_dir(&mut self) {
        if let Ok(dir) = self.folder() {
            self.dir = dir;
        }
    }

    /// The data folder with the dataset's files in it: those missing are downloaded first
    /// when `download` allows (quietly; a note says so), else the folder as it is.
    pub fn fetch_missing(&self) -> Result<PathBuf, DataError> {
        let dir = self.folder()?;
        if !crate::data::missing_files(&dir).is_empty() && self.download {
            crate::output::note(format!(
                "downloading {} into {}",
                self.dataset.title(),
                dir.display()
            ));
            crate::data::download_missing(
                &dir,
                &self.mirror_list(),
                &self.dataset.remote_files(),
                &mut |_| {},
            )?;
        }
        Ok(dir)
    }

    /// The mirrors to try: `mirrors` when set, else the dataset's own.
    pub fn mirror_list(&self) -> Vec<String> {
        match &self.mirrors {
            Some(mirrors) => mirrors.clone(),
            None => self.dataset.mirror_list(),
        }
    }
}

/// What the reporters print.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Steps between progress lines in headless mode.
    pub log_every: u64,
    /// Steps between layer statistics (`layers.jsonl`, the dashboard's Layers page; 0: none).
    pub layer_stats_every: u64,
}

/// Steps between layer statistics unless told otherwise: often enough for charts over any
/// run, rarely enough that they cost under 1% of the training time (`digitdash bench`
/// measures it).
pub const DEFAULT_LAYER_STATS_EVERY: u64 = 200;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 20_000,
            batch_size: 50,
            learning_rate: 1e-4,
            schedule: Schedule::Constant,
            warmup_fraction: 0.2,
            seed: 0,
            init: Init::Tutorial,
            dropout: TUTORIAL_DROPOUT,
            label_smoothing: 0.0,
            eval_every: 1000,
            early_stop: 0,
            eval_batch_size: 500,
            augment: AugmentConfig::default(),
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            dataset: Dataset::Mnist,
            dir: PathBuf::new(),
            download: true,
            mirrors: None,
            validation: None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            log_every: 100,
            layer_stats_every: DEFAULT_LAYER_STATS_EVERY,
        }
    }
}

/// A named set of training settings, picked with `--preset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// The TensorFlow tutorial: lr 1e-4, batch 50, 20,000 steps, dropout 0.5 (the built-in
    /// defaults).
    Tutorial,
    /// 99.2% in two epochs: batch 128 under a one-cycle schedule peaking at lr 2e-3, fan-in
    /// initialisation, label smoothing 0.1, no dropout, one evaluation at the end.
    Fast,
    /// As good as this network gets: twenty epochs of the fast schedule on images moved,
    /// turned and scaled at random, with light dropout. (Elastic distortion is available in
    /// `[train.augment]` but off here: on top of the affine moves it cost 0.2 points.)
    Best,
}

/// Steps in an epoch of the 55,000 training images the validation split leaves, at batch 128
/// (the last partial batch of an epoch is dropped): the presets count their epochs in them.
const STEPS_PER_EPOCH_AT_128: u64 = (60_000 - DEFAULT_VALIDATION as u64) / 128;

impl Preset {
    /// The name `--preset` takes for it (`tutorial`, `fast`, `best`), as clap spells it.
    pub fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }

    /// Overwrites the training settings this preset defines; the rest stay.
    pub fn apply(self, train: &mut TrainConfig) {
        let defaults = TrainConfig::default();
        let preset = match self {
            Preset::Tutorial => defaults,
            Preset::Fast => TrainConfig {
                steps: 2 * STEPS_PER_EPOCH_AT_128,
                batch_size: 128,
                learning_rate: 2e-3,
                schedule: Schedule::OneCycle,
                warmup_fraction: 0.2,
                init: Init::FanIn,
                dropout: 0.0,
                label_smoothing: 0.1,
                eval_every: 0,
                ..defaults
            },
            Preset::Best => TrainConfig {
                steps: 20 * STEPS_PER_EPOCH_AT_128,
                batch_size: 128,
                learning_rate: 2e-3,
                schedule: Schedule::OneCycle,
                warmup_fraction: 0.2,
                init: Init::FanIn,
                dropout: 0.25,
                eval_every: 2 * STEPS_PER_EPOCH_AT_128,
                augment: AugmentConfig {
                    shift: 2.0,
                    rotate: 10.0,
                    scale: 0.1,
                    ..AugmentConfig::default()
                },
                ..defaults
            },
        };
        *train = TrainConfig {
            seed: train.seed,
            eval_batch_size: train.eval_batch_size,
            ..preset
        };
    }
}

/// A config that could not be read or does not make sense.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {cause}. Check the path given to --config, or run without it to use the built-in defaults.")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (written into the message, not chained, so it is printed once).
        cause: std::io::Error,
    },
    /// The file is not valid TOML for this config (syntax, unknown key, wrong type).
    #[error("config file {path} is invalid: {message}\nFix that line (the keys and their meaning are listed in the config.toml shipped with digitdash), or delete the key to use its default.")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid setting {field} = {value} (from {origin}): {rule}")]
    Invalid {
        /// The dotted key, e.g. `train.learning_rate`.
        field: &'static str,
        /// The offending value as written.
        value: String,
        /// Where it came from: a file path or a command-line flag.
        origin: String,
        /// What a valid value looks like.
        rule: &'static str,
    },
}

/// Columns of the file quoted in a parse error at most: the parser quotes the offending line,
/// which in a damaged or foreign file can be megabytes long.
const MAX_QUOTED_COLUMNS: usize = 160;

/// `text` with every line cut to `max` characters, an ellipsis marking a cut.
fn clip_lines(text: &str, max: usize) -> String {
    text.lines()
        .map(|line| match line.char_indices().nth(max) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl Config {
    /// Parses a config from TOML text; `path` names it in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: clip_lines(e.to_string().trim_end(), MAX_QUOTED_COLUMNS).replace('\n', "\n  "),
        })
    }

    /// Reads and parses a config file.
    /// A file over [`MAX_CONFIG_BYTES`] is refused without being read.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read;
        let read_error = |cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let len = file.metadata().map_err(read_error)?.len();
        let too_large = |len: u64| {
            read_error(std::io::Error::other(format!(
                "it is {len} bytes, more than the {MAX_CONFIG_BYTES} a config file can be"
            )))
        };
        if len > MAX_CONFIG_BYTES {
            return Err(too_large(len));
        }
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            // It grew while being read.
            return Err(too_large(text.len() as u64));
        }
        Self::from_toml(&text, path)
    }

    /// The config as TOML text (for run records).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every value that a type alone cannot; `origin` says where values came from.
    pub fn validate(&self, origin: &dyn Fn(&'static str) -> String) -> Result<(), ConfigError> {
        let t = &self.train;
        if !(1..=MAX_STEPS).contains(&t.steps) {
            return Err(ConfigError::Invalid {
                field: "train.steps",
                value: t.steps.to_string(),
                origin: origin("train.steps"),
                rule: "it must be at least 1 and at most 1000000000000",
            });
        }
        let live = [
            SettingValue::BatchSize(t.batch_size),
            SettingValue::LearningRate(t.learning_rate),
            SettingValue::Dropout(t.dropout),
        ];
        if let Some(bad) = live.into_iter().find(|v| !v.is_valid()) {
            let setting = bad.setting();
            return Err(ConfigError::Invalid {
                field: setting.config_key(),
                value: bad.plain().to_string(),
                origin: origin(setting.config_key()),
                rule: setting.rule(),
            });
        }
        let checks: [(&'static str, bool, String, &'static str); 6] = [
            (
                "train.label_smoothing",
                (0.0..1.0).contains(&t.label_smoothing),
                t.label_smoothing.to_string(),
                "it must be at least 0 and below 1",
            ),
            (
                "train.warmup_fraction",
                (0.0..1.0).contains(&t.warmup_fraction),
                t.warmup_fraction.to_string(),
                "it must be at least 0 and below 1",
            ),
            (
                "train.eval_batch_size",
                (1..=10_000).contains(&t.eval_batch_size),
                t.eval_batch_size.to_string(),
                "it must be between 1 and 10000",
            ),
            (
                "log.log_every",
                self.log.log_every > 0,
                self.log.log_every.to_string(),
                "it must be at least 1",
            ),
            (
                "run.keep_checkpoints",
                self.run.keep_checkpoints > 0,
                self.run.keep_checkpoints.to_string(),
                "it must be at least 1",
            ),
            (
                "data.mirrors",
                !self.data.download || self.data.mirrors.as_ref().is_none_or(|m| !m.is_empty()),
                "[]".to_string(),
                "list at least one mirror, or set data.download = false",
            ),
        ];
        let augment = t
            .augment
            .checks()
            .map(|(field, value, ok, rule)| (field, ok, value.to_string(), rule));
        match checks.into_iter().chain(augment).find(|(_, ok, _, _)| !ok) {
            None => Ok(()),
            Some((field, _, value, rule)) => Err(ConfigError::Invalid {
                field,
                value,
                origin: origin(field),
                rule,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("test.toml"))
    }

    fn validate(config: &Config) -> Result<(), ConfigError> {
        config.validate(&|_| "test.toml".to_string())
    }

    #[test]
    fn shipped_config_file_equals_the_built_in_defaults() {
        let shipped = include_str!("../config.toml");
        // The file names the validation split a new run holds out when nothing says otherwise.
        let mut defaults = Config::default();
        defaults.data.validation = Some(DEFAULT_VALIDATION);
        assert_eq!(parse(shipped).unwrap(), defaults);
    }

    #[test]
    fn a_partial_file_keeps_defaults_for_the_rest() {
        let config = parse("[train]\nsteps = 7\n").unwrap();
        assert_eq!(config.train.steps, 7);
        assert_eq!(config.train.batch_size, 50);
        assert_eq!(config.log, LogConfig::default());
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_line() {
        let err = parse("[train]\nsteps = 7\nbatchsize = 3\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("test.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("batchsize"), "{err}");
        let err = parse("[train]\nlearning_rate = \"fast\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn a_parse_error_quotes_at_most_a_screenful_of_a_huge_line() {
        let text = format!("[train]\nsteps = {}\n", "9".repeat(100_000));
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.len() < 2_000, "{} bytes", err.len());
        assert!(err.contains('…'), "{err}");
    }

    #[test]
    fn out_of_range_values_are_rejected_with_the_field_name() {
        for (text, field) in [
            ("[train]\nlearning_rate = 0.0\n", "train.learning_rate"),
            ("[train]\nlearning_rate = -1e-3\n", "train.learning_rate"),
            ("[train]\nbatch_size = 0\n", "train.batch_size"),
            ("[train]\nsteps = 0\n", "train.steps"),
            ("[log]\nlog_every = 0\n", "log.log_every"),
            ("[train]\ndropout = 1.0\n", "train.dropout"),
            ("[train]\ndropout = -0.1\n", "train.dropout"),
            ("[train]\nlabel_smoothing = 1.0\n", "train.label_smoothing"),
            ("[train]\nlabel_smoothing = -0.1\n", "train.label_smoothing"),
            ("[train.augment]\nshift = -1.0\n", "train.augment.shift"),
            ("[train.augment]\nrotate = 50.0\n", "train.augment.rotate"),
            ("[train.augment]\nscale = 0.6\n", "train.augment.scale"),
            (
                "[train.augment]\nelastic_alpha = 200.0\n",
                "train.augment.elastic_alpha",
            ),
            (
                "[train.augment]\nelastic_sigma = 0.0\n",
                "train.augment.elastic_sigma",
            ),
        ] {
            let config = parse(text).unwrap();
            let err = validate(&config).unwrap_err().to_string();
            assert!(err.contains(field), "{text}: {err}");
            assert!(err.contains("test.toml"), "{err}");
        }
        validate(&Config::default()).unwrap();
    }

    #[test]
    fn every_preset_is_a_valid_config_that_survives_its_own_toml() {
        for preset in [Preset::Tutorial, Preset::Fast, Preset::Best] {
            let mut config = Config::default();
            preset.apply(&mut config.train);
            validate(&config).unwrap();
            let back = Config::from_toml(&config.to_toml(), Path::new("run.toml")).unwrap();
            assert_eq!(back, config, "{preset:?}");
        }
    }

    #[test]
    fn each_preset_is_named_as_the_command_line_spells_it() {
        use clap::ValueEnum;
        for preset in Preset::value_variants() {
            assert!(!preset.name().is_empty(), "{preset:?}");
            assert_eq!(Preset::from_str(&preset.name(), false), Ok(*preset));
        }
        let names = [Preset::Tutorial, Preset::Fast, Preset::Best].map(Preset::name);
        assert_eq!(names, ["tutorial", "fast", "best"]);
    }

    #[test]
    fn the_fast_preset_sees_at_most_two_epochs_and_best_twenty_with_augmentation() {
        let images = |p: Preset| {
            let mut train = TrainConfig::default();
            p.apply(&mut train);
            (train.steps * train.batch_size as u64, train.augment.is_on())
        };
        // Epochs of the 55,000 images the validation split leaves.
        assert_eq!(images(Preset::Fast), (109_824, false));
        assert!(images(Preset::Fast).0 <= 2 * 55_000);
        let (best, augmented) = images(Preset::Best);
        assert!(best <= 20 * 55_000 && best > 19 * 55_000, "{best}");
        assert!(augmented);
        assert!(!images(Preset::Tutorial).1);
    }

    #[test]
    fn the_defaults_are_the_tutorials_and_the_fast_preset_turns_dropout_off() {
        let mut train = TrainConfig::default();
        assert_eq!(train.dropout, 0.5);
        train.seed = 9;
        Preset::Fast.apply(&mut train);
        assert_eq!(train.dropout, 0.0);
        assert_eq!(train.seed, 9);
        Preset::Tutorial.apply(&mut train);
        assert_eq!(
            train,
            TrainConfig {
                seed: 9,
                ..TrainConfig::default()
            }
        );
    }

    #[test]
    fn old_data_sections_stay_valid_and_new_ones_name_a_dataset() {
        let old = "[data]\ndir = \"data/mnist\"\ndownload = true\nmirrors = [\"http://m/\"]\n";
        let config = parse(old).unwrap();
        assert_eq!(config.data.dataset, Dataset::Mnist);
        assert_eq!(config.data.folder().unwrap(), PathBuf::from("data/mnist"));
        assert_eq!(config.data.mirror_list(), ["http://m/"]);
        validate(&config).unwrap();

        let config = parse("[data]\ndataset = \"fashion-mnist\"\n").unwrap();
        assert_eq!(config.data.dataset, Dataset::FashionMnist);
        assert!(config
            .data
            .folder()
            .unwrap()
            .ends_with("digitdash/fashion-mnist"));
        assert_eq!(
            config.data.mirror_list(),
            Dataset::FashionMnist.mirror_list()
        );
        let err = parse("[data]\ndataset = \"cifar\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("fashion-mnist") && err.contains("line 2"),
            "{err}"
        );

        let mut filled = config.clone();
        filled.data.fill_default_dir();
        assert_eq!(filled.data.dir, config.data.folder().unwrap());
        let back = Config::from_toml(&filled.to_toml(), Path::new("run.toml")).unwrap();
        assert_eq!(back, filled, "a run's record names the folder it used");
        assert!(!Config::default().to_toml().contains("dir = \"\""));

        let none = parse("[data]\nmirrors = []\n").unwrap();
        let err = validate(&none).unwrap_err().to_string();
        assert!(err.contains("data.mirrors"), "{err}");
    }

    #[test]
    fn an_oversized_file_is_refused_unread_and_its_cause_said_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.toml");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(5 << 30).unwrap(); // sparse: nothing is stored
        let err = Config::load(&path).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
        let msg = format!("{:#}", anyhow::Error::from(err));
        assert!(
            msg.contains("it is 5368709120 bytes, more than the 1048576"),
            "{msg}"
        );
        assert_eq!(msg.matches("bytes, more than").count(), 1, "{msg}");
    }
}
