//! Whole-screen snapshots of the dashboard on ratatui's `TestBackend`, fed by a scripted run
//! (synthetic digits, fabricated events; no training). Review changes with `cargo insta review`
//! or `INSTA_UPDATE=always cargo test --test dashboard_screens` and a look at the `.snap` files.

mod common;

use std::time::Duration;

use common::script;

use digitdash::frontend::dashboard::app::App;
use digitdash::train::Event;
use ratatui::crossterm::event::KeyCode;

use script::screen;

fn feed(app: &mut App, events: Vec<Event>) {
    events.into_iter().for_each(|e| app.update(e));
}

/// 300 steps in, paused, showing a misclassified digit.
fn paused_after_300_steps() -> App {
    let mut app = App::new(&script::config());
    feed(&mut app, script::first_300_steps());
    feed(
        &mut app,
        vec![Event::Paused {
            paused: true,
            step: 0,
        }],
    );
    app.press(KeyCode::Char('m'));
    app.set_elapsed(Duration::from_secs(23));
    app
}

#[test]
fn first_frame_while_data_loads_80x24() {
    let mut app = App::new(&script::config());
    app.update(Event::Preparing("reading MNIST from /data/mnist".into()));
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn paused_run_80x24() {
    insta::assert_snapshot!(screen(&paused_after_300_steps(), 80, 24));
}

#[test]
fn paused_run_120x40() {
    insta::assert_snapshot!(screen(&paused_after_300_steps(), 120, 40));
}

#[test]
fn whole_run_smoothed_charts_while_running_120x40() {
    let mut app = App::new(&script::config());
    feed(&mut app, script::first_300_steps());
    app.press(KeyCode::Char('w'));
    app.press(KeyCode::Char('s'));
    app.set_elapsed(Duration::from_secs(19));
    insta::assert_snapshot!(screen(&app, 120, 40));
}

#[test]
fn typing_a_learning_rate_80x24() {
    let mut app = paused_after_300_steps();
    app.press(KeyCode::Enter);
    for c in "3e-4".chars() {
        app.press(KeyCode::Char(c));
    }
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn help_overlay_80x24() {
    let mut app = paused_after_300_steps();
    app.press(KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&app, 80, 24));
}

#[test]
fn quit_question_120x40() {
    let mut app = paused_after_300_steps();
    app.press(KeyCode::Char('q'));
    insta::assert_snapshot!(screen(&app, 120, 40));
}

#[test]
fn finished_run_stays_open_120x40() {
    let mut app = paused_after_300_steps();
    feed(
        &mut app,
        vec![
            Event::Paused {
                paused: false,
                step: 0,
            },
            script::evaluation(300, 0.9631),
            script::finished(300, 0.9631),
        ],
    );
    app.set_elapsed(Duration::from_secs(31));
    insta::assert_snapshot!(screen(&app, 120, 40));
}

#[test]
fn too_small_terminal_says_what_it_needs_60x20() {
    insta::assert_snapshot!(screen(&paused_after_300_steps(), 60, 20));
}

/// The Inspect page after 300 steps: the matrix of the evaluation at step 300 with a cell of
/// mistakes selected, the inspector's filters and feature maps, the occlusion overlay on.
fn inspecting_after_300_steps() -> App {
    let mut app = paused_after_300_steps();
    app.press(KeyCode::Char('2'));
    app.press(KeyCode::Down);
    app.press(KeyCode::Right);
    app.press(KeyCode::Char('o'));
    let index = app.shown_digit().expect("test digits").index;
    script::insights(index)
        .into_iter()
        .for_each(|i| app.inspected(i));
    app
}

#[test]
fn inspect_page_80x24() {
    insta::assert_snapshot!(screen(&inspecting_after_300_steps(), 80, 24));
}

#[test]
fn inspect_page_120x40() {
    insta::assert_snapshot!(screen(&inspecting_after_300_steps(), 120, 40));
}

/// The Draw page with a vertical stroke drawn by keyboard and the inspector's answer.
fn drawing_a_one() -> App {
    let mut app = paused_after_300_steps();
    app.press(KeyCode::Char('3'));
    for _ in 0..9 {
        app.press(KeyCode::Up);
    }
    app.press(KeyCode::Char(' '));
    for _ in 0..18 {
        app.press(KeyCode::Down);
    }
    let version = app.canvas().version();
    app.inspected(script::drawing_insight(version));
    app
}

#[test]
fn draw_page_80x24() {
    insta::assert_snapshot!(screen(&drawing_a_one(), 80, 24));
}

#[test]
fn draw_page_120x40() {
    insta::assert_snapshot!(screen(&drawing_a_one(), 120, 40));
}

#[test]
fn help_on_the_draw_page_lists_its_keys_80x24() {
    let mut app = drawing_a_one();
    app.press(KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&app, 80, 24));
}

