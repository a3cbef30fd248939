//! Unit tests of the dashboard state: events in, keys in, commands out.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::*;
use crate::data::{Split, CLASSES, IMAGE_PIXELS};
use crate::run::record::{CheckpointWritten, EvalSplit, RunStarted};
use crate::signals::Signal;
use crate::train::{
    Command, Evaluation, Event, SettingChange, SettingValue, Started, StepStats, Summary,
};

fn config() -> Config {
    let mut config = Config::default();
    config.train.steps = 1000;
    config.train.eval_every = 100;
    config
}

fn ch(app: &mut App, c: char) -> Vec<Command> {
    app.press(KeyCode::Char(c))
}

fn test_split(labels: &[u8]) -> Arc<Split> {
    let images = vec![0u8; labels.len() * IMAGE_PIXELS];
    Arc::new(Split::new(images, labels.to_vec()).expect("valid split"))
}

fn started() -> Event {
    let test = test_split(&[3, 1, 4, 1, 5]);
    Event::Started(Started {
        run: RunStarted {
            train_images: 600,
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

fn step(n: u64, loss: f32) -> Event {
    Event::Step(StepStats {
        step: n,
        total_steps: 1000,
        epoch: n as f64 * 50.0 / 600.0,
        loss,
        accuracy: 0.5,
        learning_rate: 1e-4,
        batch_size: 50,
        samples_per_sec: 500.0,
        train_seconds: n as f64 * 0.1,
    })
}

fn evaluation(step: u64, predictions: &[u8]) -> Event {
    let mut p = vec![0.0; predictions.len() * CLASSES];
    for (i, &c) in predictions.iter().enumerate() {
        p[i * CLASSES + usize::from(c)] = 1.0;
    }
    Event::Evaluation(Evaluation {
        split: EvalSplit::Test,
        checkpoint: None,
        step,
        accuracy: 0.6,
        loss: 0.9,
        seconds: 1.0,
        probabilities: Arc::new(p),
    })
}

fn summary(steps: u64) -> Summary {
    Summary {
        steps,
        stopped_early: steps < 1000,
        test_accuracy: 0.97,
        test_loss: 0.1,
        train_seconds: 10.0,
        wall_seconds: 12.0,
        samples_per_sec: 500.0,
        ..Default::default()
    }
}

fn training() -> App {
    let mut app = App::new(&config());
    app.update(started());
    app
}

#[test]
fn keys_before_any_data_send_only_what_the_trainer_can_queue() {
    let lr = config().train.learning_rate;
    for binding in BINDINGS {
        for &code in binding.keys {
            let mut app = App::new(&config());
            // What the key means on the page the dashboard opens with.
            let action = keys::action_for(&keys::plain_key(code), app.page());
            let commands = app.press(code);
            let ok = match (action, commands.as_slice()) {
                (Some(Action::TogglePause), [Command::Pause])
                | (Some(Action::EvaluateNow), [Command::EvaluateNow])
                | (Some(Action::EvaluateTest), [Command::EvaluateTest])
                | (Some(Action::SaveCheckpoint), [Command::SaveCheckpoint]) => true,
                (Some(Action::Increase), [Command::Set(SettingValue::LearningRate(new))]) => {
                    *new > lr
                }
                (Some(Action::Decrease), [Command::Set(SettingValue::LearningRate(new))]) => {
                    *new < lr
                }
                (
                    Some(
                        Action::TogglePause
                        | Action::EvaluateNow
                        | Action::EvaluateTest
                        | Action::SaveCheckpoint
                        | Action::Increase
                        | Action::Decrease,
                    ),
                    _,
                ) => false,
                // Everything else waits for data, asks first, or acts on the screen only.
                (_, rest) => rest.is_empty(),
            };
            assert!(ok, "{code:?} ({action:?}) sent {commands:?}");
            assert_eq!(app.state(), RunState::Preparing, "{code:?}");
            let _ = app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        }
    }
    let mut app = App::new(&config());
    for code in [
        KeyCode::Right,
        KeyCode::Char('m'),
        KeyCode::PageUp,
        KeyCode::Char('M'),
    ] {
        assert!(app.press(code).is_empty());
        assert!(app.flash().is_some(), "{code:?} says why nothing happened");
    }
    assert_eq!(app.state(), RunState::Preparing);
}

#[test]
fn every_key_in_every_state_is_safe_and_none_reaches_an_ended_trainer() {
    let keys: Vec<KeyCode> = BINDINGS
        .iter()
        .flat_map(|b| b.keys.iter().copied())
        .chain([
            KeyCode::Char('y'),
            KeyCode::Char('n'),
            KeyCode::Backspace,
            KeyCode::Home,
        ])
        .collect();
    let mut app = training();
    let mut sent = 0;
    for (i, &code) in keys.iter().cycle().take(keys.len() * 7).enumerate() {
        sent += app.press(code).len();
        if i % 5 == 0 {
            app.update(step(i as u64 + 1, 1.0));
        }
    }
    assert!(sent > 0, "the keys reached the trainer while it ran");
    app.update(Event::Finished(summary(10)));
    for &code in &keys {
        assert_eq!(app.press(code), [], "{code:?} after the end");
        assert_eq!(app.state(), RunState::Finished, "{code:?}");
    }
}

#[test]
fn space_pauses_and_resumes_and_the_state_follows_the_trainer() {
    let mut app = training();
    assert_eq!(app.state(), RunState::Running);
    assert_eq!(ch(&mut app, ' '), vec![Command::Pause]);
    assert_eq!(app.state(), RunState::Running, "until the trainer confirms");
    app.update(Event::Paused {
        paused: true,
        step: 0,
    });
    assert_eq!(app.state(), RunState::Paused);
    assert!(!app.is_busy());
    assert_eq!(ch(&mut app, ' '), vec![Command::Resume]);
    app.update(Event::Paused {
        paused: false,
        step: 0,
    });
    assert_eq!(app.state(), RunState::Running);
    let texts: Vec<_> = app.log().entries().map(|e| e.text.clone()).collect();
    assert!(texts.contains(&"paused".to_string()) && texts.contains(&"resumed".to_string()));
}

#[test]
fn single_steps_only_while_paused() {
    let mut app = training();
    assert!(ch(&mut app, '.').is_empty());
    assert!(app.flash().is_some());
    app.update(Event::Paused {
        paused: true,
        step: 0,
    });
    assert_eq!(ch(&mut app, '.'), vec![Command::StepOnce]);
}

#[test]
fn plus_and_minus_change_the_selected_setting() {
    let mut app = training();
    assert_eq!(
        ch(&mut app, '+'),
        vec![Command::Set(SettingValue::LearningRate(2e-4))]
    );
    assert_eq!(
        ch(&mut app, '+'),
        vec![Command::Set(SettingValue::LearningRate(4e-4))]
    );
    assert_eq!(
        ch(&mut app, '-'),
        vec![Command::Set(SettingValue::LearningRate(2e-4))]
    );
    app.press(KeyCode::Down);
    assert_eq!(app.selected(), Setting::BatchSize);
    assert_eq!(
        ch(&mut app, '+'),
        vec![Command::Set(SettingValue::BatchSize(100))]
    );
    app.press(KeyCode::Tab);
    assert_eq!(
        ch(&mut app, '-'),
        vec![Command::Set(SettingValue::EvalEvery(50))]
    );
    app.press(KeyCode::Up);
    assert_eq!(app.selected(), Setting::BatchSize);
}

#[test]
fn a_learning_rate_change_is_logged_with_step_setting_old_and_new() {
    let mut app = training();
    app.update(step(42, 1.0));
    ch(&mut app, '+');
    assert!(app.settings().is_pending(Setting::LearningRate));
    app.update(Event::SettingChanged(SettingChange {
        step: 42,
        old: SettingValue::LearningRate(1e-4),
        new: SettingValue::LearningRate(2e-4),
    }));
    assert!(!app.settings().is_pending(Setting::LearningRate));
    let entry = app.log().last(1).next().cloned().expect("an entry");
    assert_eq!(entry.step, Some(42));
    assert_eq!(entry.kind, LogKind::Setting);
    assert_eq!(entry.text, "learning rate 1.000e-4 → 2.000e-4");
}

#[test]
fn typed_values_go_through_the_entry() {
    let mut app = training();
    assert!(app.press(KeyCode::Enter).is_empty());
    assert!(matches!(app.overlay(), Overlay::Edit(_)));
    for c in "3e-4".chars() {
        assert!(ch(&mut app, c).is_empty(), "typing is not a command");
    }
    assert_eq!(app.state(), RunState::Running, "q and space are text here");
    assert_eq!(
        app.press(KeyCode::Enter),
        vec![Command::Set(SettingValue::LearningRate(3e-4))]
    );
    assert_eq!(app.overlay(), &Overlay::None);

    app.press(KeyCode::Enter);
    ch(&mut app, '9');
    ch(&mut app, '9');
    assert!(app.press(KeyCode::Enter).is_empty());
    match app.overlay() {
        Overlay::Edit(editor) => assert!(editor.error.is_some()),
        other => panic!("the entry should stay open, got {other:?}"),
    }
    app.press(KeyCode::Esc);
    assert_eq!(app.overlay(), &Overlay::None);
}

#[test]
fn t_evaluates_and_shows_the_evaluating_state_until_the_result() {
    let mut app = training();
    assert_eq!(ch(&mut app, 't'), vec![Command::EvaluateNow]);
    assert_eq!(app.state(), RunState::Evaluating);
    app.update(evaluation(3, &[3, 1, 4, 1, 5]));
    assert_eq!(app.state(), RunState::Running);
    assert_eq!(app.evaluations().len(), 1);
}

#[test]
fn steps_on_the_evaluation_interval_mean_an_evaluation_is_coming() {
    let mut app = training();
    app.update(step(99, 1.0));
    assert_eq!(app.state(), RunState::Running);
    app.update(step(100, 1.0));
    assert_eq!(app.state(), RunState::Evaluating);
}

#[test]
fn events_update_the_numbers() {
    let mut app = training();
    assert_eq!(app.total_steps(), 1000);
    for n in 1..=10 {
        app.update(step(n, 2.0 / n as f32));
    }
    assert_eq!(app.steps_done(), 10);
    assert_eq!(app.loss().len(), 10);
    assert_eq!(app.loss().latest(), Some(0.2));
    assert!((app.progress() - 0.01).abs() < 1e-12);
    assert!((app.throughput().unwrap_or(0.0) - 500.0).abs() < 1e-9);
    let eta = app.eta().expect("an estimate").as_secs_f64();
    assert!((eta - 990.0 * 0.1).abs() < 1e-6, "{eta}");
}

#[test]
fn progress_is_clamped() {
    let mut app = training();
    let mut past = step(5000, 1.0);
    if let Event::Step(s) = &mut past {
        s.total_steps = 10;
    }
    app.update(past);
    assert_eq!(app.progress(), 1.0);
}

#[test]
fn quitting_while_training_asks_then_stops_and_waits_for_the_end() {
    let mut app = training();
    assert!(ch(&mut app, 'q').is_empty());
    assert_eq!(app.overlay(), &Overlay::Confirm(Question::Quit));
    assert!(
        app.press(KeyCode::Esc).is_empty(),
        "esc closes the question"
    );
    assert_eq!(app.overlay(), &Overlay::None);
    assert!(!app.should_quit());

    ch(&mut app, 'q');
    assert!(
        ch(&mut app, 'q').is_empty(),
        "q again leaves the question open"
    );
    assert_eq!(app.overlay(), &Overlay::Confirm(Question::Quit));
    assert_eq!(ch(&mut app, 'y'), vec![Command::Stop]);
    assert_eq!(app.state(), RunState::Stopping);
    assert!(!app.should_quit(), "waits for the final evaluation");
    app.update(Event::Finished(summary(10)));
    assert!(app.should_quit());
}

#[test]
fn ctrl_c_asks_too_and_a_second_quit_while_stopping_quits_at_once() {
    let mut app = training();
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.on_key(ctrl_c).is_empty());
    assert_eq!(app.overlay(), &Overlay::Confirm(Question::Quit));
    assert_eq!(app.on_key(ctrl_c), vec![Command::Stop]);
    assert!(!app.should_quit());
    ch(&mut app, 'q');
    assert!(app.should_quit());
}

#[test]
fn after_the_end_q_quits_without_asking_and_commands_are_not_sent() {
    let mut app = training();
    app.update(Event::Finished(summary(1000)));
    assert_eq!(app.state(), RunState::Finished);
    for c in [' ', '.', 't', '+', 'x'] {
        assert!(ch(&mut app, c).is_empty(), "{c}");
    }
    assert!(!app.should_quit(), "the dashboard stays open");
    ch(&mut app, 'q');
    assert!(app.should_quit());
}

#[test]
fn esc_closes_the_help_before_it_quits() {
    let mut app = App::new(&config());
    ch(&mut app, '?');
    assert_eq!(app.overlay(), &Overlay::Help);
    app.press(KeyCode::Esc);
    assert_eq!(app.overlay(), &Overlay::None);
    app.press(KeyCode::Esc);
    assert_eq!(app.overlay(), &Overlay::Confirm(Question::Quit));
}

#[test]
fn x_asks_before_stopping() {
    let mut app = training();
    assert!(ch(&mut app, 'x').is_empty());
    assert_eq!(app.overlay(), &Overlay::Confirm(Question::Stop));
    assert_eq!(ch(&mut app, 'y'), vec![Command::Stop]);
    assert!(!app.should_quit(), "stopping is not quitting");
    app.update(Event::Finished(summary(10)));
    assert!(!app.should_quit());
    assert_eq!(app.state(), RunState::Finished);
}

#[test]
fn a_signal_stops_and_quits_after_the_end() {
    let mut app = training();
    assert_eq!(app.on_signal(Signal::TERMINATE), vec![Command::Stop]);
    assert!(app.on_signal(Signal::TERMINATE).is_empty());
    assert_eq!(app.signal(), Some(Signal::TERMINATE));
    assert!(!app.should_quit());
    app.update(Event::Finished(summary(10)));
    assert!(app.should_quit());
}

#[test]
fn quitting_while_the_data_downloads_ends_when_the_trainer_gives_up() {
    let mut app = App::new(&config());
    app.update(Event::Preparing(
        "downloading 4 MNIST file(s) into data".into(),
    ));
    assert_eq!(app.state(), RunState::Preparing);
    ch(&mut app, 'q');
    assert_eq!(ch(&mut app, 'y'), vec![Command::Stop]);
    assert!(!app.should_quit(), "waits for the trainer to give up");
    app.update(Event::StoppedBeforeTraining(
        "the download was stopped".into(),
    ));
    assert_eq!(app.state(), RunState::Stopped);
    assert!(!app.is_busy());
    assert!(app.should_quit());
    let last = app.log().last(1).next().cloned().expect("an entry");
    assert_eq!(last.kind, LogKind::Info);
    assert!(
        last.text.contains("the download was stopped"),
        "{}",
        last.text
    );
}

#[test]
fn a_failure_is_shown_and_logged() {
    let mut app = training();
    app.update(Event::Failed("out of memory".into()));
    assert_eq!(app.state(), RunState::Failed);
    let last = app.log().last(1).next().cloned().expect("an entry");
    assert_eq!(last.kind, LogKind::Error);
    assert!(last.text.contains("out of memory"));
    app.trainer_vanished();
    assert_eq!(app.phase(), &Phase::Failed("out of memory".into()));
}

#[test]
fn m_jumps_to_the_next_misclassified_digit() {
    let mut app = training();
    app.update(evaluation(100, &[3, 7, 4, 1, 0]));
    ch(&mut app, 'm');
    assert_eq!(app.digits().current().map(|d| d.index), Some(1));
    ch(&mut app, 'm');
    assert_eq!(app.digits().current().map(|d| d.index), Some(4));
    ch(&mut app, 'M');
    assert_eq!(app.digits().current().map(|d| d.index), Some(1));
    app.press(KeyCode::Right);
    assert_eq!(app.digits().current().map(|d| d.index), Some(2));
}

#[test]
fn chart_keys_change_the_chart_view() {
    let mut app = training();
    let view = |app: &App| *app.chart();
    assert_eq!(view(&app), ChartView::default());
    assert_eq!(
        (view(&app).window, view(&app).smoothed),
        (Window::Recent, true)
    );
    ch(&mut app, 'w');
    ch(&mut app, 's');
    assert_eq!(
        (view(&app).window, view(&app).smoothed),
        (Window::WholeRun, false)
    );
    ch(&mut app, ']');
    assert!(view(&app).smoothed, "a weight change turns smoothing on");
    assert!((view(&app).weight - 0.65).abs() < 1e-6);
    ch(&mut app, '[');
    ch(&mut app, '[');
    assert!((view(&app).weight - 0.55).abs() < 1e-6);
    ch(&mut app, 'l');
    assert!(!view(&app).log_loss);
    ch(&mut app, '<');
    assert!(view(&app).cursor.is_some_and(|c| c < 1.0));
    ch(&mut app, 'v');
    assert_eq!(view(&app).cursor, None);
    ch(&mut app, '2');
    ch(&mut app, 'l');
    assert!(
        !view(&app).log_loss,
        "chart keys do nothing on the Inspect page"
    );
}

#[test]
fn key_releases_are_ignored() {
    let mut app = training();
    let mut release = keys::plain_key(KeyCode::Char(' '));
    release.kind = KeyEventKind::Release;
    assert!(app.on_key(release).is_empty());
}

#[test]
fn c_saves_and_r_asks_before_rolling_back() {
    let mut app = training();
    assert_eq!(ch(&mut app, 'c'), vec![Command::SaveCheckpoint]);
    assert!(ch(&mut app, 'r').is_empty());
    assert_eq!(app.overlay(), &Overlay::Confirm(Question::Rollback));
    assert!(ch(&mut app, 'n').is_empty());
    assert_eq!(app.overlay(), &Overlay::None);
    ch(&mut app, 'r');
    assert_eq!(ch(&mut app, 'y'), vec![Command::Rollback]);
}

#[test]
fn a_rollback_cuts_the_history_back_to_the_checkpoint() {
    let mut app = training();
    for n in 1..=30 {
        app.update(step(n, 1.0));
    }
    app.update(evaluation(10, &[3, 1, 4, 1, 5]));
    app.update(evaluation(30, &[3, 1, 4, 1, 5]));
    app.update(Event::RolledBack(20));
    assert_eq!(app.steps_done(), 20);
    assert_eq!(app.loss().len(), 20);
    assert_eq!(app.evaluations().len(), 1);
    app.update(step(21, 1.0));
    assert_eq!(app.loss().len(), 21);
}

#[test]
fn divergence_and_record_errors_are_logged_as_errors() {
    let mut app = training();
    app.update(Event::Diverged("the loss became NaN at step 12".into()));
    app.update(Event::Paused {
        paused: true,
        step: 0,
    });
    assert_eq!(app.state(), RunState::Paused);
    app.update(Event::RecordError("disk full".into()));
    let errors = app
        .log()
        .entries()
        .filter(|e| e.kind == LogKind::Error)
        .count();
    assert_eq!(errors, 2);
    app.update(Event::Checkpoint(CheckpointWritten {
        step: 12,
        path: "runs/x/checkpoints/step-12".into(),
    }));
    let last = app.log().last(1).next().cloned().expect("an entry");
    assert!(last.text.contains("checkpoint"), "{}", last.text);
}

#[test]
fn a_resumed_run_counts_from_its_first_step() {
    let mut app = App::new(&config());
    let mut event = started();
    if let Event::Started(s) = &mut event {
        s.run.first_step = 400;
    }
    app.update(event);
    assert_eq!(app.steps_done(), 400);
    app.update(step(401, 1.0));
    assert_eq!(app.loss().len(), 1);
}

fn started_in(run_dir: &std::path::Path) -> Event {
    let Event::Started(mut s) = started() else {
        unreachable!()
    };
    s.run_dir = Some(run_dir.to_path_buf());
    Event::Started(s)
}

fn jobs(app: &mut App) -> Vec<InspectJob> {
    app.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Inspect(job) => Some(job),
            _ => None,
        })
        .collect()
}

#[test]
fn number_keys_and_tab_clicks_switch_pages() {
    let mut app = training();
    assert_eq!(app.page(), Page::Training);
    ch(&mut app, '2');
    assert_eq!(app.page(), Page::Inspect);
    ch(&mut app, '3');
    assert_eq!(app.page(), Page::Draw);
    app.on_pointer(Pointer::Press(Hit::Tab(Page::Training), Stroke::Draw));
    assert_eq!(app.page(), Page::Training);
}

#[test]
fn keys_a_page_does_not_use_do_nothing_there() {
    let mut app = training();
    ch(&mut app, '2');
    let before = app.settings().clone();
    assert!(ch(&mut app, '+').is_empty());
    assert_eq!(app.settings(), &before);
    ch(&mut app, '3');
    assert!(
        ch(&mut app, ' ').is_empty(),
        "space is the pen on the Draw page, not pause"
    );
    assert!(app.canvas().pen_down());
    assert!(!app.canvas().is_blank());
    ch(&mut app, '1');
    assert_eq!(ch(&mut app, ' '), vec![Command::Pause]);
}

#[test]
fn weights_are_asked_for_as_steps_go_by_at_most_once_an_interval() {
    use super::look::WEIGHTS_INTERVAL;
    let mut app = training();
    let first = Duration::from_millis(100);
    app.set_elapsed(first);
    app.update(step(1, 1.0));
    assert_eq!(app.tick(), vec![Command::ShareWeights]);
    app.set_elapsed(first + WEIGHTS_INTERVAL - Duration::from_millis(1));
    app.update(step(2, 1.0));
    assert!(app.tick().is_empty(), "too soon after the last request");
    app.set_elapsed(first + WEIGHTS_INTERVAL);
    assert_eq!(app.tick(), vec![Command::ShareWeights]);
    let model = Arc::new(crate::model::build(
        &dfdx::prelude::Cpu::default(),
        crate::model::Init::FanIn,
    ));
    app.update(Event::Weights(crate::train::messages::Weights {
        step: 2,
        model,
    }));
    app.set_elapsed(first + 3 * WEIGHTS_INTERVAL);
    assert!(
        app.tick().is_empty(),
        "the inspector has the weights of the latest step"
    );
}

#[test]
fn the_shown_digit_is_scored_again_only_when_what_is_asked_changes() {
    let mut app = training();
    let first = jobs(&mut app);
    assert!(
        matches!(
            first.as_slice(),
            [InspectJob::Digit {
                digit: DigitRef { index: 0, .. },
                activations: false,
                occlusion: false,
                ..
            }]
        ),
        "{first:?}"
    );
    assert!(jobs(&mut app).is_empty());
    app.press(KeyCode::Right);
    assert!(matches!(
        jobs(&mut app).as_slice(),
        [InspectJob::Digit {
            digit: DigitRef { index: 1, .. },
            ..
        }]
    ));
    ch(&mut app, '2');
    assert!(matches!(
        jobs(&mut app).as_slice(),
        [InspectJob::Digit {
            activations: true,
            occlusion: false,
            ..
        }]
    ));
    ch(&mut app, 'o');
    assert!(matches!(
        jobs(&mut app).as_slice(),
        [InspectJob::Digit {
            activations: true,
            occlusion: true,
            ..
        }]
    ));
}

#[test]
fn a_confusion_cell_chooses_the_digits_the_inspect_page_shows() {
    let mut app = training();
    // Labels 3 1 4 1 5; predictions 3 7 4 7 5: cell (1, 7) holds images 1 and 3.
    app.update(evaluation(100, &[3, 7, 4, 7, 5]));
    ch(&mut app, '2');
    app.on_pointer(Pointer::Press(Hit::Cell(1, 7), Stroke::Draw));
    assert_eq!(app.look().cell(), (1, 7));
    assert_eq!(app.shown_digit().unwrap().index, 1);
    ch(&mut app, 'n');
    assert_eq!(app.shown_digit().unwrap().index, 3);
    ch(&mut app, 'n');
    assert_eq!(app.shown_digit().unwrap().index, 1, "wraps around the cell");
    app.press(KeyCode::Up);
    assert_eq!(app.look().cell(), (0, 7));
    ch(&mut app, 'n');
    assert_eq!(app.flash(), Some("no test images in this cell"));
    ch(&mut app, '1');
    assert_eq!(
        app.shown_digit().unwrap().index,
        0,
        "the Training page keeps its own digit"
    );
}

#[test]
fn drawing_with_the_mouse_and_saving_into_the_run_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(&config());
    app.update(started_in(dir.path()));
    ch(&mut app, '3');
    ch(&mut app, 's');
    assert_eq!(app.flash(), Some("nothing drawn yet"));
    app.on_pointer(Pointer::Press(Hit::Canvas(14.5, 4.0), Stroke::Draw));
    app.on_pointer(Pointer::Press(Hit::Canvas(14.5, 24.0), Stroke::Draw));
    app.on_pointer(Pointer::Release);
    assert!(!app.canvas().is_blank());
    let version = app.canvas().version();
    let effects = app.take_effects();
    assert!(effects.iter().any(
        |e| matches!(e, Effect::Inspect(InspectJob::Drawing { version: v, .. }) if *v == version)
    ));
    ch(&mut app, 's');
    let saved = app.take_effects();
    assert!(
        matches!(saved.as_slice(), [Effect::SaveDrawing { dir: d, pixels }] if d == dir.path() && pixels.len() == IMAGE_PIXELS),
        "{saved:?}"
    );
}

