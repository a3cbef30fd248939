//! The command line: flags, subcommands, and how they combine with `config.toml`.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError, Preset, DEFAULT_VALIDATION};
use crate::data::Dataset;
use crate::settings::MAX_BATCH_SIZE;

/// Train the TensorFlow "Deep MNIST" network with dfdx, and watch it learn.
#[derive(Debug, Parser)]
#[command(name = "digitdash", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without one, train.
    #[command(subcommand)]
    pub command: Option<Subcommands>,
    /// Training options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands besides training.
#[derive(Debug, Subcommand)]
pub enum Subcommands {
    /// Time training steps and inference on this machine.
    Bench(BenchArgs),
    /// Report a saved model's test accuracy and confusion matrix.
    Eval {
        /// A run folder (runs/NAME: its best checkpoint, else its newest), a checkpoint
        /// folder (runs/NAME/checkpoints/step-...) or its model.safetensors.
        #[arg(long, value_name = "PATH")]
        checkpoint: PathBuf,
        /// With a run folder: its checkpoint of this step instead of the best.
        #[arg(long, value_name = "N")]
        step: Option<u64>,
        /// The images to score: the test set, the run's validation split (the first images of
        /// the training files it held out), or the training images it trained on.
        #[arg(long, value_enum, default_value_t = SplitArg::Test)]
        split: SplitArg,
    },
    /// Classify PNG images (28x28 or larger; resized, light-on-dark or dark-on-light), naming
    /// the classes of the dataset the checkpoint was trained on.
    Predict {
        /// A run folder (runs/NAME: its best checkpoint, else its newest), a checkpoint
        /// folder or its model.safetensors.
        #[arg(long, value_name = "PATH")]
        checkpoint: PathBuf,
        /// With a run folder: its checkpoint of this step instead of the best.
        #[arg(long, value_name = "N")]
        step: Option<u64>,
        /// PNG files.
        #[arg(required = true, value_name = "IMAGE.png")]
        images: Vec<PathBuf>,
    },
    /// Open the dashboard on a run that another process writes, or wrote: it follows the
    /// records as they grow (only reading files, so over a network file system too). On a
    /// sweep's folder it opens the Sweep page: the trials ranked, live, to overlay on the charts.
    Watch {
        /// The run's folder (runs/NAME), or a sweep's (runs/sweep-...).
        #[arg(value_name = "RUN_DIR")]
        run: PathBuf,
        /// Overlay another run's curves on the charts (repeatable).
        #[arg(long = "compare", value_name = "RUN_DIR")]
        compare: Vec<PathBuf>,
        /// Print the run's records as JSON lines, as `--headless --json` prints a run's, until
        /// it ends, instead of drawing the dashboard.
        #[arg(long, conflicts_with = "compare")]
        json: bool,
    },
    /// List the runs under DIR: start, status, steps, best and final test accuracy, wall time,
    /// and the settings in which they differ.
    Runs {
        /// Folder of runs [default: run.dir of the config, `runs`].
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Print one JSON array (an object a run) instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Plot loss, training accuracy and test accuracy against step for one or more runs,
    /// overlaid, to an SVG or PNG file.
    Plot(PlotArgs),
    /// Train presets on several seeds, headless, and print epochs, wall time, images per
    /// second and test accuracy per run, and each preset's mean (the README's preset table).
    Presets(PresetsArgs),
    /// Search the training settings: trials of a sweep file's space (grid, random or tpe),
    /// side by side, optionally halving the weak ones early (ASHA), chosen on validation
    /// accuracy; `sweep report`, `sweep plan` (for a cluster) and `sweep trial` below.
    Sweep(SweepArgs),
    /// Find a learning rate: from a fresh network, raise the rate exponentially over a few
    /// hundred steps until the smoothed loss blows up; draws loss against rate and suggests
    /// the rate where the loss falls fastest.
    LrFind(LrFindArgs),
    /// Write a run's best checkpoint, or a checkpoint, as an ONNX model (opset 13) for other
    /// runtimes: input `image` [N,1,28,28] float in 0..1, output `logits` [N,10].
    Export(ExportArgs),
    /// Print the shell completion script for digitdash (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum, value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print digitdash's man page (roff), or write one page a command into a folder.
    Man {
        /// Write digitdash.1 and digitdash-COMMAND.1 for every subcommand into DIR instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Options of `digitdash export`.
#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// A run folder (runs/NAME: its best checkpoint, else its newest), a checkpoint folder
    /// (runs/NAME/checkpoints/step-...) or its model.safetensors.
    #[arg(value_name = "RUN_OR_CHECKPOINT")]
    pub source: PathBuf,
    /// The ONNX file to write (replaced whole or not at all).
    #[arg(short, long, value_name = "FILE", default_value = "model.onnx")]
    pub output: PathBuf,
    /// Output the class probabilities (softmax), named `probabilities`, instead of the logits.
    #[arg(long)]
    pub probabilities: bool,
}

/// Which images `eval` scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    /// The test set.
    Test,
    /// The run's validation split.
    Validation,
    /// The images the run trained on.
    Train,
}

impl SplitArg {
    /// The split it names.
    pub fn split(self) -> crate::run::record::EvalSplit {
        use crate::run::record::EvalSplit;
        match self {
            SplitArg::Test => EvalSplit::Test,
            SplitArg::Validation => EvalSplit::Validation,
            SplitArg::Train => EvalSplit::Train,
        }
    }
}

/// Options of `digitdash presets`.
#[derive(Debug, Args, Clone)]
pub struct PresetsArgs {
    /// A preset to train (repeatable) [default: tutorial, fast and best].
    #[arg(long, value_name = "PRESET")]
    pub preset: Vec<Preset>,
    /// A seed to train each preset with (repeatable) [default: 0, 1 and 2].
    #[arg(long, value_name = "N")]
    pub seed: Vec<u64>,
    /// Also train `best` without each of its ingredients in turn (the affine moves, dropout)
    /// and with the elastic distortion added, to see what each adds.
    #[arg(long)]
    pub ablate: bool,
    /// Cut every run to this many steps (a quick look; the table is then not the presets').
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Print the runs as a JSON array instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `digitdash sweep`.
#[derive(Debug, Args, Clone)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SweepArgs {
    /// The sweep file: base settings, space, method, trials, budget, scheduler
    /// (examples/sweep.toml documents every key).
    #[arg(value_name = "SWEEP.toml", required_unless_present = "resume")]
    pub file: Option<PathBuf>,
    /// Go on with the sweep in DIR after a stop (Ctrl-C, kill -9): finished trials are kept,
    /// trials that were training go on from their newest checkpoints, the rest start.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["file", "out", "trials", "steps"])]
    pub resume: Option<PathBuf>,
    /// The sweep's folder, missing or empty [default: run.dir/sweep-<start time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run this many trials instead of the file's (a grid: its first N).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub trials: Option<usize>,
    /// Give each trial this many steps as its full budget instead of the file's (ASHA's
    /// smallest budget keeps its share of it).
    #[arg(long, value_name = "N", value_parser = at_least_one_step)]
    pub steps: Option<u64>,
    /// Trials trained side by side; the cores are split between them, each trial's thread
    /// pool getting cores/K threads (never more trials than cores) [default: one trial for
    /// every two cores, at least 1; RAYON_NUM_THREADS sets the cores used].
    #[arg(long, value_name = "K", value_parser = at_least_one)]
    pub parallel: Option<usize>,
    /// Print a line per trial decision and the final table instead of opening the
    /// dashboard's Sweep page (without a terminal that can show it, lines are printed anyway).
    #[arg(long)]
    pub headless: bool,
    /// Reports and cluster runs.
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
}

/// The subcommands of `digitdash sweep`.
#[derive(Debug, Subcommand, Clone)]
pub enum SweepCommand {
    /// The trials ranked by validation accuracy, the best settings as a TOML snippet, and the
    /// compute the scheduler saved (reads the folder; works while the sweep runs).
    Report {
        /// The sweep's folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Print one JSON object instead.
        #[arg(long)]
        json: bool,
    },
    /// Fix the trials of a grid or random sweep in a folder for a cluster and write how to
    /// run them: an `sbatch --array` script, or one command a line (GNU parallel, xargs -P,
    /// a Kubernetes Indexed Job). DIR must be on a file system every node mounts.
    Plan {
        /// The sweep file.
        #[arg(value_name = "SWEEP.toml")]
        file: PathBuf,
        /// The sweep's folder, missing or empty.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// What to write into it: `slurm` (sweep.sbatch) or `commands` (commands.txt).
        #[arg(long, value_enum)]
        emit: Emit,
        /// Run this many trials instead of the file's.
        #[arg(long, value_name = "N", value_parser = at_least_one)]
        trials: Option<usize>,
        /// Give each trial this many steps instead of the file's budget.
        #[arg(long, value_name = "N", value_parser = at_least_one_step)]
        steps: Option<u64>,
        /// CPUs each Slurm task asks for (--cpus-per-task), its trial's threads.
        #[arg(long, value_name = "N", default_value_t = 4, value_parser = at_least_one)]
        cpus: usize,
    },
    /// Train trial N of a planned sweep into DIR/trial-N (to its full budget); N defaults to
    /// SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX. A finished trial is not trained again;
    /// an interrupted one goes on from its newest checkpoint.
    Trial {
        /// The sweep's folder (from `sweep plan`).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The trial's number, from 0.
        #[arg(value_name = "N")]
        index: Option<usize>,
        /// Threads of the trial [default: the cores this process may use].
        #[arg(long, value_name = "N", value_parser = at_least_one)]
        threads: Option<usize>,
    },
}

/// What `sweep plan` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// An `sbatch --array` script whose task N trains trial N.
    Slurm,
    /// One command a trial, a line each.
    Commands,
}