/// The paused run with another run overlaid, the value cursor on.
fn compared_after_300_steps() -> App {
    let mut app = paused_after_300_steps();
    app.compare_with(script::compared_run());
    app.press(KeyCode::Char('w'));
    app.press(KeyCode::Char('<'));
    app.press(KeyCode::Char('<'));
    app
}

#[test]
fn charts_with_an_overlaid_run_80x24() {
    insta::assert_snapshot!(screen(&compared_after_300_steps(), 80, 24));
}

#[test]
fn charts_with_an_overlaid_run_120x40() {
    insta::assert_snapshot!(screen(&compared_after_300_steps(), 120, 40));
}

/// The run picker over the overlaid run: the overlaid run chosen, a damaged folder listed.
#[test]
fn run_picker_80x24() {
    use digitdash::run::listing::RunOverview;
    use digitdash::run::status::RunStatus;
    let mut app = compared_after_300_steps();
    let run = |name: &str, status: RunStatus, steps: u64, best: Option<f64>| RunOverview {
        name: name.into(),
        path: format!("runs/{name}").into(),
        started_at: None,
        status,
        steps_done: steps,
        total_steps: Some(20_000),
        validation_images: 5_000,
        best_accuracy: best,
        final_test_accuracy: best,
        test_looks: 1,
        wall_seconds: None,
        train_settings: Default::default(),
        differences: Vec::new(),
        latest_layers: None,
    };
    app.runs_listed(
        "runs".into(),
        Ok(vec![
            run("20261130-090000", RunStatus::Finished, 20_000, Some(0.9921)),
            run("20261201-120000", RunStatus::Stopped, 300, Some(0.968)),
            run(
                "scratch",
                RunStatus::Damaged {
                    reason: "metrics.csv is missing".into(),
                },
                0,
                None,
            ),
        ]),
    );
    insta::assert_snapshot!(screen(&app, 80, 24));
}

/// The digit panel showing the images fed at the latest step (`f`), augmentation on.
#[test]
fn fed_images_80x24() {
    let mut config = script::config();
    config.train.augment = digitdash::augment::AugmentConfig {
        shift: 2.0,
        rotate: 10.0,
        scale: 0.1,
        elastic_alpha: 34.0,
        elastic_sigma: 4.0,
    };
    let mut app = App::new(&config);
    feed(&mut app, script::first_300_steps());
    app.press(KeyCode::Char('f'));
    let images = [script::digit_image(7), script::digit_image(2)].concat();
    let split = digitdash::data::Split::new(images, vec![7, 2]).unwrap();
    app.update(Event::Batch(digitdash::train::TrainingBatch {
        step: 300,
        images: std::sync::Arc::new(split),
    }));
    app.press(KeyCode::Right);
    app.set_elapsed(Duration::from_secs(23));
    insta::assert_snapshot!(screen(&app, 80, 24));
}