#[test]
fn clicks_on_cells_or_the_pad_do_nothing_on_other_pages() {
    let mut app = training();
    app.update(evaluation(100, &[3, 7, 4, 7, 5]));
    app.on_pointer(Pointer::Press(Hit::Cell(1, 7), Stroke::Draw));
    assert_eq!(app.look().cell(), (0, 0));
    app.on_pointer(Pointer::Press(Hit::Canvas(3.0, 3.0), Stroke::Draw));
    assert!(app.canvas().is_blank());
}

#[test]
fn a_watched_run_shows_its_controls_as_unavailable_and_says_why() {
    let reason = "watching a run another process trains: its controls are that process's";
    let mut app = App::watching(&config(), reason);
    app.update(started());
    app.update(step(1, 1.0));
    assert!(!app.accepts_commands());
    assert!(ch(&mut app, ' ').is_empty());
    assert!(ch(&mut app, '+').is_empty());
    assert_eq!(app.flash(), Some(reason));
    assert_eq!(app.read_only(), Some(reason));
    assert!(app.tick().is_empty(), "no trainer to ask for weights");
    ch(&mut app, '2');
    assert_eq!(app.page(), Page::Inspect, "pages still open");
}

/// The effects other than questions for the inspector.
fn outside_effects(app: &mut App) -> Vec<Effect> {
    app.take_effects()
        .into_iter()
        .filter(|e| !matches!(e, Effect::Inspect(_)))
        .collect()
}

