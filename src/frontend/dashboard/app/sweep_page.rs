//! How the app follows a sweep: its folder read again on a timer, the Sweep page's keys and
//! clicks, and trials put on the charts as compared runs (the overlay of `--compare` and the
//! run picker), so the chosen trials are exactly the runs overlaid.

use std::path::{Path, PathBuf};

use super::sweep::{has_curves, still_growing, SweepView};
use super::{App, ComparedRun, Effect, Page};
use crate::sweep::SweepBoard;

impl App {
    /// Follows the sweep in `dir` on the Sweep page (its tab appears); `shown` is the trial
    /// folder the other pages show, if any. The folder is read with the next frame.
    pub fn follow_sweep(&mut self, dir: PathBuf, shown: Option<PathBuf>) {
        self.sweep = Some(SweepView::new(dir, shown));
    }

    /// Follows the sweep in `dir` that this process trains: as [`App::follow_sweep`], and
    /// quitting asks first while a trial has not ended, as the trials stop with it.
    pub fn follow_sweep_training(&mut self, dir: PathBuf) {
        self.sweep = Some(SweepView::new(dir, None).trained_here());
    }

    /// Whether this process trains the followed sweep and it has trials left to train.
    pub fn sweep_training_here(&self) -> bool {
        self.sweep.as_ref().is_some_and(SweepView::training_here)
    }

    /// The sweep followed, if any.
    pub fn sweep(&self) -> Option<&SweepView> {
        self.sweep.as_ref()
    }

    /// The pages with a tab: the Sweep page only while a sweep is followed.
    pub fn pages(&self) -> Vec<Page> {
        Page::ALL
            .into_iter()
            .filter(|&page| page != Page::Sweep || self.sweep.is_some())
            .collect()
    }

    /// Whether the run in `path` is overlaid on the charts.
    pub fn is_overlaid(&self, path: &Path) -> bool {
        self.compared.iter().any(|run| run.path == path)
    }

    /// The read of the sweep's folder, when one is due.
    pub(super) fn sweep_read_due(&mut self) -> Option<Effect> {
        let now = self.elapsed;
        let view = self.sweep.as_mut()?;
        if !view.read_due(now) {
            return None;
        }
        let growing: Vec<PathBuf> = view
            .rows()
            .into_iter()
            .filter(|row| still_growing(row))
            .map(|row| view.trial_path(row))
            .collect();
        let reload = self
            .compared
            .iter()
            .filter(|run| growing.contains(&run.path))
            .map(|run| run.path.clone())
            .collect();
        Some(Effect::ReadSweep {
            dir: view.dir().to_path_buf(),
            reload,
        })
    }

    /// Takes in a read of the sweep's folder (or why it failed) and the overlaid trials read
    /// again, which replace their older curves in place, colours kept.
    pub fn sweep_read(&mut self, board: Result<SweepBoard, String>, reloaded: Vec<ComparedRun>) {
        if let Some(view) = &mut self.sweep {
            view.read(board);
        }
        for mut run in reloaded {
            if let Some(old) = self.compared.iter_mut().find(|r| r.path == run.path) {
                run.colour = old.colour;
                *old = run;
            }
        }
    }

    /// Opens `page`; the Sweep page says how to get one when no sweep is followed.
    pub(super) fn show_page(&mut self, page: Page) {
        if page == Page::Sweep && self.sweep.is_none() {
            self.flash =
                Some("no sweep here: `digitdash watch SWEEP_DIR` opens one on page 5".into());
            return;
        }
        self.page = page;
    }

    /// Moves the Sweep page's cursor.
    pub(super) fn move_trial(&mut self, delta: isize) {
        if let Some(view) = &mut self.sweep {
            view.move_cursor(delta);
        }
    }

    /// Lists the trials in the next order.
    pub(super) fn cycle_sweep_order(&mut self) {
        if let Some(view) = &mut self.sweep {
            view.cycle_order();
            self.flash = Some(format!("trials by {}", view.order().label()));
        }
    }

    /// Takes every compared run off the charts.
    pub(super) fn clear_overlay(&mut self) {
        self.flash = Some(match self.compared.len() {
            0 => "nothing is overlaid".into(),
            n => format!(
                "took {} off the charts",
                crate::output::counted(n as u64, "run")
            ),
        });
        self.compared.clear();
    }