/// A run with the tutorial's validation split: its chart is validation accuracy with the one
/// look at the test set (`T`) marked and counted; the Inspect page shows the validation
/// matrix, and `d` switches it to the test set once that has been scored.
#[test]
fn validation_chart_with_a_test_look_and_the_switch_to_the_test_set_120x40() {
    use digitdash::run::record::{EvalSplit, RunStarted};
    use digitdash::train::{Evaluation, Started};
    let mut config = script::config();
    config.data.validation = Some(5_000);
    let mut app = App::new(&config);
    let images = script::test_split();
    app.update(Event::Started(Started {
        run: RunStarted {
            train_images: 55_000,
            test_images: images.len(),
            validation_images: images.len(),
            threads: 2,
            first_step: 0,
            config: config.clone(),
        },
        test: images.clone(),
        validation: images,
        run_dir: None,
    }));
    let evaluation = |split, step, accuracy| {
        Event::Evaluation(Evaluation {
            split,
            checkpoint: None,
            step,
            accuracy,
            loss: (1.0 - accuracy) * 3.0,
            seconds: 2.4,
            probabilities: script::probabilities(),
        })
    };
    for n in 1..=300 {
        app.update(script::step(n, 1e-4));
        if n % 100 == 0 {
            let accuracy = [0.915, 0.951, 0.9652][(n / 100 - 1) as usize];
            app.update(evaluation(EvalSplit::Validation, n, accuracy));
        }
        if n == 250 {
            app.update(evaluation(EvalSplit::Test, n, 0.9577));
        }
    }
    app.set_elapsed(Duration::from_secs(31));
    insta::assert_snapshot!("validation_training_page_120x40", screen(&app, 120, 40));
    app.press(KeyCode::Char('2'));
    assert_eq!(app.digits().set(), EvalSplit::Validation);
    app.press(KeyCode::Char('d'));
    assert_eq!(
        app.digits().set(),
        EvalSplit::Test,
        "scored at step 250: shown"
    );
    insta::assert_snapshot!("validation_inspect_test_set_120x40", screen(&app, 120, 40));
}

/// The Layers page after 300 steps with statistics every 10 steps.
fn layers_after_300_steps() -> App {
    let mut app = paused_after_300_steps();
    feed(
        &mut app,
        (1..=30).map(|k| script::layer_stats(k * 10)).collect(),
    );
    app.press(KeyCode::Char('4'));
    app
}

#[test]
fn layers_page_80x24() {
    insta::assert_snapshot!(screen(&layers_after_300_steps(), 80, 24));
}

#[test]
fn layers_page_120x40() {
    insta::assert_snapshot!(screen(&layers_after_300_steps(), 120, 40));
}

#[test]
fn layers_page_before_any_statistics_80x24() {
    let mut app = paused_after_300_steps();
    app.press(KeyCode::Char('4'));
    insta::assert_snapshot!(screen(&app, 80, 24));
}

/// `watch` on a sweep: the Sweep page over the paused run standing in for trial-000 (the
/// best), trial-003 overlaid, the cursor on trial-004.
fn watching_a_sweep() -> App {
    let mut app = paused_after_300_steps();
    let dir = "runs/sweep-20261206-101500";
    app.follow_sweep(dir.into(), Some(format!("{dir}/trial-000").into()));
    app.sweep_read(Ok(script::sweep_board(dir)), Vec::new());
    let mut trial = script::compared_run();
    trial.name = "trial-003".into();
    trial.path = format!("{dir}/trial-003").into();
    app.compared_loaded(vec![trial], Vec::new());
    app.press(KeyCode::Char('5'));
    for _ in 0..3 {
        app.press(KeyCode::Down);
    }
    app
}

#[test]
fn sweep_page_80x24() {
    insta::assert_snapshot!(screen(&watching_a_sweep(), 80, 24));
}

#[test]
fn sweep_page_120x40() {
    insta::assert_snapshot!(screen(&watching_a_sweep(), 120, 40));
}