fn compared_run(path: &str) -> ComparedRun {
    ComparedRun {
        name: path.rsplit('/').next().unwrap_or(path).into(),
        path: path.into(),
        loss: Series::default(),
        accuracy: Series::default(),
        evaluations: Vec::new(),
        config: None,
        colour: 0,
    }
}

fn overview(path: &str) -> crate::run::listing::RunOverview {
    crate::run::listing::RunOverview {
        name: path.rsplit('/').next().unwrap_or(path).into(),
        path: path.into(),
        started_at: None,
        status: crate::run::status::RunStatus::Finished,
        steps_done: 10,
        total_steps: Some(10),
        validation_images: 0,
        best_accuracy: None,
        final_test_accuracy: None,
        test_looks: 0,
        wall_seconds: None,
        train_settings: Default::default(),
        differences: Vec::new(),
        latest_layers: None,
    }
}

#[test]
fn b_lists_the_runs_beside_this_one_and_enter_overlays_the_chosen() {
    let mut app = App::new(&config());
    app.update(started_in(std::path::Path::new("runs/now")));
    app.take_effects();
    ch(&mut app, 'b');
    assert_eq!(
        outside_effects(&mut app),
        [Effect::ListRuns("runs".into())],
        "the folder that holds this run"
    );
    assert_eq!(app.overlay(), &Overlay::None, "opens once the list is read");
    app.runs_listed(
        "runs".into(),
        Ok(vec![
            overview("runs/a"),
            overview("runs/now"),
            overview("runs/z"),
        ]),
    );
    let Overlay::Runs(picker) = app.overlay() else {
        panic!("the picker is open: {:?}", app.overlay());
    };
    assert_eq!(picker.entries().len(), 3);
    assert_eq!(picker.entries()[1].unavailable, Some("on screen"));
    assert!(ch(&mut app, ' ').is_empty());
    app.press(KeyCode::Down);
    app.press(KeyCode::Down);
    ch(&mut app, ' ');
    app.press(KeyCode::Enter);
    assert_eq!(app.overlay(), &Overlay::None);
    assert_eq!(
        outside_effects(&mut app),
        [Effect::LoadCompared(vec!["runs/a".into(), "runs/z".into()])]
    );
}

