//! Run folders written as the trainer writes them (through `RunRecords` and `Record`), in each
//! state a run can be left in: finished, stopped, failed, running, interrupted, damaged.

#![allow(dead_code)]

use std::fs::{self, File, FileTimes};
use std::path::Path;
use std::time::{Duration, SystemTime};

use digitdash::config::Config;
use digitdash::run::record::{ErrorKind, Evaluation, Record, RunError, RunStarted, Summary};
use digitdash::run::{MetricsRow, RunDir, RunRecords};

/// How a fixture run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum End {
    /// A summary after all planned steps.
    Finished,
    /// A stop, then a summary with `stopped_early`.
    Stopped,
    /// An error record and nothing after.
    Failed,
    /// Nothing after the last row; its files look freshly written.
    Running,
    /// Nothing after the last row; its files look untouched for minutes.
    Interrupted,
}

/// What a fixture run holds.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Rows written: steps 1 to `steps`.
    pub steps: u64,
    /// `train.steps` of its config.
    pub total: u64,
    /// `train.learning_rate` of its config.
    pub learning_rate: f64,
    /// An evaluation every this many steps (and none if 0).
    pub eval_every: u64,
    /// How it ends.
    pub end: End,
}

impl Spec {
    /// `steps` of `total` steps at the default settings, evaluated every 10 steps.
    pub fn new(steps: u64, total: u64, end: End) -> Self {
        Self {
            steps,
            total,
            learning_rate: 1e-4,
            eval_every: 10,
            end,
        }
    }
}

/// The loss written for `step`: positive, falling, exactly representable as text.
pub fn loss_at(step: u64) -> f32 {
    1.0 / (1.0 + step as f32 / 100.0)
}

/// The test accuracy written for an evaluation at `step`: rising to 0.99.
pub fn accuracy_at(step: u64) -> f64 {
    0.99 - 0.5 / (1.0 + step as f64)
}

/// The row the fixtures write for `step`.
pub fn row(step: u64) -> MetricsRow {
    MetricsRow {
        step,
        loss: loss_at(step),
        accuracy: 0.5 + 0.5 * (step % 2) as f32,
        learning_rate: 1e-4,
        samples_per_sec: 1000.0,
        wall_seconds: step as f64 * 0.01,
        epoch: step as f64 * 50.0 / 55_000.0,
    }
}

/// The config of a fixture run.
pub fn config(spec: &Spec) -> Config {
    let mut config = Config::default();
    config.train.steps = spec.total;
    config.train.learning_rate = spec.learning_rate;
    config.train.eval_every = spec.eval_every;
    config
}

/// Writes the run `spec` describes into `dir` (which must not hold a run).
pub fn write_run(dir: &Path, spec: &Spec) {
    let run = RunDir::new(dir);
    let config = config(spec);
    let mut records = RunRecords::create(&run, &config).expect("create the run");
    records
        .event(&Record::Started(RunStarted {
            train_images: 55_000,
            test_images: 10_000,
            validation_images: 0,
            threads: 2,
            first_step: 0,
            config: config.clone(),
        }))
        .unwrap();
    for step in 1..=spec.steps {
        records.step(&row(step)).unwrap();
        if spec.eval_every > 0 && step % spec.eval_every == 0 {
            records
                .event(&Record::Evaluation(Evaluation {
                    split: digitdash::run::record::EvalSplit::Test,
                    checkpoint: None,
                    step,
                    accuracy: accuracy_at(step),
                    loss: 0.1,
                    seconds: 0.5,
                    probabilities: Default::default(),
                }))
                .unwrap();
        }
    }
    let summary = |stopped_early| Summary {
        steps: spec.steps,
        stopped_early,
        test_accuracy: accuracy_at(spec.steps),
        test_loss: f64::NAN,
        train_seconds: 1.0,
        wall_seconds: 2.0,
        samples_per_sec: 1000.0,
        run_dir: Some(dir.to_path_buf()),
        unsaved: None,
        ..Default::default()
    };
    match spec.end {
        End::Finished => records.event(&Record::Finished(summary(false))).unwrap(),
        End::Stopped => {
            records.event(&Record::Stop { step: spec.steps }).unwrap();
            records.event(&Record::Finished(summary(true))).unwrap();
        }
        End::Failed => records
            .event(&Record::Error(RunError {
                kind: ErrorKind::Failed,
                message: "training failed: the loss became NaN".into(),
            }))
            .unwrap(),
        End::Running | End::Interrupted => {}
    }
    records.flush().unwrap();
    drop(records);
    if spec.end != End::Running {
        age(&run, Duration::from_secs(600));
    }
}

