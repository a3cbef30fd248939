//! A scripted run for screen tests: synthetic seven-segment digits as the test set, and the
//! events a short training run would send, with no training at all.

use std::sync::Arc;

use digitdash::config::Config;
use digitdash::data::{Split, CLASSES, IMAGE_PIXELS, IMAGE_SIDE};
use digitdash::frontend::dashboard::app::{
    App, ComparedRun, DigitInsight, DigitRef, DrawingInsight, Filters, Insight, Series,
};
use digitdash::model::probe::Activations;
use digitdash::run::record::{EvalSplit, RunStarted};
use digitdash::train::{
    Evaluation, Event, SettingChange, SettingValue, Started, StepStats, Summary,
};

/// Labels of the synthetic test set (the first twenty of MNIST's test set).
pub const LABELS: [u8; 20] = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5, 9, 7, 3, 4];
/// Test images the scripted model gets wrong, with its wrong answer.
pub const WRONG: [(usize, u8); 2] = [(8, 6), (11, 5)];

/// The config the scripted run reports.
pub fn config() -> Config {
    let mut config = Config::default();
    config.train.steps = 20_000;
    config.train.eval_every = 100;
    config
}

/// Which of the seven segments (a top, b upper right, c lower right, d bottom, e lower left,
/// f upper left, g middle) make up `digit`.
fn segments(digit: u8) -> &'static str {
    [
        "abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg",
    ][usize::from(digit) % 10]
}

/// A 28x28 image of `digit` drawn as a seven-segment figure.
pub fn digit_image(digit: u8) -> Vec<u8> {
    let mut img = vec![0u8; IMAGE_PIXELS];
    let mut fill = |x0: usize, x1: usize, y0: usize, y1: usize| {
        for y in y0..y1 {
            for x in x0..x1 {
                img[y * IMAGE_SIDE + x] = 255;
            }
        }
    };
    let (left, right, top, mid, bottom, t) = (8, 20, 4, 13, 22, 3);
    for seg in segments(digit).chars() {
        match seg {
            'a' => fill(left, right, top, top + t),
            'b' => fill(right - t, right, top, mid + t),
            'c' => fill(right - t, right, mid, bottom + t),
            'd' => fill(left, right, bottom, bottom + t),
            'e' => fill(left, left + t, mid, bottom + t),
            'f' => fill(left, left + t, top, mid + t),
            _ => fill(left, right, mid, mid + t),
        }
    }
    img
}

/// The synthetic test set.
pub fn test_split() -> Arc<Split> {
    let images = LABELS.iter().flat_map(|&d| digit_image(d)).collect();
    Arc::new(Split::new(images, LABELS.to_vec()).expect("a valid split"))
}

/// Class probabilities of the scripted model: confident and right, except on [`WRONG`].
pub fn probabilities() -> Arc<Vec<f32>> {
    let mut p = vec![0.01f32; LABELS.len() * CLASSES];
    for (i, &label) in LABELS.iter().enumerate() {
        let row = &mut p[i * CLASSES..(i + 1) * CLASSES];
        match WRONG.iter().find(|(w, _)| *w == i) {
            Some(&(_, guess)) => {
                row[usize::from(guess)] = 0.61;
                row[usize::from(label)] = 0.31;
            }
            None => row[usize::from(label)] = 0.91,
        }
    }
    Arc::new(p)
}

/// The start of the scripted run.
pub fn started() -> Event {
    let test = test_split();
    Event::Started(Started {
        run: RunStarted {
            train_images: 60_000,
            test_images: test.len(),
            validation_images: 0,
            threads: 2,
            first_step: 0,
            config: config(),
        },
        test,
        validation: Default::default(),
        run_dir: None,
    })
}

/// The numbers of step `n`: a loss falling from 2.3 with a deterministic wobble.
pub fn step(n: u64, learning_rate: f64) -> Event {
    let t = n as f32;
    let loss = 2.2 * (-t / 60.0).exp() + 0.12 + 0.08 * (t * 0.7).sin().abs();
    Event::Step(StepStats {
        step: n,
        total_steps: 20_000,
        epoch: n as f64 * 50.0 / 60_000.0,
        loss,
        accuracy: (1.0 - loss / 2.4).clamp(0.0, 1.0),
        learning_rate,
        batch_size: 50,
        samples_per_sec: 812.0,
        train_seconds: n as f64 * 50.0 / 812.0,
    })
}

/// An evaluation after `step` with `accuracy`.
pub fn evaluation(step: u64, accuracy: f64) -> Event {
    Event::Evaluation(Evaluation {
        split: EvalSplit::Test,
        checkpoint: None,
        step,
        accuracy,
        loss: (1.0 - accuracy) * 3.0,
        seconds: 2.4,
        probabilities: probabilities(),
    })
}