#[test]
fn esc_closes_the_picker_without_changing_the_overlay() {
    let mut app = training();
    app.compare_with(compared_run("runs/a"));
    app.runs_listed("runs".into(), Ok(vec![overview("runs/a")]));
    ch(&mut app, ' ');
    app.press(KeyCode::Esc);
    assert_eq!(app.overlay(), &Overlay::None);
    assert!(outside_effects(&mut app).is_empty());
    assert_eq!(app.compared().len(), 1);
}

#[test]
fn a_listing_that_fails_is_said_and_opens_nothing() {
    let mut app = training();
    app.runs_listed("gone".into(), Err("gone is not a folder".into()));
    assert_eq!(app.overlay(), &Overlay::None);
    assert!(app.flash().unwrap().contains("gone is not a folder"));
}

#[test]
fn runs_that_stay_on_the_charts_keep_their_colours() {
    let mut app = training();
    app.compare_with(compared_run("runs/a"));
    app.compare_with(compared_run("runs/b"));
    app.compare_with(compared_run("runs/c"));
    let colours = |app: &App| -> Vec<(String, usize)> {
        app.compared()
            .iter()
            .map(|r| (r.name.clone(), r.colour))
            .collect()
    };
    assert_eq!(
        colours(&app),
        [("a".into(), 0), ("b".into(), 1), ("c".into(), 2)]
    );
    app.compared_loaded(
        vec![
            compared_run("runs/c"),
            compared_run("runs/d"),
            compared_run("runs/a"),
        ],
        Vec::new(),
    );
    assert_eq!(
        colours(&app),
        [("c".into(), 2), ("a".into(), 0), ("d".into(), 1)],
        "b's colour goes to the newcomer; a and c keep theirs"
    );
    assert_eq!(app.flash(), Some("overlaid 3 runs"));
    app.compared_loaded(Vec::new(), vec!["cannot read runs/x: gone".into()]);
    assert!(app.compared().is_empty());
    assert!(app.flash().unwrap().starts_with("cannot read runs/x"));
}

