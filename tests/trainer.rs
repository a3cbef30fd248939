//! What the trainer does, checked by its effect on the network and the data order rather than
//! by the numbers it reports about itself: the size of Adam's next update after a live
//! learning-rate change and under the one-cycle schedule, the dropout a training pass applies,
//! the batch a live batch size trains on, when evaluations run, what a rollback without a
//! checkpoint leaves, the guard against a non-finite loss, the data order after a resume, a
//! checkpoint's round trip, which checkpoints are kept, and the augmented images the network
//! is trained on.
//!
//! On Adam's first step after it is built (at the start and after every restore), the moments
//! are `(1 - b1) g` and `(1 - b2) g^2`, so after bias correction every weight moves by
//! `lr * g / (|g| + eps)`: by the learning rate itself wherever the gradient is not tiny. The
//! largest change of any weight over that step is the rate the optimizer used.

mod common;

use std::path::Path;
use std::time::Instant;

use common::tensors::{
    assert_training_pass_matches_evaluation, bits, max_change, parameters, values,
};
use common::trainer::{config, next_weights, recv_until};
use common::Workspace;
use dfdx::prelude::*;
use digitdash::augment::{AugmentConfig, Augmenter};
use digitdash::config::{Config, Schedule};
use digitdash::data::{self, EpochOrder, Mnist};
use digitdash::model::{Init, Layers, Network, CLASSES, IMAGE_PIXELS};
use digitdash::run::checkpoint::{self, CheckpointMeta, FORMAT_VERSION, MODEL_NAME};
use digitdash::run::record::EvalSplit;
use digitdash::run::{CheckpointKind, RunDir};
use digitdash::train::checkpointer::Checkpointer;
use digitdash::train::state::TrainingState;
use digitdash::train::step::{new_optimizer, train_step, StepError};
use digitdash::train::{self, Command, Event, RunSetup, RunStart, SettingValue, TrainerHandle};

/// Starts the trainer on `config` and pauses it before its first step; returns it with the
/// weights it started from.
fn paused_trainer(config: Config, start: RunStart) -> (TrainerHandle, std::sync::Arc<Network>) {
    let setup = RunSetup {
        start,
        pause_on_divergence: false,
    };
    let handle = train::spawn(config, setup).expect("the trainer thread");
    // Queued before the loop's first look at its commands: no step is taken.
    handle.send(Command::Pause);
    let seen = recv_until(&handle.events, |e| {
        matches!(e, Event::Paused { paused: true, .. })
    });
    let start = seen
        .iter()
        .find_map(|e| match e {
            Event::Weights(w) => Some(w.model.clone()),
            _ => None,
        })
        .expect("the weights are shared when training starts");
    (handle, start)
}

/// One step of a paused trainer; returns the weights after it.
fn step_once(handle: &TrainerHandle) -> std::sync::Arc<Network> {
    handle.send(Command::StepOnce);
    recv_until(&handle.events, |e| matches!(e, Event::Step(_)));
    // Asked only now: a command waiting with the step would be answered before it.
    handle.send(Command::ShareWeights);
    next_weights(&handle.events).model
}

/// Stops the trainer and waits for its end; returns the events up to it.
fn finish(handle: TrainerHandle) -> Vec<Event> {
    handle.send(Command::Stop);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::Finished(_)));
    handle.join();
    seen
}

/// Whether `change`, the largest weight change over Adam's first step, is the rate `lr`.
fn assert_rate(change: f64, lr: f64, what: &str) {
    assert!(
        (change - lr).abs() <= 1e-2 * lr,
        "{what}: the largest weight change was {change:e}, the step's rate should be {lr:e}"
    );
}

/// The workspace's settings for a short constant-rate run without dropout.
fn plain_config(ws: &Workspace) -> Config {
    let mut config = config(ws, 1000);
    config.train.dropout = 0.0;
    config.train.learning_rate = 1e-4;
    config.train.schedule = Schedule::Constant;
    config.train.batch_size = 10;
    config
}

