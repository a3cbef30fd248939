//! Drawing never panics and shows the run's state, or says the screen is too small, whatever
//! the size and state.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::{hit, render, MIN_HEIGHT, MIN_WIDTH};
use crate::config::Config;
use crate::data::{Split, IMAGE_PIXELS};
use crate::frontend::dashboard::app::{App, Hit};
use crate::run::record::RunStarted;
use crate::train::{Event, Started, StepStats};

fn app_with_data() -> App {
    let mut app = App::new(&Config::default());
    let split = Split::new(vec![200; 2 * IMAGE_PIXELS], vec![4, 2]).expect("valid split");
    let test = Arc::new(split);
    app.update(Event::Started(Started {
        run: RunStarted {
            train_images: 100,
            test_images: test.len(),
            validation_images: 0,
            threads: 1,
            first_step: 0,
            config: Config::default(),
        },
        test,
        validation: Default::default(),
        run_dir: None,
    }));
    for step in 1..=3 {
        app.update(Event::Step(StepStats {
            step,
            total_steps: 10,
            epoch: 0.1,
            loss: if step == 2 { f32::NAN } else { 1.0 },
            accuracy: 2.0,
            learning_rate: 1e-4,
            batch_size: 50,
            samples_per_sec: 0.0,
            train_seconds: 0.0,
        }));
    }
    app
}

#[test]
fn every_size_from_nothing_to_wide_shows_the_state_or_says_it_is_too_small() {
    let mut apps = vec![App::new(&Config::default()), app_with_data()];
    let mut with_help = app_with_data();
    with_help.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    apps.push(with_help);
    let mut asking = app_with_data();
    asking.on_key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE));
    apps.push(asking);
    let mut picking = app_with_data();
    picking.runs_listed(
        "runs".into(),
        Ok(
            crate::run::listing::list_runs(std::path::Path::new("no-such-folder"))
                .unwrap_or_default(),
        ),
    );
    apps.push(picking);
    for board in [true, false] {
        let mut sweeping = app_with_data();
        sweeping.follow_sweep("runs/s".into(), Some("runs/s/trial-000".into()));
        if board {
            let four = crate::frontend::dashboard::app::sweep::tests::four_trials();
            sweeping.sweep_read(Ok(four), Vec::new());
        }
        sweeping.on_key(KeyEvent::new(KeyCode::Char('5'), KeyModifiers::NONE));
        apps.push(sweeping);
    }
    for page in ['2', '3'] {
        for mut app in [App::new(&Config::default()), app_with_data()] {
            app.on_key(KeyEvent::new(KeyCode::Char(page), KeyModifiers::NONE));
            apps.push(app);
        }
    }
    for app in &apps {
        for width in (0..=140).step_by(7).chain([79, 80, 81]) {
            for height in (0..=50).step_by(5).chain([23, 24, 25]) {
                let area = Rect::new(0, 0, width, height);
                let mut buf = Buffer::empty(area);
                render(app, area, &mut buf);
                let text: String = buf.content().iter().map(|c| c.symbol()).collect();
                // Big enough, the status bar shows the run's state; smaller, the screen says
                // it is too small (once the message fits on a line).
                if width >= MIN_WIDTH && height >= MIN_HEIGHT {
                    assert!(
                        text.contains(app.state().label()),
                        "{width}x{height}: no {} in the status bar",
                        app.state().label()
                    );
                } else if width >= 18 && height >= 1 {
                    assert!(
                        text.contains("Terminal too small"),
                        "{width}x{height}: no notice"
                    );
                }
                // The pointer maps only to cells that exist on that screen.
                for (x, y) in [
                    (0, 0),
                    (width / 2, height / 2),
                    (width.saturating_sub(1), height.saturating_sub(1)),
                ] {
                    match hit(app, area, x, y) {
                        Some(Hit::Canvas(px, py)) => {
                            assert!((0.0..28.0).contains(&px) && (0.0..28.0).contains(&py));
                        }
                        Some(Hit::Trial(trial)) => assert!(trial < 4, "trial {trial}"),
                        _ => {}
                    }
                }
            }
        }
    }
}