    /// Queues the overlay of the trial under the cursor, or its removal; says why when it
    /// cannot be overlaid.
    pub(super) fn toggle_trial(&mut self) {
        let Some(view) = &self.sweep else {
            return;
        };
        let Some(row) = view.cursor_row() else {
            self.flash = Some("no trials yet".into());
            return;
        };
        let path = view.trial_path(row);
        if view.shown() == Some(path.as_path()) {
            self.flash = Some(format!(
                "{} is the run pages 1-4 show: its curves are the charts' own",
                row.name
            ));
            return;
        }
        let mut paths: Vec<PathBuf> = self.compared.iter().map(|r| r.path.clone()).collect();
        if let Some(at) = paths.iter().position(|p| *p == path) {
            paths.remove(at);
        } else if has_curves(row) {
            paths.push(path);
        } else {
            self.flash = Some(format!("{} has not started: no curves yet", row.name));
            return;
        }
        self.flash = Some(format!("reading {}", row.name));
        self.effects.push(Effect::LoadCompared(paths));
    }

    /// A press of the mouse on trial `trial`'s row: a click puts the cursor there and
    /// overlays it (or takes it off); a drag only moves the cursor.
    pub(super) fn trial_pressed(&mut self, trial: usize) {
        let Some(view) = &mut self.sweep else {
            return;
        };
        view.point_at(trial);
        if view.press() {
            self.toggle_trial();
        }
    }