#[test]
fn a_live_learning_rate_change_sets_the_size_of_the_next_update() {
    let ws = Workspace::new();
    let (handle, start) = paused_trainer(plain_config(&ws), RunStart::NoRecords);
    handle.send(Command::Set(SettingValue::LearningRate(3e-3)));
    let after_first = step_once(&handle);
    assert_rate(
        max_change(&start, &after_first),
        3e-3,
        "first step after 1e-4 -> 3e-3",
    );

    // Later steps keep Adam's moments, so a weight moves by about the rate, not exactly: a
    // rate a thousand times smaller moves the weights a thousand times less.
    let at_full_rate = step_once(&handle);
    let full = max_change(&after_first, &at_full_rate);
    handle.send(Command::Set(SettingValue::LearningRate(3e-6)));
    let at_low_rate = step_once(&handle);
    let low = max_change(&at_full_rate, &at_low_rate);
    assert!(
        full > 1e-3,
        "a step at 3e-3 moved the weights by at most {full:e}"
    );
    assert!(
        low > 0.0 && low < 1e-5,
        "a step at 3e-6 moved the weights by up to {low:e}"
    );
    finish(handle);
}

/// The linear warm-up from `peak / 25`, then the cosine decay to zero, written out.
fn one_cycle(peak: f64, warmup_fraction: f64, step: u64, total: u64) -> f64 {
    let warmup = (warmup_fraction * total as f64).floor();
    let t = step as f64;
    if t < warmup {
        peak / 25.0 + (peak - peak / 25.0) * t / warmup
    } else {
        peak * 0.5 * (1.0 + (std::f64::consts::PI * (t - warmup) / (total as f64 - warmup)).cos())
    }
}

#[test]
fn the_one_cycle_schedule_sets_the_rate_of_each_step() {
    // A step's rate shows as the size of Adam's first update, so the run measures it at the
    // start and, for later steps, right after rolling back to a checkpoint of the step before
    // (a restore starts Adam afresh).
    let ws = Workspace::new();
    let dir = tempfile::tempdir().unwrap();
    let mut config = plain_config(&ws);
    let (peak, warmup, total) = (1e-2, 0.5, 10);
    config.train.schedule = Schedule::OneCycle;
    config.train.learning_rate = peak;
    config.train.warmup_fraction = warmup;
    config.train.steps = total;
    config.run.checkpoint_every = 0;
    let run = RunDir::new(dir.path().join("run"));
    let (handle, start) = paused_trainer(config, RunStart::Fresh(run));

    let first = step_once(&handle);
    assert_rate(
        max_change(&start, &first),
        one_cycle(peak, warmup, 0, total),
        "step 1 (warm-up starts at peak / 25)",
    );
    let mut done = 1;
    for measured in [4, 7] {
        while done < measured {
            step_once(&handle);
            done += 1;
        }
        handle.send(Command::SaveCheckpoint);
        recv_until(&handle.events, |e| matches!(e, Event::Checkpoint(_)));
        handle.send(Command::Rollback);
        let seen = recv_until(&handle.events, |e| matches!(e, Event::Weights(_)));
        assert!(
            seen.iter()
                .any(|e| matches!(e, Event::RolledBack(s) if *s == measured)),
            "{seen:?}"
        );
        let Some(Event::Weights(restored)) = seen.last() else {
            unreachable!()
        };
        let after = step_once(&handle);
        done += 1;
        assert_rate(
            max_change(&restored.model, &after),
            one_cycle(peak, warmup, measured, total),
            &format!("step {}", measured + 1),
        );
    }
    finish(handle);
}

/// A batch of the workspace's test images.
fn some_images(
    device: &Cpu,
    data: &Mnist,
    n: usize,
) -> Tensor<(usize, Const<1>, Const<28>, Const<28>), f32, Cpu> {
    let indices: Vec<usize> = (0..n).collect();
    let mut pixels = vec![0.0; n * IMAGE_PIXELS];
    data.test.fill_images(&indices, &mut pixels);
    digitdash::model::image_batch(device, pixels)
}