/// Options of `digitdash lr-find`.
#[derive(Debug, Args, Clone)]
pub struct LrFindArgs {
    /// Training settings to start from (else the config file's).
    #[arg(long, value_enum, value_name = "NAME")]
    pub preset: Option<Preset>,
    /// Images per step [config: train.batch_size].
    #[arg(long, value_name = "N", value_parser = batch_size)]
    pub batch_size: Option<usize>,
    /// Seed of the fresh network and the data order [config: train.seed].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// The first learning rate.
    #[arg(long, value_name = "X", default_value_t = 1e-7)]
    pub start: f64,
    /// The last learning rate, if the loss has not blown up before.
    #[arg(long, value_name = "X", default_value_t = 10.0)]
    pub end: f64,
    /// Steps from the first rate to the last (the rate grows by the same factor each step).
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = at_least_one)]
    pub steps: usize,
    /// The plot to write, .png or .svg.
    #[arg(short, long, value_name = "FILE", default_value = "lr-find.png")]
    pub output: PathBuf,
}

/// Options of `digitdash plot`.
#[derive(Debug, Args, Clone)]
pub struct PlotArgs {
    /// Run folders (runs/NAME), each a line in the legend; or one sweep's folder, for
    /// validation accuracy against each searched setting and a parallel-coordinates chart.
    #[arg(required = true, value_name = "RUN_DIR")]
    pub runs: Vec<PathBuf>,
    /// The file to write: its extension, .svg or .png, chooses the format.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Smoothing weight of loss and training accuracy, 0 (none) to 0.99, as TensorBoard's
    /// slider; the raw values are drawn faint behind.
    #[arg(long, value_name = "W", default_value_t = 0.6)]
    pub smoothing: f64,
    /// Draw the loss on a linear axis instead of a logarithmic one.
    #[arg(long)]
    pub linear_loss: bool,
    /// Width in pixels.
    #[arg(long, value_name = "PX", default_value_t = 1200)]
    pub width: u32,
    /// Height in pixels.
    #[arg(long, value_name = "PX", default_value_t = 900)]
    pub height: u32,
    /// The title [default: the runs' names].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Plot one run's layer statistics (layers.jsonl) instead: per layer the update-to-weight
    /// ratio, dead ReLUs, weight and gradient RMS over the steps.
    #[arg(long)]
    pub layers: bool,
}

