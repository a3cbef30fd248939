//! Layer statistics checked against the weights themselves: the update ratio a step records is
//! `|w_after - w_before| / |w_before|` computed here from the weights before and after it, in
//! the trainer's state and in a run's `layers.jsonl` against its checkpoints; with a learning
//! rate of zero every ratio is zero; the RMS and histograms describe the weights after the
//! step; the records come every `log.layer_stats_every` steps.

mod common;

use std::path::Path;
use std::time::Instant;

use common::tensors::parameters;
use common::trainer::config;
use common::Workspace;
use digitdash::config::{Config, Schedule};
use digitdash::data::{self, Mnist};
use digitdash::model::Network;
use digitdash::run::layers::{LayerStats, TensorSample, LAYER_NAMES};
use digitdash::run::record::Record;
use digitdash::train::state::TrainingState;

/// `|after - before| / |before|` in f64.
fn ratio(before: &[f32], after: &[f32]) -> f64 {
    let moved: f64 = before
        .iter()
        .zip(after)
        .map(|(&b, &a)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let size: f64 = before.iter().map(|&b| f64::from(b).powi(2)).sum();
    moved.sqrt() / size.sqrt()
}

/// The root mean square in f64.
fn rms(values: &[f32]) -> f64 {
    let sum: f64 = values.iter().map(|&v| f64::from(v).powi(2)).sum();
    (sum / values.len() as f64).sqrt()
}

/// Each parameter tensor's recorded numbers, in the order of [`parameters`].
fn tensors(stats: &LayerStats) -> Vec<&TensorSample> {
    LAYER_NAMES
        .iter()
        .flat_map(|name| {
            let layer = stats.layer(name).expect("every layer is recorded");
            [&layer.weight, &layer.bias]
        })
        .collect()
}

/// Checks the recorded ratio and RMS of every tensor against the weights.
fn assert_matches_weights(stats: &LayerStats, before: &Network, after: &Network) {
    for (((name, b), (_, a)), recorded) in parameters(before)
        .into_iter()
        .zip(parameters(after))
        .zip(tensors(stats))
    {
        let want = ratio(&b, &a);
        let got = f64::from(recorded.update_ratio);
        assert!(
            (got - want).abs() <= 1e-4 * want + 1e-9,
            "{name}: recorded update ratio {got}, from the weights {want}"
        );
        assert!(want > 1e-7, "{name} moved: the check above can fail");
        let want_rms = rms(&a);
        let got_rms = f64::from(recorded.rms);
        assert!((got_rms - want_rms).abs() <= 1e-5 * want_rms, "{name} rms");
        if let Some(histogram) = &recorded.histogram {
            assert_eq!(
                histogram.total(),
                a.len() as u64,
                "{name}: every weight binned"
            );
            let lowest = a.iter().copied().fold(f32::INFINITY, f32::min);
            assert_eq!(histogram.lo, lowest, "{name}");
        }
    }
}

/// The workspace's settings for short constant-rate steps of 10 images.
fn plain_config(ws: &Workspace, learning_rate: f64) -> Config {
    let mut config = config(ws, 1000);
    config.train.learning_rate = learning_rate;
    config.train.schedule = Schedule::Constant;
    config.train.batch_size = 10;
    config
}

fn fresh_state(config: &Config, data: &Mnist, every: u64) -> TrainingState {
    let mut state = TrainingState::new(&config.train, data.train.len(), Instant::now());
    state.set_layer_stats_every(every);
    state
}

#[test]
fn the_recorded_update_ratio_is_the_change_of_the_weights_over_their_size() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let config = plain_config(&ws, 1e-3);
    let mut state = fresh_state(&config, &data, 3);
    for step in 1..=6u64 {
        let before = state.weights().model;
        state.train_step(&config.train, &data).unwrap();
        let after = state.weights().model;
        match state.take_layer_stats() {
            Some(stats) => {
                assert_eq!(step % 3, 0, "statistics of step {step}");
                assert_eq!(stats.step, step);
                assert_matches_weights(&stats, &before, &after);
                let dead = stats.layer("hidden").and_then(|l| l.dead_relu);
                assert!(dead.is_some_and(|d| (0.0..=1.0).contains(&d)), "{dead:?}");
                assert_eq!(stats.layer("output").unwrap().dead_relu, None);
            }
            None => assert_ne!(step % 3, 0, "step {step} has statistics"),
        }
    }
}

#[test]
fn with_a_learning_rate_of_zero_every_ratio_is_zero() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let config = plain_config(&ws, 0.0);
    let mut state = fresh_state(&config, &data, 1);
    let before = parameters(&state.weights().model);
    state.train_step(&config.train, &data).unwrap();
    let stats = state.take_layer_stats().expect("statistics every step");
    assert_eq!(parameters(&state.weights().model), before, "nothing moved");
    for (tensor, (name, _)) in tensors(&stats).into_iter().zip(&before) {
        assert_eq!(tensor.update_ratio, 0.0, "{name}");
        assert!(
            tensor.grad_rms > 0.0,
            "{name} had a gradient: {}",
            tensor.grad_rms
        );
    }
}

/// The layer statistics a run folder holds, a line each.
fn recorded(run: &Path) -> Vec<LayerStats> {
    std::fs::read_to_string(run.join("layers.jsonl"))
        .unwrap()
        .lines()
        .map(|line| match Record::from_json_line(line.as_bytes()) {
            Some(Record::Layers(stats)) => stats,
            other => panic!("not layer statistics: {other:?} from {line}"),
        })
        .collect()
}

#[test]
fn a_runs_layers_file_matches_the_weights_of_its_checkpoints() {
    let ws = Workspace::new();
    ws.write_config(
        "[data]\ndownload = false\n[train]\neval_every = 0\nbatch_size = 10\nlearning_rate = \
         0.001\n[log]\nlayer_stats_every = 2\n[run]\ncheckpoint_every = 1\nkeep_checkpoints = \
         10\n",
    );
    let run = ws.dir.path().join("run");
    let output = ws.run(&["--steps", "4", "--run-dir", run.to_str().unwrap()]);
    assert!(output.status.success(), "{output:?}");
    let stats = recorded(&run);
    assert_eq!(stats.iter().map(|s| s.step).collect::<Vec<_>>(), [2, 4]);
    let load = |step: u64| {
        let folder = run.join(format!("checkpoints/step-{step:08}"));
        digitdash::run::checkpoint::load_on_cpu(&folder).unwrap().1
    };
    assert_matches_weights(&stats[0], &load(1), &load(2));
    assert_matches_weights(&stats[1], &load(3), &load(4));
}