#[test]
fn a_live_dropout_change_acts_in_the_networks_training_pass() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let mut config = plain_config(&ws);
    config.train.dropout = 0.5;
    let (handle, _) = paused_trainer(config, RunStart::NoRecords);
    let device = Cpu::seed_from_u64(5);
    let x = some_images(&device, &data, 8);

    // Without dropout, a training pass of the trainer's network gives the evaluation's logits.
    handle.send(Command::Set(SettingValue::Dropout(0.0)));
    let mut net = (*step_once(&handle)).clone();
    let evaluated = values(&net.forward(x.clone()));
    let trained = values(&net.forward_mut(x.clone().traced(net.alloc_grads())));
    assert_training_pass_matches_evaluation(&trained, &evaluated, "dropout 0 drops nothing");

    // At 0.75 the network's dropout zeroes about three units in four and scales the rest.
    handle.send(Command::Set(SettingValue::Dropout(0.75)));
    let mut net = (*step_once(&handle)).clone();
    let trained = values(&net.forward_mut(x.clone().traced(net.alloc_grads())));
    assert_ne!(
        bits(&trained),
        bits(&evaluated),
        "a pass with dropout differs"
    );
    let ones: Tensor<Rank2<100, 1024>, f32, Cpu> = device.ones();
    let dropped = values(&net.dropout_mut().forward_mut(ones.leaky_traced()));
    let zeros = dropped.iter().filter(|&&v| v == 0.0).count() as f64 / dropped.len() as f64;
    assert!((zeros - 0.75).abs() < 0.02, "dropped {zeros} of the units");
    assert!(dropped.iter().all(|&v| v == 0.0 || (v - 4.0).abs() < 1e-5));
    finish(handle);
}

/// A fresh training state for `train`, as the trainer builds one.
fn fresh_state(config: &Config, data: &Mnist) -> TrainingState {
    TrainingState::new(&config.train, data.train.len(), Instant::now())
}

#[test]
fn a_live_batch_size_is_the_size_of_the_next_batch_trained_on() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let config = plain_config(&ws);
    let (handle, _) = paused_trainer(config.clone(), RunStart::NoRecords);
    step_once(&handle);
    step_once(&handle);
    handle.send(Command::Set(SettingValue::BatchSize(25)));
    let live = step_once(&handle);
    finish(handle);

    // The same steps taken here: two of 10 images, then one of 25.
    let mut train = config.train.clone();
    let mut reference = fresh_state(&config, &data);
    reference.train_step(&train, &data).unwrap();
    reference.train_step(&train, &data).unwrap();
    train.batch_size = 25;
    reference.train_step(&train, &data).unwrap();
    let want = reference.weights().model;
    for ((name, got), (_, want)) in parameters(&live).iter().zip(parameters(&want)) {
        assert_eq!(bits(got), bits(&want), "{name} after a step of 25 images");
    }
    // A step of 10 images from the same place gives other weights (the check can fail).
    train.batch_size = 10;
    let mut other = fresh_state(&config, &data);
    for _ in 0..3 {
        other.train_step(&train, &data).unwrap();
    }
    assert!(max_change(&other.weights().model, &live) > 0.0);
}

#[test]
fn a_live_evaluation_interval_sets_when_the_trainer_evaluates() {
    let ws = Workspace::new();
    let (handle, _) = paused_trainer(plain_config(&ws), RunStart::NoRecords);
    let mut seen = Vec::new();
    let mut steps = |handle: &TrainerHandle, n: usize| {
        for _ in 0..n {
            handle.send(Command::StepOnce);
            seen.extend(recv_until(&handle.events, |e| matches!(e, Event::Step(_))));
        }
    };
    handle.send(Command::Set(SettingValue::EvalEvery(2)));
    steps(&handle, 5);
    handle.send(Command::Set(SettingValue::EvalEvery(3)));
    steps(&handle, 3);
    seen.extend(finish(handle));
    let evaluated: Vec<u64> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Evaluation(e) => Some(e.step),
            _ => None,
        })
        .collect();
    // Every 2 steps up to step 5, then every 3, then the final evaluation at the stop.
    assert_eq!(evaluated, [2, 4, 6, 8]);
}