/// Options of a training run; each overrides the config file.
#[derive(Debug, Args, Default, Clone)]
pub struct RunArgs {
    /// Config file [default: ./config.toml when present, else built-in defaults].
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Train without the terminal dashboard, printing progress lines.
    #[arg(long)]
    pub headless: bool,
    /// In headless mode, print one JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Folder holding the dataset's files (downloaded there if missing) [config: data.dir;
    /// default: the dataset's folder in the user's cache, $XDG_CACHE_HOME/digitdash/<dataset>].
    #[arg(long, value_name = "DIR", env = "DIGITDASH_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// The dataset to train on, downloaded on first use [config: data.dataset; eval and
    /// predict: the one the checkpoint was trained on].
    #[arg(long, value_enum, value_name = "NAME", global = true)]
    pub dataset: Option<Dataset>,
    /// Training settings to start from, before the flags below (each is described beside its
    /// name in the list of values).
    #[arg(long, value_enum, value_name = "NAME")]
    pub preset: Option<Preset>,
    /// Training steps [config: train.steps].
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Images per mini-batch [config: train.batch_size].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Adam's learning rate [config: train.learning_rate].
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Probability of dropping each unit of the 1024-unit layer while training, 0 for none
    /// [config: train.dropout].
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub dropout: Option<f32>,
    /// Seed of initialisation and data order [config: train.seed].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Steps between evaluations (on the validation split, or the test set without one), 0
    /// for only at the end [config: train.eval_every].
    #[arg(long, value_name = "N")]
    pub eval_every: Option<u64>,
    /// Training images held out as the validation split, the first N of the training files,
    /// on which evaluations, the best checkpoint and early stopping choose; 0 for none
    /// (choices are then made on the test set) [config: data.validation, default 5000].
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub validation: Option<usize>,
    /// Stop after this many evaluations in a row without a better validation accuracy, 0 for
    /// never [config: train.early_stop].
    #[arg(long, value_name = "N")]
    pub early_stop: Option<u64>,
    /// Steps between progress lines in headless mode [config: log.log_every].
    #[arg(long, value_name = "N")]
    pub log_every: Option<u64>,
    /// Folder for this run's records and checkpoints [default: run.dir/<start time>].
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub run_dir: Option<PathBuf>,
    /// Overlay another run's curves on the dashboard's charts (repeatable), with the
    /// settings in which it differs.
    #[arg(long = "compare", value_name = "RUN_DIR")]
    pub compare: Vec<PathBuf>,
    /// Continue the run in RUN_DIR from its newest checkpoint (its settings, unless flags
    /// override them).
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "config")]
    pub resume: Option<PathBuf>,
    /// Exit with status 3 when the final test accuracy is below ACC (0..1), for CI.
    #[arg(long, value_name = "ACC")]
    pub fail_under: Option<f64>,
}