#[test]
fn f_shows_the_fed_images_which_the_tick_asks_for_and_arrows_browse() {
    let mut app = training();
    app.update(step(1, 1.0));
    app.set_elapsed(Duration::from_millis(100));
    assert!(!app.tick().contains(&Command::ShareBatch), "off");
    ch(&mut app, 'f');
    assert!(app.fed().is_on());
    assert!(app.flash().unwrap().contains("augmentation is off"));
    app.set_elapsed(Duration::from_millis(200));
    assert!(app.tick().contains(&Command::ShareBatch));
    let images = vec![0u8; 2 * IMAGE_PIXELS];
    app.update(Event::Batch(crate::train::TrainingBatch {
        step: 1,
        images: Arc::new(Split::new(images, vec![6, 8]).unwrap()),
    }));
    app.press(KeyCode::Right);
    let view = app.fed().current().unwrap();
    assert_eq!((view.index, view.label, view.step), (1, 8, 1));
    assert_eq!(
        app.digits().current().unwrap().index,
        0,
        "the test digit stays"
    );
    app.set_elapsed(Duration::from_millis(5000));
    assert!(
        !app.tick().contains(&Command::ShareBatch),
        "the batch is current"
    );
    ch(&mut app, 'f');
    app.press(KeyCode::Right);
    assert_eq!(app.digits().current().unwrap().index, 1);
}