#[test]
fn a_rollback_without_a_checkpoint_changes_nothing_and_says_why() {
    let ws = Workspace::new();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    for (start, why) in [
        (RunStart::NoRecords, "no run folder"),
        (
            RunStart::Fresh(RunDir::new(&run)),
            "no checkpoint written yet",
        ),
    ] {
        let mut config = plain_config(&ws);
        config.run.checkpoint_every = 0;
        let (handle, _) = paused_trainer(config, start);
        step_once(&handle);
        let before = step_once(&handle);
        handle.send(Command::Rollback);
        let seen = recv_until(&handle.events, |e| matches!(e, Event::RecordError(_)));
        assert!(
            matches!(seen.last(), Some(Event::RecordError(m)) if m.contains(why)),
            "{seen:?}"
        );
        handle.send(Command::ShareWeights);
        let now = next_weights(&handle.events);
        assert!(!seen.iter().any(|e| matches!(e, Event::RolledBack(_))));
        assert_eq!(now.step, 2);
        for ((name, a), (_, b)) in parameters(&before).iter().zip(parameters(&now.model)) {
            assert_eq!(bits(a), bits(&b), "{name}");
        }
        // Training goes on from where it was.
        handle.send(Command::StepOnce);
        let seen = recv_until(&handle.events, |e| matches!(e, Event::Step(_)));
        assert!(matches!(seen.last(), Some(Event::Step(s)) if s.step == 3));
        finish(handle);
    }
    assert_eq!(common::metrics::steps(&run), [1, 2, 3]);
}

#[test]
fn a_step_with_a_non_finite_loss_leaves_the_weights_and_the_batch_alone() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let mut config = plain_config(&ws);
    // One step at this rate moves every weight by about 1e9: the next loss overflows.
    config.train.learning_rate = 1e9;
    let mut state = fresh_state(&config, &data);
    state.train_step(&config.train, &data).unwrap();
    let weights = state.weights().model;
    let order = state.order().clone();
    let error = state.train_step(&config.train, &data).unwrap_err();
    assert!(matches!(error, StepError::NonFiniteLoss { .. }), "{error}");
    assert_eq!(state.step(), 1);
    assert_eq!(state.order(), &order, "the batch was not consumed");
    for ((name, a), (_, b)) in parameters(&weights)
        .iter()
        .zip(parameters(&state.weights().model))
    {
        assert_eq!(bits(a), bits(&b), "{name} after the failed step");
    }
    // The weights did move on the first step: the check above can fail.
    assert!(max_change(&fresh_state(&config, &data).weights().model, &weights) > 1e8);
}

/// Takes `n` steps.
fn steps(state: &mut TrainingState, config: &Config, data: &Mnist, n: usize) {
    for _ in 0..n {
        state.train_step(&config.train, data).unwrap();
    }
}

#[test]
fn a_resumed_run_trains_on_the_next_batch_of_the_unbroken_run() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let mut config = plain_config(&ws);
    // 200 images in batches of 30: six batches an epoch, so step 8 ends mid-epoch 1.
    config.train.batch_size = 30;
    config.train.learning_rate = 1e-3;
    let dir = tempfile::tempdir().unwrap();
    let mut unbroken = fresh_state(&config, &data);
    steps(&mut unbroken, &config, &data, 8);
    assert_eq!(
        (unbroken.order().epoch(), unbroken.order().position()),
        (1, 60)
    );
    let folder = unbroken.save(dir.path(), "step-8", &config).unwrap();
    let next_batch = unbroken.order().clone().next_batch(30).1;
    let next = unbroken.train_step(&config.train, &data).unwrap();

    // A new process: another seed on the command line changes nothing already under way.
    let mut other = config.clone();
    other.train.seed = config.train.seed + 1;
    let mut resumed = fresh_state(&other, &data);
    resumed.restore(&folder, 0.0).unwrap();
    assert_eq!(resumed.step(), 8);
    assert_eq!(resumed.order().clone().next_batch(30).1, next_batch);
    // The same weights on the same batch: the same loss, to the bit.
    let after_resume = resumed.train_step(&config.train, &data).unwrap();
    assert_eq!(after_resume.loss.to_bits(), next.loss.to_bits());
    assert_eq!(after_resume.accuracy, next.accuracy);
}