    /// The mouse button was let go.
    pub(super) fn sweep_released(&mut self) {
        if let Some(view) = &mut self.sweep {
            view.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use ratatui::crossterm::event::KeyCode;

    use super::super::series::Series;
    use super::super::sweep::tests::four_trials;
    use super::super::{Hit, Pointer, Stroke};
    use super::*;
    use crate::config::Config;
    use crate::frontend::dashboard::app::{Overlay, Question};
    use crate::sweep::TrialStatus;

    /// A dashboard following the sweep in `runs/s`, trial 0 on pages 1-4, on the Sweep page.
    fn app() -> App {
        let mut app = App::new(&Config::default());
        app.follow_sweep("runs/s".into(), Some("runs/s/trial-000".into()));
        app.sweep_read(Ok(four_trials()), Vec::new());
        app.press(KeyCode::Char('5'));
        app
    }

    #[test]
    fn quitting_the_sweep_trained_here_asks_while_trials_are_left() {
        let mut app = App::watching(&Config::default(), "the sweep trains here");
        app.follow_sweep_training("runs/s".into());
        app.sweep_read(Ok(four_trials()), Vec::new());
        app.press(KeyCode::Char('q'));
        assert_eq!(app.overlay(), &Overlay::Confirm(Question::QuitSweep));
        let text = app.question_text(Question::QuitSweep);
        assert!(text.contains("digitdash sweep --resume runs/s"), "{text}");
        app.press(KeyCode::Char('n'));
        assert!(!app.should_quit());
        app.press(KeyCode::Char('q'));
        app.press(KeyCode::Char('y'));
        assert!(app.should_quit());

        // Every trial ended: q quits at once.
        let mut app = App::watching(&Config::default(), "the sweep trains here");
        app.follow_sweep_training("runs/s".into());
        let mut ended = four_trials();
        for row in &mut ended.trials {
            row.status = TrialStatus::Finished;
        }
        app.sweep_read(Ok(ended), Vec::new());
        app.press(KeyCode::Char('q'));
        assert!(app.should_quit());

        // Watched from elsewhere, nothing stops with the dashboard: no question.
        let mut app = App::watching(&Config::default(), "watching");
        app.follow_sweep("runs/s".into(), None);
        app.sweep_read(Ok(four_trials()), Vec::new());
        app.press(KeyCode::Char('q'));
        assert!(app.should_quit());
    }

    fn run(path: &str, first_loss: f32) -> ComparedRun {
        let mut loss = Series::default();
        loss.push(first_loss);
        ComparedRun {
            name: Path::new(path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into(),
            path: path.into(),
            loss,
            accuracy: Series::default(),
            evaluations: Vec::new(),
            config: None,
            colour: 0,
        }
    }

    /// The paths of the runs the queued effects ask to overlay, if they ask.
    fn overlay_asked(app: &mut App) -> Option<Vec<PathBuf>> {
        app.take_effects().into_iter().find_map(|e| match e {
            Effect::LoadCompared(paths) => Some(paths),
            _ => None,
        })
    }

    #[test]
    fn the_sweep_page_exists_only_while_a_sweep_is_followed() {
        let mut plain = App::new(&Config::default());
        assert!(!plain.pages().contains(&Page::Sweep));
        plain.press(KeyCode::Char('5'));
        assert_eq!(plain.page(), Page::Training);
        assert!(plain.flash().unwrap().contains("digitdash watch SWEEP_DIR"));
        let app = app();
        assert_eq!(app.page(), Page::Sweep);
        assert_eq!(app.pages().len(), 5);
    }

    #[test]
    fn space_overlays_the_trial_under_the_cursor_and_takes_it_off() {
        let mut app = app();
        let _ = app.take_effects();
        // The cursor starts on the best so far, trial 1.
        app.press(KeyCode::Char(' '));
        let one = PathBuf::from("runs/s/trial-001");
        assert_eq!(overlay_asked(&mut app), Some(vec![one.clone()]));
        app.compared_loaded(vec![run("runs/s/trial-001", 1.0)], Vec::new());
        assert!(app.is_overlaid(&one));
        app.press(KeyCode::Char('j'));
        app.press(KeyCode::Enter);
        let zero = overlay_asked(&mut app);
        assert_eq!(zero, None, "trial 0 is the run on pages 1-4");
        assert!(
            app.flash().unwrap().contains("pages 1-4"),
            "{:?}",
            app.flash()
        );
        app.press(KeyCode::Down);
        app.press(KeyCode::Down);
        app.press(KeyCode::Char(' '));
        assert_eq!(overlay_asked(&mut app), None);
        assert!(app.flash().unwrap().contains("has not started"));
        app.press(KeyCode::PageUp);
        app.press(KeyCode::Char(' '));
        assert_eq!(overlay_asked(&mut app), Some(Vec::new()), "off again");
        app.press(KeyCode::Backspace);
        assert!(app.compared().is_empty());
    }

    #[test]
    fn a_click_overlays_once_and_a_drag_only_moves_the_cursor() {
        let mut app = app();
        let _ = app.take_effects();
        app.on_pointer(Pointer::Press(Hit::Trial(3), Stroke::Draw));
        let three = PathBuf::from("runs/s/trial-003");
        assert_eq!(overlay_asked(&mut app), Some(vec![three]));
        app.on_pointer(Pointer::Press(Hit::Trial(1), Stroke::Draw));
        assert_eq!(overlay_asked(&mut app), None, "a drag");
        assert_eq!(app.sweep().unwrap().cursor_row().unwrap().trial, 1);
        app.on_pointer(Pointer::Release);
        app.on_pointer(Pointer::Press(Hit::Trial(1), Stroke::Draw));
        assert!(overlay_asked(&mut app).is_some());
    }

    #[test]
    fn the_folder_is_read_every_interval_with_the_overlaid_trials_that_still_train() {
        let mut app = app();
        app.compared_loaded(
            vec![run("runs/s/trial-001", 1.0), run("runs/s/trial-003", 1.0)],
            Vec::new(),
        );
        let reads = |app: &mut App| -> Vec<Vec<PathBuf>> {
            app.take_effects()
                .into_iter()
                .filter_map(|e| match e {
                    Effect::ReadSweep { dir, reload } => {
                        assert_eq!(dir, Path::new("runs/s"));
                        Some(reload)
                    }
                    _ => None,
                })
                .collect()
        };
        assert_eq!(reads(&mut app), [vec![PathBuf::from("runs/s/trial-001")]]);
        app.set_elapsed(Duration::from_millis(500));
        assert!(reads(&mut app).is_empty());
        app.set_elapsed(Duration::from_secs(1));
        assert_eq!(reads(&mut app).len(), 1);
        // The trial read again replaces its curves in place, in its colour.
        let colour = app.compared()[0].colour;
        app.sweep_read(Ok(four_trials()), vec![run("runs/s/trial-001", 0.5)]);
        assert_eq!(app.compared().len(), 2);
        assert_eq!(app.compared()[0].loss.latest(), Some(0.5));
        assert_eq!(app.compared()[0].colour, colour);
        app.press(KeyCode::Char('s'));
        assert_eq!(
            app.sweep().unwrap().order(),
            super::super::SweepOrder::Trial
        );
        assert!(app.flash().unwrap().contains("trial number"));
    }
}