/// The trainer's confirmation of a learning-rate change after `step`.
pub fn lr_changed(step: u64, old: f64, new: f64) -> Event {
    Event::SettingChanged(SettingChange {
        step,
        old: SettingValue::LearningRate(old),
        new: SettingValue::LearningRate(new),
    })
}

/// The events of 300 steps with three evaluations and a learning-rate change at step 250.
pub fn first_300_steps() -> Vec<Event> {
    let mut events = vec![
        Event::Preparing("reading MNIST from /data/mnist".into()),
        started(),
    ];
    for n in 1..=300 {
        let lr = if n > 250 { 2e-4 } else { 1e-4 };
        events.push(step(n, lr));
        if n % 100 == 0 {
            events.push(evaluation(
                n,
                [0.912, 0.948, 0.9631][(n / 100 - 1) as usize],
            ));
        }
        if n == 250 {
            events.push(lr_changed(250, 1e-4, 2e-4));
        }
    }
    events
}

/// The end of a run stopped early after `steps`.
pub fn finished(steps: u64, accuracy: f64) -> Event {
    Event::Finished(Summary {
        steps,
        stopped_early: true,
        test_accuracy: accuracy,
        test_loss: 0.11,
        train_seconds: steps as f64 * 50.0 / 812.0,
        wall_seconds: 31.0,
        samples_per_sec: 812.0,
        ..Default::default()
    })
}

/// What the inspector would say after step 300: the first layer's filters (a signed ramp),
/// feature maps and live probabilities for test digit `index`, with an occlusion map.
pub fn insights(index: usize) -> Vec<Insight> {
    let ramp = |n: usize, scale: f32, offset: f32| -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 37 % 101) as f32 / 100.0 - offset) * scale)
            .collect()
    };
    let mut probabilities = vec![0.01f32; CLASSES];
    probabilities[7] = 0.83;
    probabilities[9] = 0.08;
    vec![
        Insight::Filters(Filters {
            step: 300,
            weights: ramp(32 * 25, 0.4, 0.5),
        }),
        Insight::Digit(DigitInsight {
            digit: DigitRef {
                set: EvalSplit::Test,
                index,
            },
            step: 300,
            probabilities: probabilities.clone(),
            activations: Some(Activations {
                conv1: ramp(32 * 14 * 14, 2.0, 0.0),
                conv2: ramp(64 * 7 * 7, 3.0, 0.0),
                probabilities,
            }),
            occlusion: Some(ramp(IMAGE_PIXELS, 1.0, 0.0)),
        }),
    ]
}

/// The inspector's answer for a drawing of `version` that looks like a 1.
pub fn drawing_insight(version: u64) -> Insight {
    let mut probabilities = vec![0.005f32; CLASSES];
    probabilities[1] = 0.955;
    Insight::Drawing(DrawingInsight {
        version,
        step: 300,
        probabilities,
        compared: Vec::new(),
    })
}

/// A second run to overlay: 300 steps that learn a little faster, at a higher learning rate.
pub fn compared_run() -> ComparedRun {
    let mut loss = Series::default();
    let mut accuracy = Series::default();
    for n in 1..=300u64 {
        let t = n as f32;
        loss.push(2.3 * (-t / 60.0).exp() + 0.08 + 0.05 * ((t * 0.7).sin()));
        accuracy.push((1.0 - (-t / 50.0).exp()).min(0.99) * 0.97);
    }
    let mut config = config();
    config.train.learning_rate = 3e-4;
    ComparedRun {
        name: "20261201-120000".into(),
        path: "runs/20261201-120000".into(),
        loss,
        accuracy,
        evaluations: [(100, 0.93), (200, 0.955), (300, 0.968)]
            .into_iter()
            .map(|(step, accuracy)| Evaluation {
                split: EvalSplit::Test,
                checkpoint: None,
                step,
                accuracy,
                loss: 0.2,
                seconds: 1.0,
                probabilities: Default::default(),
            })
            .collect(),
        colour: 0,
        config: Some(config),
    }
}

/// Draws `app` on a `width` x `height` test terminal.
pub fn screen(app: &App, width: u16, height: u16) -> ratatui::backend::TestBackend {
    let backend = ratatui::backend::TestBackend::new(width, height);
    let mut terminal = ratatui::Terminal::new(backend).expect("a test terminal");
    terminal
        .draw(|frame| digitdash::frontend::dashboard::ui::draw(frame, app))
        .expect("drawing on a test backend");
    terminal.backend().clone()
}

/// The text `app` shows on a `width` x `height` screen, a line a row.
pub fn render(app: &App, width: u16, height: u16) -> String {
    let backend = screen(app, width, height);
    let buffer = backend.buffer();
    let mut text = String::new();
    for y in 0..height {
        for x in 0..width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

/// Feeds a source's events to a dashboard, never asking it to stop: for [`drive`] over a
/// replayed run.
///
/// [`drive`]: digitdash::source::drive
pub struct Feed<'a>(pub &'a mut App);

impl digitdash::source::Driver for Feed<'_> {
    fn should_stop(&mut self) -> bool {
        false
    }

    fn stop_cause(&self) -> Option<digitdash::signals::Signal> {
        None
    }

    fn on_event(&mut self, event: Event) {
        self.0.update(event);
    }
}