/// Reads a safetensors file as named little-endian values: F32 tensors and F64 scalars.
fn file_tensors(path: &Path) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let parsed = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<_> = parsed
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec(), view.data().to_vec()))
        .collect();
    tensors.sort();
    tensors
}

/// A network trained by hand, with an optimizer that writes every update into it at once.
struct EagerTraining {
    model: Network,
    adam: train::adam::Adam,
    grads: Gradients<f32, Cpu>,
    device: Cpu,
}

impl EagerTraining {
    /// From `model`, as a training state on `config` starts.
    fn new(model: Network, config: &Config) -> Self {
        Self {
            adam: new_optimizer(&model, config.train.learning_rate),
            grads: model.alloc_grads(),
            device: Cpu::seed_from_u64(config.train.seed),
            model,
        }
    }

    /// Trains on the next `n` batches `state` would take.
    fn steps(&mut self, state: &TrainingState, config: &Config, data: &Mnist, n: usize) {
        let mut order = state.order().clone();
        let batch = config.train.batch_size;
        for _ in 0..n {
            let (_, indices) = order.next_batch(batch);
            let mut pixels = vec![0.0f32; batch * IMAGE_PIXELS];
            let mut one_hot = vec![0.0f32; batch * CLASSES];
            data.train.fill_images(&indices, &mut pixels);
            data.train.fill_one_hot(&indices, &mut one_hot);
            let m = &mut self.model;
            train_step(
                m,
                &mut self.adam,
                &mut self.grads,
                &self.device,
                pixels,
                &one_hot,
            )
            .unwrap();
        }
    }
}

#[test]
fn every_read_of_the_weights_in_training_sees_the_latest_update() {
    // The training state's optimizer writes its updates back only when the weights are read:
    // shared, evaluated, probed or saved, each must see the weights of the last step.
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let config = plain_config(&ws);
    let mut state = fresh_state(&config, &data);
    let mut eager = EagerTraining::new((*state.weights().model).clone(), &config);
    eager.steps(&state, &config, &data, 3);
    steps(&mut state, &config, &data, 3);
    let model = &eager.model;

    let device = Cpu::seed_from_u64(0);
    let want = digitdash::model::score::evaluate(model, &device, &data.test, 50);
    let (evaluation, _) = state.evaluate(&data.test, EvalSplit::Test, true, 50);
    assert_eq!(evaluation.loss.to_bits(), want.loss.to_bits(), "evaluated");
    let dir = tempfile::tempdir().unwrap();
    let folder = state.save(dir.path(), "step-00000003", &config).unwrap();
    let (saved, _) = checkpoint::load(&folder, &device).unwrap();
    let shared = state.weights().model;
    for ((name, want), ((_, got), (_, saved))) in parameters(model)
        .iter()
        .zip(parameters(&shared).into_iter().zip(parameters(&saved)))
    {
        assert_eq!(bits(want), bits(&got), "{name} shared");
        assert_eq!(bits(want), bits(&saved), "{name} saved");
    }
    // Two more steps, each optimizer keeping its moments.
    eager.steps(&state, &config, &data, 2);
    steps(&mut state, &config, &data, 2);
    let folder = state.save(dir.path(), "step-00000005", &config).unwrap();
    let (saved, _) = checkpoint::load(&folder, &device).unwrap();
    for ((name, want), (_, saved)) in parameters(&eager.model).iter().zip(parameters(&saved)) {
        assert_eq!(bits(want), bits(&saved), "{name} saved after more steps");
    }
}