/// The sweep's trial overlaid, seen on the Training page; the tab bar lists page 5.
#[test]
fn sweep_trial_overlaid_on_the_charts_120x40() {
    let mut app = watching_a_sweep();
    app.press(KeyCode::Char('1'));
    insta::assert_snapshot!(screen(&app, 120, 40));
}

/// The Inspect page with the worst-loss gallery on and its second-worst image selected: the
/// scripted model's two mistakes come first, then the images it is least sure of.
fn worst_losses_after_300_steps() -> App {
    let mut app = paused_after_300_steps();
    app.press(KeyCode::Char('2'));
    app.press(KeyCode::Char('g'));
    app.press(KeyCode::Right);
    let index = app.shown_digit().expect("a gallery image").index;
    script::insights(index)
        .into_iter()
        .for_each(|i| app.inspected(i));
    app
}

#[test]
fn worst_loss_gallery_shows_the_mistakes_first_and_the_selection_in_the_viewer() {
    let app = worst_losses_after_300_steps();
    let (first, second) = (script::WRONG[0], script::WRONG[1]);
    assert_eq!(app.shown_digit().map(|d| d.index), Some(second.0));
    let text = script::render(&app, 80, 24);
    let caption = |(index, guess): (usize, u8)| format!("{}→{guess} 61%", script::LABELS[index]);
    assert!(text.contains(&caption(first)), "{text}");
    assert!(text.contains(&caption(second)), "{text}");
    assert!(text.contains("#2, loss 1.17"), "{text}");
    assert!(text.contains("1–12 of 20"), "{text}");
}

#[test]
fn worst_loss_gallery_80x24() {
    insta::assert_snapshot!(screen(&worst_losses_after_300_steps(), 80, 24));
}

#[test]
fn worst_loss_gallery_120x40() {
    insta::assert_snapshot!(screen(&worst_losses_after_300_steps(), 120, 40));
}

/// The checkpoint picker (`k`) of a watched run: the automatic choice in force, the cursor
/// on the best checkpoint.
#[test]
fn checkpoint_picker_80x24() {
    use digitdash::run::CheckpointKind::{Best, Periodic};
    use digitdash::train::CheckpointChoice;
    let mut app = App::watching(&script::config(), "watching a run another process trains");
    feed(&mut app, script::first_300_steps());
    app.press(KeyCode::Char('2'));
    let at = |kind, step| CheckpointChoice { kind, step };
    app.checkpoints_listed(vec![
        at(Periodic, 100),
        at(Periodic, 200),
        at(Periodic, 300),
        at(Best, 200),
    ]);
    app.press(KeyCode::Down);
    app.press(KeyCode::Down);
    insta::assert_snapshot!(screen(&app, 80, 24));
}

/// The Draw page of a run with two others overlaid: each run's prediction for the drawing in
/// its chart colour, one of them without a checkpoint to ask.
#[test]
fn draw_page_comparing_runs_120x40() {
    use digitdash::frontend::dashboard::app::{ComparedPrediction, DrawingInsight, Insight};
    let mut app = drawing_a_one();
    let mut other = script::compared_run();
    app.compare_with(script::compared_run());
    other.name = "20261202-080000".into();
    other.path = "runs/20261202-080000".into();
    app.compare_with(other);
    let mut seven = vec![0.01f32; 10];
    seven[7] = 0.91;
    app.inspected(Insight::Drawing(DrawingInsight {
        version: app.canvas().version(),
        step: 300,
        probabilities: {
            let mut one = vec![0.005f32; 10];
            one[1] = 0.955;
            one
        },
        compared: vec![
            ComparedPrediction {
                run: "runs/20261201-120000".into(),
                probabilities: Ok(seven),
            },
            ComparedPrediction {
                run: "runs/20261202-080000".into(),
                probabilities: Err("no checkpoint yet".into()),
            },
        ],
    }));
    insta::assert_snapshot!(screen(&app, 120, 40));
}