#[test]
fn a_watched_run_cannot_show_the_fed_images() {
    let mut app = App::watching(&config(), "watching");
    ch(&mut app, 'f');
    assert!(!app.fed().is_on());
    assert!(app
        .flash()
        .unwrap()
        .contains("only by the process that trains"));
}

#[test]
fn the_worst_loss_gallery_chooses_the_digit_and_asks_for_its_occlusion_map() {
    let mut app = training();
    ch(&mut app, '2');
    ch(&mut app, 'g');
    assert!(app.gallery_shown());
    assert!(app.flash().is_some_and(|f| f.contains("next evaluation")));
    // Labels 3 1 4 1 5; predictions 3 7 4 7 5: images 1 and 3 are wrong, the worst.
    app.update(evaluation(100, &[3, 7, 4, 7, 5]));
    let ranked: Vec<usize> = app
        .look()
        .gallery()
        .ranking()
        .iter()
        .map(|r| r.index)
        .collect();
    assert_eq!(ranked, [1, 3, 0, 2, 4]);
    assert_eq!(app.shown_digit().unwrap().index, 1);
    assert!(!app.look().saliency(), "the overlay key stays off");
    let asked = jobs(&mut app);
    assert!(
        matches!(asked.as_slice(), [InspectJob::Digit { digit, occlusion: true, .. }] if digit.index == 1),
        "{asked:?}"
    );
    app.set_gallery_columns(2);
    app.press(KeyCode::Down);
    assert_eq!(
        app.shown_digit().unwrap().index,
        0,
        "a row of two down: the third"
    );
    app.press(KeyCode::Left);
    assert_eq!(app.shown_digit().unwrap().index, 3);
    app.on_pointer(Pointer::Press(Hit::GalleryTile(4), Stroke::Draw));
    assert_eq!(app.shown_digit().unwrap().index, 4);
    ch(&mut app, 'g');
    assert!(!app.gallery_shown());
    assert_eq!(
        app.look().cell(),
        (0, 0),
        "the arrows moved the gallery only"
    );
    app.on_pointer(Pointer::Press(Hit::GalleryTile(1), Stroke::Draw));
    assert_eq!(
        app.look().gallery().selected(),
        4,
        "tiles are not clicked under the matrix"
    );
    app.on_pointer(Pointer::Press(Hit::Cell(1, 7), Stroke::Draw));
    assert_eq!(
        app.shown_digit().unwrap().index,
        1,
        "the cell browser's digit"
    );
}