/// Dates the run's record files `by` into the past, as if nothing had written them since.
pub fn age(run: &RunDir, by: Duration) {
    let then = SystemTime::now() - by;
    for path in [run.metrics_file(), run.events_file()] {
        if let Ok(file) = File::options().write(true).open(&path) {
            file.set_times(FileTimes::new().set_modified(then)).unwrap();
        }
    }
}

/// Writes one run of each state under `parent`, named after it, plus damaged and foreign
/// folders: `finished`, `stopped`, `failed`, `running`, `interrupted`, `bad-config` (config.toml
/// unparsable), `no-metrics` (metrics.csv missing), `empty` (an empty folder), and a plain file
/// `notes.txt`. The finished run uses learning rate 1e-3, the others 1e-4.
pub fn write_every_state(parent: &Path) {
    let runs = [
        (
            "finished",
            Spec {
                learning_rate: 1e-3,
                ..Spec::new(100, 100, End::Finished)
            },
        ),
        ("stopped", Spec::new(60, 100, End::Stopped)),
        ("failed", Spec::new(30, 100, End::Failed)),
        ("running", Spec::new(40, 100, End::Running)),
        ("interrupted", Spec::new(70, 100, End::Interrupted)),
        ("bad-config", Spec::new(5, 100, End::Interrupted)),
        ("no-metrics", Spec::new(5, 100, End::Interrupted)),
    ];
    for (name, spec) in runs {
        write_run(&parent.join(name), &spec);
    }
    fs::write(parent.join("bad-config/config.toml"), "[train\nsteps = ").unwrap();
    fs::remove_file(parent.join("no-metrics/metrics.csv")).unwrap();
    fs::create_dir_all(parent.join("empty")).unwrap();
    fs::write(parent.join("notes.txt"), "not a run").unwrap();
}

/// Writes a run of `steps` rows quickly (a million rows take about a second in release),
/// finished, evaluated every 1000 steps; the rows are the trainer's format.
pub fn write_long_run(dir: &Path, steps: u64) {
    let spec = Spec {
        eval_every: 1000,
        ..Spec::new(steps, steps, End::Finished)
    };
    write_run(dir, &spec);
}

/// The layer statistics the fixtures write for `step`: update ratios falling towards 1e-3
/// (the output layer's frozen at 0), a hidden layer whose dead ReLUs grow, weights that
/// spread slowly.
pub fn layer_stats_at(step: u64) -> digitdash::run::layers::LayerStats {
    use digitdash::run::layers::{Histogram, LayerSample, LayerStats, TensorSample, LAYER_NAMES};
    let t = step as f32 / (step as f32 + 100.0);
    let layers = LAYER_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let scale = 0.1 / (i + 1) as f32;
            let values: Vec<f32> = (0..64)
                .map(|k| scale * (1.0 + t) * (k as f32 - 31.5) / 32.0)
                .collect();
            let frozen = *name == "output";
            let tensor = |histogram: bool| TensorSample {
                rms: scale * (1.0 + t),
                grad_rms: 1e-3 * scale * (2.0 - t),
                update_ratio: if frozen {
                    0.0
                } else {
                    1e-3 * (1.0 + 4.0 * (1.0 - t))
                },
                histogram: histogram.then(|| Histogram::of(&values)),
            };
            LayerSample {
                name: (*name).into(),
                dead_relu: (!frozen).then_some(if *name == "hidden" { 0.3 * t } else { 0.0 }),
                weight: tensor(true),
                bias: tensor(false),
            }
        })
        .collect();
    LayerStats { step, layers }
}

/// Appends the fixtures' layer statistics of every `every`-th step up to `steps` to the
/// `layers.jsonl` of the run in `dir`, as the trainer writes them.
pub fn write_layers(dir: &Path, steps: u64, every: u64) {
    use std::io::Write;
    let path = RunDir::new(dir).layers_file();
    let mut file = File::options()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open layers.jsonl");
    for step in (every..=steps).step_by(every as usize) {
        let line = Record::Layers(layer_stats_at(step)).to_json_line();
        writeln!(file, "{line}").expect("write layers.jsonl");
    }
}