#[test]
fn a_checkpoint_round_trip_is_bit_exact_with_all_its_metadata() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let mut config = plain_config(&ws);
    config.train.learning_rate = 1e-3;
    config.train.init = Init::FanIn;
    config.train.seed = 77;
    config.train.dropout = 0.3;
    let mut state = fresh_state(&config, &data);
    steps(&mut state, &config, &data, 3);
    let (first, _) = state.evaluate(&data.test, EvalSplit::Test, true, 50);
    steps(&mut state, &config, &data, 2);
    let (second, _) = state.evaluate(&data.test, EvalSplit::Test, true, 50);
    let dir = tempfile::tempdir().unwrap();
    let folder = state.save(dir.path(), "step-00000005", &config).unwrap();

    let device = Cpu::seed_from_u64(0);
    let (model, meta) = checkpoint::load(&folder, &device).unwrap();
    let meta = meta.expect("the metadata file");
    let saved = state.weights().model;
    for ((name, a), (_, b)) in parameters(&saved).iter().zip(parameters(&model)) {
        assert_eq!(bits(a), bits(&b), "{name}");
    }
    assert_eq!(model.dropout().p.to_bits(), 0.3f32.to_bits());
    let expected = CheckpointMeta {
        format: FORMAT_VERSION,
        model: MODEL_NAME.into(),
        step: 5,
        epoch: 0,
        position: 50,
        samples: 50,
        train_seconds: state.train_seconds(),
        wall_seconds: meta.wall_seconds,
        accuracy: Some(second.accuracy),
        best_accuracy: Some(first.accuracy.max(second.accuracy)),
        test_looks: 2,
        config: config.clone(),
        weights_sha256: Some(sha256_of(&folder.join(checkpoint::WEIGHTS_FILE))),
    };
    assert_eq!(meta, expected);
    assert!(meta.wall_seconds >= meta.train_seconds && meta.train_seconds > 0.0);

    // The file itself: each tensor under its name, in row-major order, as little-endian
    // F32, and the dropout as one F64.
    let mut want: Vec<(String, Vec<usize>, Vec<u8>)> = parameters(&saved)
        .into_iter()
        .zip(checkpoint::TENSORS)
        .map(|((name, v), (listed, shape))| {
            assert_eq!(name, listed);
            let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            (name.to_string(), shape.to_vec(), bytes)
        })
        .collect();
    want.push((
        "4.p".into(),
        Vec::new(),
        f64::from(0.3f32).to_le_bytes().to_vec(),
    ));
    want.sort();
    let got = file_tensors(&folder.join(checkpoint::WEIGHTS_FILE));
    assert_eq!(got.len(), want.len());
    for (got, want) in got.iter().zip(&want) {
        assert_eq!((&got.0, &got.1), (&want.0, &want.1));
        assert!(got.2 == want.2, "tensor {} differs in the file", got.0);
    }
}

/// The checkpoint folders of `run`, by name.
fn checkpoint_names(run: &RunDir) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(run.checkpoints_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn the_newest_periodic_checkpoints_and_the_best_one_are_kept() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let mut config = plain_config(&ws);
    config.run.keep_checkpoints = 2;
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("run"));
    let mut checkpointer = Checkpointer::create(&run, &config).unwrap();
    let mut state = fresh_state(&config, &data);
    for step in 1..=5u64 {
        steps(&mut state, &config, &data, 1);
        checkpointer.save_periodic(&mut state, &config).unwrap();
        if step == 2 || step == 4 {
            checkpointer.save_best(&mut state, &config).unwrap();
        }
    }
    assert_eq!(
        checkpoint_names(&run),
        ["best-step-00000004", "step-00000004", "step-00000005"]
    );
    for folder in run
        .checkpoints(CheckpointKind::Periodic)
        .iter()
        .chain(&run.checkpoints(CheckpointKind::Best))
    {
        let meta = checkpoint::read_meta(&folder.join(checkpoint::META_FILE)).unwrap();
        let name = folder.file_name().unwrap().to_str().unwrap();
        assert!(
            name.ends_with(&format!("{:08}", meta.step)),
            "{name}: {meta:?}"
        );
    }
}