fn checkpoint(kind: crate::run::CheckpointKind, step: u64) -> crate::train::CheckpointChoice {
    crate::train::CheckpointChoice { kind, step }
}

#[test]
fn k_on_a_watched_run_lists_its_checkpoints_and_enter_shows_the_chosen_one() {
    use crate::run::CheckpointKind::{Best, Periodic};
    let mut app = App::watching(&config(), "watching");
    app.update(started_in(std::path::Path::new("runs/old")));
    app.update(step(200, 0.5));
    app.update(evaluation(200, &[3, 1, 4, 1, 5]));
    ch(&mut app, '3');
    app.take_effects();
    ch(&mut app, 'k');
    assert_eq!(
        outside_effects(&mut app),
        [Effect::ListCheckpoints("runs/old".into())]
    );
    app.checkpoints_listed(vec![
        checkpoint(Periodic, 100),
        checkpoint(Best, 200),
        checkpoint(Periodic, 200),
    ]);
    let Overlay::Checkpoints(picker) = app.overlay() else {
        panic!("the picker is open: {:?}", app.overlay());
    };
    assert_eq!(
        picker.cursor(),
        0,
        "on the automatic choice, which is in force"
    );
    assert_eq!(picker.entries()[0].accuracy, Some(0.6), "evaluated at 200");
    assert_eq!(picker.entries()[2].accuracy, None, "never evaluated at 100");
    // Down to the periodic checkpoint of step 100, the oldest.
    for _ in 0..3 {
        ch(&mut app, 'j');
    }
    let sent = app.press(KeyCode::Enter);
    let chosen = checkpoint(Periodic, 100);
    assert_eq!(sent, [Command::InspectCheckpoint(Some(chosen))]);
    assert_eq!(app.overlay(), &Overlay::None);
    assert_eq!(app.checkpoint_choice(), Some(chosen));
    assert_eq!(app.flash(), Some("loading the checkpoint @100"));
    // The replay says which folder it loaded; the pages name it.
    app.update(Event::CheckpointLoaded(
        "runs/old/checkpoints/step-00000100".into(),
    ));
    assert_eq!(app.look().checkpoint().as_deref(), Some("checkpoint @100"));

    // Opened again, the cursor is on the shown checkpoint; row 0 goes back to automatic.
    ch(&mut app, 'k');
    app.checkpoints_listed(vec![checkpoint(Periodic, 100), checkpoint(Best, 200)]);
    let Overlay::Checkpoints(picker) = app.overlay() else {
        panic!("the picker is open: {:?}", app.overlay());
    };
    assert_eq!(picker.under_cursor(), Some(chosen));
    app.press(KeyCode::Up);
    app.press(KeyCode::Up);
    assert_eq!(
        app.press(KeyCode::Enter),
        [Command::InspectCheckpoint(None)]
    );
    assert_eq!(app.checkpoint_choice(), None);
}