/// Options of `digitdash bench`.
#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Timed training steps (after warm-up), at least 1.
    #[arg(long, default_value_t = 30, value_parser = at_least_one)]
    pub steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 5)]
    pub warmup: usize,
    /// Mini-batch size of the timed steps, 1 to 60000 as in training.
    #[arg(long, default_value_t = 50, value_parser = batch_size)]
    pub batch_size: usize,
    /// Print one JSON object at the end instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also run the PyTorch reference, alternating with digitdash, and print the ratios.
    #[arg(long)]
    pub compare: bool,
    /// Rounds of (reference, digitdash) with --compare, at least 1.
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    pub rounds: usize,
    /// Python interpreter that has torch installed, for --compare (set one up with
    /// bench/requirements.txt, as the README's Speed section says).
    #[arg(
        long,
        env = "DIGITDASH_PYTHON",
        default_value = "python3",
        value_name = "PATH"
    )]
    pub python: PathBuf,
    /// The reference script, for --compare [default: the built-in copy of
    /// bench/torch_reference.py].
    #[arg(long, value_name = "PATH")]
    pub reference: Option<PathBuf>,
}

/// A count of 1 or more, for clap: a median over no steps would be no figure at all.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("give a whole number of 1 or more".to_string()),
    }
}

/// A step count of 1 or more, for clap.
fn at_least_one_step(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("give a whole number of 1 or more".to_string()),
    }
}

/// A batch size training accepts, 1 to [`MAX_BATCH_SIZE`], for clap.
fn batch_size(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_BATCH_SIZE).contains(&n) => Ok(n),
        _ => Err(format!(
            "give a batch size from 1 to {MAX_BATCH_SIZE} images (the size of MNIST's training \
             set), as training accepts"
        )),
    }
}

/// The config file to read: `--config` if given, else `./config.toml` if it exists.
fn config_path(args: &RunArgs) -> Option<PathBuf> {
    args.config
        .clone()
        .or_else(|| Some(PathBuf::from("config.toml")).filter(|p| p.is_file()))
}

/// Builds the effective config: built-in defaults, then the file, then flags; then checks it.
pub fn resolve_config(args: &RunArgs) -> Result<Config, ConfigError> {
    let path = config_path(args);
    let config = match &path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let source = path.map_or_else(
        || "built-in defaults".to_string(),
        |path| format!("config file {}", path.display()),
    );
    let mut config = finish_config(config, args, &source)?;
    // A new run holds out the tutorial's validation split unless told otherwise.
    config.data.validation.get_or_insert(DEFAULT_VALIDATION);
    Ok(config)
}

/// A resumed run's config: the one its checkpoint (`checkpoint`, a folder) recorded, then
/// flags; then checks it. A bad recorded value is blamed on the checkpoint's metadata file.
pub fn resolve_resumed_config(
    recorded: Config,
    args: &RunArgs,
    checkpoint: &Path,
) -> Result<Config, ConfigError> {
    let source = format!(
        "the settings recorded in {}",
        checkpoint.join(crate::run::checkpoint::META_FILE).display()
    );
    finish_config(recorded, args, &source)
}