/// Layer statistics at `step` of a network that learns: update ratios that fall towards 1e-3,
/// a hidden layer whose dead ReLUs grow, weights that spread slowly.
pub fn layer_stats(step: u64) -> Event {
    use digitdash::run::layers::{Histogram, LayerSample, LayerStats, TensorSample, LAYER_NAMES};
    let t = step as f32 / 300.0;
    let layers = LAYER_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let scale = 0.1 / (i + 1) as f32;
            let spread = scale * (1.0 + t);
            // A triangle of values around 0, wider as training goes on.
            let values: Vec<f32> = (0..200)
                .map(|k| spread * ((k % 20) as f32 - 9.5 + (k / 20) as f32 - 4.5) / 14.0)
                .collect();
            let tensor = |histogram: bool| TensorSample {
                rms: spread / 3.0,
                grad_rms: 1e-3 * scale * (2.0 - t),
                update_ratio: 1e-3 * (1.0 + 4.0 * (1.0 - t) * (i + 1) as f32 / 4.0),
                histogram: histogram.then(|| Histogram::of(&values)),
            };
            LayerSample {
                name: (*name).into(),
                dead_relu: (*name != "output").then_some(if i == 2 { 0.3 * t } else { 0.0 }),
                weight: tensor(true),
                bias: tensor(false),
            }
        })
        .collect();
    Event::Layers(LayerStats { step, layers })
}

/// A sweep as its folder would hold it, without the folder: random search over three keys
/// with ASHA, eight trials in every state a trial can be in.
pub fn sweep_board(dir: &str) -> digitdash::sweep::SweepBoard {
    use digitdash::sweep::value::ParamValue;
    use digitdash::sweep::{SweepBoard, SweepDir, SweepFile, SweepSpec, TrialRow, TrialStatus};
    let path = std::path::Path::new("sweep.toml");
    let text = "method = \"random\"\ntrials = 8\n[budget]\nepochs = 2\n\
                [asha]\nreduction_factor = 3\nmin_budget = 0.2222\n\
                [space]\nlearning_rate = { log_uniform = [1e-4, 1e-2] }\n\
                batch_size = [32, 64, 128]\ndropout = { uniform = [0.0, 0.5] }\n";
    let file = SweepFile::from_toml(text, path).expect("a valid sweep file");
    let mut base = config();
    base.data.validation = Some(5_000);
    let spec = SweepSpec::new(file, path, &base).expect("a valid sweep");
    let trial = |n: usize, lr: f64, batch: i64, dropout: f64, status, rung, acc: Option<f64>| {
        let steps = [0, 764, 2292, 6875][rung + usize::from(acc.is_some())] as u64;
        TrialRow {
            trial: n,
            name: SweepDir::trial_name(n),
            settings: [
                ("batch_size".to_string(), ParamValue::Int(batch)),
                ("dropout".to_string(), ParamValue::Float(dropout)),
                ("learning_rate".to_string(), ParamValue::Float(lr)),
            ]
            .into(),
            status,
            rung,
            validation_accuracy: acc,
            test_accuracy: None,
            steps,
            images: steps * batch as u64,
            full_images: Some(110_000),
            seconds: acc.map(|_| steps as f64 / 40.0),
        }
    };
    let mut trials = vec![
        trial(0, 1.2e-3, 64, 0.31, TrialStatus::Finished, 2, Some(0.9912)),
        trial(
            1,
            3.4e-4,
            32,
            0.12,
            TrialStatus::StoppedEarly,
            0,
            Some(0.9603),
        ),
        trial(
            2,
            8.1e-3,
            128,
            0.45,
            TrialStatus::StoppedEarly,
            0,
            Some(0.9421),
        ),
        trial(3, 2.2e-3, 32, 0.05, TrialStatus::Running, 1, Some(0.9844)),
        trial(4, 1.1e-4, 64, 0.27, TrialStatus::Waiting, 0, Some(0.9533)),
        trial(
            5,
            9.7e-3,
            128,
            0.49,
            TrialStatus::Failed {
                message: "the loss diverged (NaN) at step 212".into(),
            },
            0,
            None,
        ),
        trial(6, 5.5e-4, 32, 0.38, TrialStatus::Running, 0, None),
        trial(7, 4.0e-3, 64, 0.21, TrialStatus::Planned, 0, None),
    ];
    trials[0].test_accuracy = Some(0.9907);
    SweepBoard {
        dir: SweepDir::new(dir),
        spec,
        base,
        trials,
    }
}