#[test]
fn a_run_keeps_its_newest_checkpoints_and_its_best_evaluation() {
    let ws = Workspace::new();
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("run"));
    let mut config = plain_config(&ws);
    config.train.steps = 12;
    config.train.eval_every = 2;
    config.train.learning_rate = 1e-3;
    config.run.checkpoint_every = 3;
    config.run.keep_checkpoints = 2;
    let handle = train::spawn(
        config,
        RunSetup {
            start: RunStart::Fresh(run.clone()),
            pause_on_divergence: false,
        },
    )
    .unwrap();
    let seen = recv_until(&handle.events, |e| matches!(e, Event::Finished(_)));
    handle.join();
    // The best is the first evaluation with the highest accuracy.
    let mut best: Option<(u64, f64)> = None;
    for event in &seen {
        if let Event::Evaluation(e) = event {
            if best.is_none_or(|(_, a)| e.accuracy > a) {
                best = Some((e.step, e.accuracy));
            }
        }
    }
    let (best_step, _) = best.expect("evaluations ran");
    assert_eq!(
        checkpoint_names(&run),
        [
            format!("best-step-{best_step:08}"),
            "step-00000009".into(),
            "step-00000012".into()
        ]
    );
}

/// The SHA-256 of a file, as lowercase hex.
fn sha256_of(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

/// Every augmentation on, at the `best` preset's strength.
fn augmented_config(ws: &Workspace, seed: u64) -> Config {
    let mut config = plain_config(ws);
    config.train.seed = seed;
    config.train.augment = AugmentConfig {
        shift: 2.0,
        rotate: 10.0,
        scale: 0.1,
        elastic_alpha: 34.0,
        elastic_sigma: 4.0,
    };
    config
}

/// The `step`th batch (from 1) of a run seeded with `seed`: its indices and raw pixels.
fn raw_batch(data: &Mnist, seed: u64, batch: usize, step: u64) -> (Vec<usize>, Vec<f32>) {
    let mut order = EpochOrder::new(data.train.len(), seed);
    let mut indices = Vec::new();
    for _ in 0..step {
        indices = order.next_batch(batch).1;
    }
    let mut pixels = vec![0.0; batch * IMAGE_PIXELS];
    data.train.fill_images(&indices, &mut pixels);
    (indices, pixels)
}

#[test]
fn the_trainer_shares_the_images_it_fed_augmented_by_its_seed_and_step() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let config = augmented_config(&ws, 3);
    let (handle, _) = paused_trainer(config.clone(), RunStart::NoRecords);
    // The first request has nothing to answer with: no step has kept its batch yet. It
    // tells the trainer to keep them from now on.
    handle.send(Command::ShareBatch);
    step_once(&handle);
    step_once(&handle);
    handle.send(Command::ShareBatch);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::Batch(_)));
    let Some(Event::Batch(batch)) = seen.last() else {
        unreachable!()
    };
    let batch = batch.clone();
    finish(handle);

    assert_eq!(batch.step, 2);
    let (indices, raw) = raw_batch(&data, 3, 10, 2);
    let mut augmented = raw.clone();
    Augmenter::new(config.train.augment).augment_batch(&mut augmented, 3, 2);
    let bytes =
        |pixels: &[f32]| -> Vec<u8> { pixels.iter().map(|p| (p * 255.0).round() as u8).collect() };
    let (want, unchanged) = (bytes(&augmented), bytes(&raw));
    for (i, &index) in indices.iter().enumerate() {
        let image = &want[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS];
        assert_eq!(batch.images.image(i), image, "image {i} of step 2");
        assert_eq!(batch.images.label(i), data.train.label(index));
    }
    assert_ne!(want, unchanged, "the images were transformed");
}