#[test]
fn k_on_a_live_run_says_why_it_shows_the_weights_in_training() {
    let mut app = App::new(&config());
    app.update(started_in(std::path::Path::new("runs/now")));
    app.take_effects();
    assert!(ch(&mut app, 'k').is_empty());
    assert!(outside_effects(&mut app).is_empty());
    assert_eq!(app.overlay(), &Overlay::None);
    let flash = app.flash().unwrap_or_default();
    assert!(
        flash.contains("follow the weights in training") && flash.contains("watch runs/now"),
        "{flash}"
    );
}

#[test]
fn a_run_without_checkpoints_opens_no_picker() {
    let mut app = App::watching(&config(), "watching");
    app.update(started_in(std::path::Path::new("runs/old")));
    ch(&mut app, 'k');
    app.checkpoints_listed(Vec::new());
    assert_eq!(app.overlay(), &Overlay::None);
    assert_eq!(app.flash(), Some("the run holds no checkpoint yet"));
}

#[test]
fn the_drawing_is_asked_about_again_with_each_change_of_the_overlaid_runs() {
    let mut app = training();
    app.compare_with(compared_run("runs/a"));
    ch(&mut app, '3');
    app.on_pointer(Pointer::Press(Hit::Canvas(14.5, 4.0), Stroke::Draw));
    app.on_pointer(Pointer::Release);
    let compared_in = |jobs: Vec<InspectJob>| -> Vec<Vec<std::path::PathBuf>> {
        jobs.into_iter()
            .filter_map(|j| match j {
                InspectJob::Drawing { compared, .. } => Some(compared),
                InspectJob::Digit { .. } => None,
            })
            .collect()
    };
    assert_eq!(
        compared_in(jobs(&mut app)),
        [vec![std::path::PathBuf::from("runs/a")]]
    );
    assert!(compared_in(jobs(&mut app)).is_empty(), "nothing changed");
    app.compared_loaded(
        vec![compared_run("runs/a"), compared_run("runs/b")],
        Vec::new(),
    );
    assert_eq!(
        compared_in(jobs(&mut app)),
        [vec![std::path::PathBuf::from("runs/a"), "runs/b".into()]]
    );
}