/// Applies the flags to `config` and checks it; `source` says where the values the flags do
/// not set came from.
fn finish_config(mut config: Config, args: &RunArgs, source: &str) -> Result<Config, ConfigError> {
    apply_overrides(&mut config, args);
    config.data.fill_default_dir();
    let origin = |field: &'static str| describe_origin(field, args, source);
    config.validate(&origin)?;
    Ok(config)
}

fn apply_overrides(config: &mut Config, args: &RunArgs) {
    if let Some(preset) = args.preset {
        preset.apply(&mut config.train);
    }
    let t = &mut config.train;
    if let Some(dir) = &args.data_dir {
        config.data.dir = dir.clone();
    }
    config.data.dataset = args.dataset.unwrap_or(config.data.dataset);
    t.steps = args.steps.unwrap_or(t.steps);
    t.batch_size = args.batch_size.unwrap_or(t.batch_size);
    t.learning_rate = args.lr.unwrap_or(t.learning_rate);
    t.dropout = args.dropout.unwrap_or(t.dropout);
    t.seed = args.seed.unwrap_or(t.seed);
    t.eval_every = args.eval_every.unwrap_or(t.eval_every);
    t.early_stop = args.early_stop.unwrap_or(t.early_stop);
    if let Some(n) = args.validation {
        config.data.validation = Some(n);
    }
    config.log.log_every = args.log_every.unwrap_or(config.log.log_every);
}

/// Where the value of `field` came from, for error messages: its flag, or `source`.
fn describe_origin(field: &str, args: &RunArgs, source: &str) -> String {
    let flag = match field {
        "train.steps" => args.steps.map(|_| "--steps"),
        "train.batch_size" => args.batch_size.map(|_| "--batch-size"),
        "train.learning_rate" => args.lr.map(|_| "--lr"),
        "train.dropout" => args.dropout.map(|_| "--dropout"),
        "train.eval_every" => args.eval_every.map(|_| "--eval-every"),
        "log.log_every" => args.log_every.map(|_| "--log-every"),
        _ => None,
    };
    match flag {
        Some(flag) => format!("command-line flag {flag}"),
        None => source.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_name_themselves_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[train]\nsteps = 10\nlearning_rate = 0.5\n").unwrap();
        let mut args = RunArgs {
            config: Some(file.clone()),
            steps: Some(3),
            ..Default::default()
        };
        let config = resolve_config(&args).unwrap();
        assert_eq!(config.train.steps, 3);
        assert_eq!(config.train.learning_rate, 0.5);

        args.lr = Some(0.0);
        let err = resolve_config(&args).unwrap_err().to_string();
        assert!(
            err.contains("--lr") && err.contains("train.learning_rate"),
            "{err}"
        );

        args.lr = None;
        std::fs::write(&file, "[train]\nbatch_size = 0\n").unwrap();
        let err = resolve_config(&args).unwrap_err().to_string();
        assert!(
            err.contains("c.toml") && err.contains("train.batch_size"),
            "{err}"
        );
    }

    #[test]
    fn the_data_folder_is_the_flag_else_the_datasets_cache_folder() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[data]\ndataset = \"fashion-mnist\"\n").unwrap();
        let from_file = resolve_config(&RunArgs {
            config: Some(file.clone()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(from_file.data.dataset, Dataset::FashionMnist);
        assert_eq!(
            from_file.data.dir,
            Dataset::FashionMnist.cache_dir().unwrap()
        );
        let flagged = resolve_config(&RunArgs {
            config: Some(file.clone()),
            dataset: Some(Dataset::Kmnist),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(flagged.data.dataset, Dataset::Kmnist);
        assert!(flagged.data.dir.ends_with("digitdash/kmnist"));
        let named = resolve_config(&RunArgs {
            config: Some(file),
            data_dir: Some(PathBuf::from("here")),
            dataset: Some(Dataset::Kmnist),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(named.data.dir, PathBuf::from("here"));
    }

    #[test]
    fn a_missing_config_file_is_an_error_naming_it() {
        let args = RunArgs {
            config: Some(PathBuf::from("/nonexistent/digitdash.toml")),
            ..Default::default()
        };
        let err = resolve_config(&args).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/digitdash.toml"), "{err}");
    }
}