#[test]
fn a_step_keeps_its_images_only_once_asked_to() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let config = augmented_config(&ws, 5);
    let mut state = fresh_state(&config, &data);
    state.train_step(&config.train, &data).unwrap();
    assert!(state.last_batch().is_none(), "nobody asked yet");
    state.keep_batches();
    state.train_step(&config.train, &data).unwrap();
    assert_eq!(state.last_batch().map(|b| b.step), Some(2));
}

#[test]
fn the_network_trains_on_the_augmented_images() {
    let ws = Workspace::new();
    let data = data::load(&ws.data_dir()).unwrap();
    let config = augmented_config(&ws, 4);
    let mut state = fresh_state(&config, &data);
    state.train_step(&config.train, &data).unwrap();

    // The same step by hand: the model as the state builds it, one Adam step on the
    // augmented batch.
    let device = Cpu::seed_from_u64(4);
    let mut model = digitdash::model::build(&device, config.train.init);
    digitdash::model::set_dropout(&mut model, 0.0);
    let mut optimizer = new_optimizer(&model, config.train.learning_rate);
    let mut grads = model.alloc_grads();
    let (indices, mut pixels) = raw_batch(&data, 4, 10, 1);
    Augmenter::new(config.train.augment).augment_batch(&mut pixels, 4, 1);
    let mut one_hot = vec![0.0; 10 * CLASSES];
    data.train.fill_one_hot(&indices, &mut one_hot);
    train_step(
        &mut model,
        &mut optimizer,
        &mut grads,
        &device,
        pixels,
        &one_hot,
    )
    .unwrap();
    let trained = state.weights().model;
    for ((name, got), (_, want)) in parameters(&trained).iter().zip(parameters(&model)) {
        assert_eq!(bits(got), bits(&want), "{name} after an augmented step");
    }
    // Without augmentation the same step gives other weights (the check can fail).
    let mut plain = plain_config(&ws);
    plain.train.seed = 4;
    let mut unaugmented = fresh_state(&plain, &data);
    unaugmented.train_step(&plain.train, &data).unwrap();
    assert!(max_change(&unaugmented.weights().model, &trained) > 0.0);
}

#[test]
fn a_rollback_passes_over_a_damaged_checkpoint_to_the_newest_good_one() {
    let ws = Workspace::new();
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("run"));
    let mut config = plain_config(&ws);
    config.run.checkpoint_every = 2;
    let (handle, _) = paused_trainer(config, RunStart::Fresh(run.clone()));
    step_once(&handle);
    let at_two = step_once(&handle);
    step_once(&handle);
    step_once(&handle);
    let newest = run.latest_checkpoint().expect("a checkpoint of step 4");
    assert!(newest.ends_with("step-00000004"), "{}", newest.display());
    let weights = newest.join(digitdash::run::dir::WEIGHTS_FILE);
    let mut bytes = std::fs::read(&weights).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&weights, bytes).unwrap();

    handle.send(Command::Rollback);
    let seen = recv_until(&handle.events, |e| matches!(e, Event::RolledBack(_)));
    assert!(
        seen.iter().any(|e| matches!(e, Event::RecordError(m)
            if m.contains("passed over") && m.contains("step-00000004"))),
        "{seen:?}"
    );
    assert!(
        matches!(seen.last(), Some(Event::RolledBack(2))),
        "{seen:?}"
    );
    let now = next_weights(&handle.events);
    assert_eq!(now.step, 2);
    for ((name, a), (_, b)) in parameters(&at_two).iter().zip(parameters(&now.model)) {
        assert_eq!(bits(a), bits(&b), "{name} is the checkpoint of step 2");
    }
    finish(handle);
}
