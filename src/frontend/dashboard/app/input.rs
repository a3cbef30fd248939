//! How keys (and termination signals) change the dashboard's state, and which commands they
//! send to the trainer. Every key is safe at any time: before data, while stopping, after the
//! end.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::run::record::EvalSplit;
use crate::signals::Signal;
use crate::train::Command;

use super::checkpoints::checkpoint_title;
use super::digits::PAGE;
use super::effect::ChartExport;
use super::keys::{action_for, is_ctrl_c, is_press, Action};
use super::{
    App, CheckpointPicker, Editor, Effect, Exit, Hit, LogKind, Overlay, Page, Pointer, Question,
    RunPicker,
};

impl App {
    /// Handles a key pressed without modifiers (see [`App::on_key`]).
    pub fn press(&mut self, code: KeyCode) -> Vec<Command> {
        self.on_key(super::keys::plain_key(code))
    }

    /// Handles a key; returns the commands to send to the trainer, in order.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if !is_press(&key) {
            return Vec::new();
        }
        self.flash = None;
        match std::mem::take(&mut self.overlay) {
            Overlay::None => action_for(&key, self.page).map_or_else(Vec::new, |a| self.act(a)),
            Overlay::Help => self.help_key(&key),
            Overlay::Confirm(question) => self.confirm_key(&key, question),
            Overlay::Edit(editor) => self.edit_key(&key, editor),
            Overlay::Runs(picker) => self.picker_key(&key, picker),
            Overlay::Checkpoints(picker) => self.checkpoint_key(&key, picker),
        }
    }

    /// Handles a termination signal: stop training, then close once the trainer has finished.
    pub fn on_signal(&mut self, signal: Signal) -> Vec<Command> {
        if self.signal.is_some() {
            return Vec::new();
        }
        self.signal = Some(signal);
        self.overlay = Overlay::None;
        if self.read_only.is_some() {
            // Nothing to stop: a watched run goes on in its own process.
            self.exit = Exit::Now;
            return Vec::new();
        }
        self.log.push(
            self.step_mark(),
            LogKind::Info,
            format!("signal {signal} received: stopping"),
        );
        self.quit_after_stop()
    }

    /// Carries out an action from the key map.
    pub fn act(&mut self, action: Action) -> Vec<Command> {
        if action == Action::SaveCheckpoint && self.unsaved().is_some() {
            self.flash = Some("writing the final weights again".into());
            return vec![Command::SaveCheckpoint];
        }
        if action.needs_trainer() && !self.accepts_commands() {
            self.say_ended();
            return Vec::new();
        }
        match action {
            Action::Help => self.overlay = Overlay::Help,
            Action::Quit => return self.request_quit(),
            Action::TogglePause => return self.toggle_pause(),
            Action::StepOnce => return self.step_once(),
            Action::EvaluateNow => {
                self.eval_pending = true;
                return vec![Command::EvaluateNow];
            }
            Action::EvaluateTest => {
                self.eval_pending = true;
                self.flash = Some("scoring the test set: the look is recorded".into());
                return vec![Command::EvaluateTest];
            }
            Action::SwitchDigitSet => self.switch_digit_set(),
            Action::Stop => self.ask(Question::Stop),
            Action::Rollback => self.ask(Question::Rollback),
            Action::SaveCheckpoint => return vec![Command::SaveCheckpoint],
            Action::NextSetting => self.selected = self.selected.cycled(true),
            Action::PreviousSetting => self.selected = self.selected.cycled(false),
            Action::Increase => return self.change_setting(true),
            Action::Decrease => return self.change_setting(false),
            Action::Edit => self.overlay = Overlay::Edit(Editor::new(self.selected)),
            Action::NextDigit if self.fed.is_on() => self.fed.move_by(1),
            Action::PreviousDigit if self.fed.is_on() => self.fed.move_by(-1),
            Action::NextDigit => self.browse(1),
            Action::PreviousDigit => self.browse(-1),
            Action::NextPage => self.browse(PAGE),
            Action::PreviousPage => self.browse(-PAGE),
            Action::NextMistake => self.mistake(true),
            Action::PreviousMistake => self.mistake(false),
            Action::ToggleWindow => self.chart.window = self.chart.window.toggled(),
            Action::ToggleSmoothing => self.chart.smoothed = !self.chart.smoothed,
            Action::Smooth(more) => self.chart.smooth(more),
            Action::ToggleLogScale => self.chart.log_loss = !self.chart.log_loss,
            Action::ToggleCursor => self.chart.toggle_cursor(),
            Action::MoveChartCursor(right) => self.chart.move_cursor(right),
            Action::ExportCharts => self.export_charts(),
            Action::PickRuns => self.pick_runs(),
            Action::PickCheckpoint => self.pick_checkpoint(),
            Action::ToggleFed => self.toggle_fed(),
            Action::ShowPage(page) => self.show_page(page),
            Action::MoveCell(rows, columns) if self.look.gallery().is_on() => {
                self.move_in_gallery(rows, columns);
            }
            Action::NextCellImage if self.look.gallery().is_on() => self.move_in_gallery(0, 1),
            Action::PreviousCellImage if self.look.gallery().is_on() => {
                self.move_in_gallery(0, -1);
            }
            Action::MoveCell(rows, columns) => self.look.move_cell(rows, columns),
            Action::NextCellImage => self.browse_cell(1),
            Action::PreviousCellImage => self.browse_cell(-1),
            Action::ToggleGallery => self.toggle_gallery(),
            Action::ToggleSaliency => self.look.toggle_saliency(),
            Action::ToggleLayer => self.look.toggle_layer(),
            Action::MoveCursor(dx, dy) => self.canvas.move_cursor(dx, dy),
            Action::TogglePen => self.canvas.toggle_pen(),
            Action::ClearCanvas => self.canvas.clear(),
            Action::SaveDrawing => self.save_drawing(),
            Action::MoveTrial(delta) => self.move_trial(delta),
            Action::ToggleTrial => self.toggle_trial(),
            Action::CycleSweepOrder => self.cycle_sweep_order(),
            Action::ClearOverlay => self.clear_overlay(),
        }
        Vec::new()
    }

    /// Handles the mouse, once the layout has said what the pointer is over.
    pub fn on_pointer(&mut self, pointer: Pointer) {
        if self.overlay != Overlay::None {
            return;
        }
        match pointer {
            Pointer::Press(Hit::Tab(page), _) => self.show_page(page),
            Pointer::Press(Hit::Cell(truth, predicted), _) if self.page == Page::Inspect => {
                self.look.select_cell(truth, predicted);
            }
            Pointer::Press(Hit::GalleryTile(position), _) if self.gallery_shown() => {
                self.look.gallery_mut().select(position);
            }
            Pointer::Press(Hit::Canvas(x, y), stroke) if self.page == Page::Draw => {
                self.canvas.stroke_to(x, y, stroke);
            }
            Pointer::Press(Hit::Trial(trial), _) if self.page == Page::Sweep => {
                self.trial_pressed(trial);
            }
            Pointer::Press(..) => {}
            Pointer::Release => {
                self.canvas.end_stroke();
                self.sweep_released();
            }
        }
    }

    /// Shows the worst-loss gallery in place of the confusion matrix, or the matrix again.
    fn toggle_gallery(&mut self) {
        let gallery = self.look.gallery_mut();
        gallery.toggle();
        if gallery.is_on() && gallery.ranking().is_empty() {
            self.flash =
                Some("the worst losses are ranked at the next evaluation of the shown set".into());
        }
    }

    fn move_in_gallery(&mut self, rows: isize, columns: isize) {
        if !self.look.gallery_mut().move_selection(rows, columns) {
            self.flash = Some("nothing ranked yet: it comes with the next evaluation".into());
        }
    }

    fn browse_cell(&mut self, delta: isize) {
        if self.look.confusion().is_none() {
            self.flash =
                Some("no confusion matrix yet: it comes with the first evaluation (t)".into());
        } else if !self.look.browse_cell(delta) {
            self.flash = Some("no test images in this cell".into());
        }
    }

    /// Shows the digits of the other held-out set. On the Inspect page the test set is shown
    /// only once it has been scored, so that its matrix is never an unasked look.
    fn switch_digit_set(&mut self) {
        let other = match self.digits.set() {
            EvalSplit::Validation => EvalSplit::Test,
            _ => EvalSplit::Validation,
        };
        if other == EvalSplit::Validation && !self.digits.has(other) {
            self.flash = Some("this run holds out no validation split (--validation N)".into());
            return;
        }
        let unscored = self.digits.evaluated_at_of(other).is_none();
        if self.page == Page::Inspect && other == EvalSplit::Test && unscored {
            self.flash = Some(
                "the test set is scored at the end, or now with T; until then only its images \
                 are on page 1"
                    .into(),
            );
            return;
        }
        if self.digits.show(other) {
            self.refresh_confusion();
            self.flash = Some(format!("showing the {} digits", other.name()));
        } else {
            self.flash = Some(format!(
                "the {} digits arrive when training starts",
                other.name()
            ));
        }
    }

    /// Queues the charts' export from the run's records into its folder.
    fn export_charts(&mut self) {
        let Some(run) = self.run_dir.clone() else {
            self.flash = Some("this run keeps no records to plot".into());
            return;
        };
        self.effects.push(Effect::ExportCharts(ChartExport {
            run,
            compared: self.compared.iter().map(|r| r.path.clone()).collect(),
            smoothing: self.chart.smoothing().unwrap_or(0.0),
            log_loss: self.chart.log_loss,
        }));
    }

    /// Switches the digit panel between the test digits and the images the trainer feeds the
    /// network; the latter need the trainer of this process.
    fn toggle_fed(&mut self) {
        if self.read_only.is_some() && !self.fed.is_on() {
            self.flash = Some(
                "the images fed to the network are seen only by the process that trains".into(),
            );
            return;
        }
        self.fed.toggle();
        if self.fed.is_on() {
            self.flash = Some(if self.config.train.augment.is_on() {
                "showing the training images as fed, augmented (f: test digits)".into()
            } else {
                "showing the training images as fed; augmentation is off (f: test digits)".into()
            });
        }
    }

    /// Queues the listing of the runs beside this one (under `run.dir` when this run keeps
    /// no folder); the picker opens when it arrives.
    fn pick_runs(&mut self) {
        let dir = self
            .run_dir
            .as_deref()
            .and_then(|run| run.parent())
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| self.config.run.dir.clone(), |p| p.to_path_buf());
        self.flash = Some(format!("listing the runs in {}", dir.display()));
        self.effects.push(Effect::ListRuns(dir));
    }

    /// Queues the listing of a watched run's checkpoints; the picker opens when it arrives.
    /// A live run's views follow its training, which the flash says.
    fn pick_checkpoint(&mut self) {
        let Some(run) = self.run_dir.clone() else {
            self.flash = Some("this run keeps no folder, so it has no checkpoints".into());
            return;
        };
        if self.read_only.is_none() {
            self.flash = Some(format!(
                "Inspect and Draw follow the weights in training; to look at a checkpoint: \
                 digitdash watch {}",
                run.display()
            ));
            return;
        }
        self.flash = Some("listing the run's checkpoints".into());
        self.effects.push(Effect::ListCheckpoints(run));
    }

    fn checkpoint_key(&mut self, key: &KeyEvent, mut picker: CheckpointPicker) -> Vec<Command> {
        match key.code {
            _ if is_ctrl_c(key) => return self.request_quit(),
            KeyCode::Esc | KeyCode::Char('q') => return Vec::new(),
            KeyCode::Enter => {
                let choice = picker.under_cursor();
                self.checkpoint_choice = choice;
                self.flash = Some(match choice {
                    Some(choice) => format!("loading the {}", checkpoint_title(choice)),
                    None => "back to the automatic choice: the best checkpoint once the run \
                             ended, the newest while it is written"
                        .into(),
                });
                return vec![Command::InspectCheckpoint(choice)];
            }
            KeyCode::Up | KeyCode::Char('k') => picker.move_cursor(-1),
            KeyCode::Down | KeyCode::Char('j') => picker.move_cursor(1),
            KeyCode::PageUp => picker.move_cursor(-10),
            KeyCode::PageDown => picker.move_cursor(10),
            _ => {}
        }
        self.overlay = Overlay::Checkpoints(picker);
        Vec::new()
    }

    fn picker_key(&mut self, key: &KeyEvent, mut picker: RunPicker) -> Vec<Command> {
        match key.code {
            _ if is_ctrl_c(key) => return self.request_quit(),
            KeyCode::Esc | KeyCode::Char('b' | 'q') => return Vec::new(),
            KeyCode::Enter => {
                self.flash = Some("reading the chosen runs".into());
                self.effects.push(Effect::LoadCompared(picker.chosen()));
                return Vec::new();
            }
            KeyCode::Up | KeyCode::Char('k') => picker.move_cursor(-1),
            KeyCode::Down | KeyCode::Char('j') => picker.move_cursor(1),
            KeyCode::PageUp => picker.move_cursor(-10),
            KeyCode::PageDown => picker.move_cursor(10),
            KeyCode::Char(' ') => {
                if let Err(message) = picker.toggle() {
                    self.flash = Some(message);
                }
            }
            _ => {}
        }
        self.overlay = Overlay::Runs(picker);
        Vec::new()
    }

    /// Queues the drawing, as the network sees it, to be written into the run folder.
    fn save_drawing(&mut self) {
        if self.canvas.is_blank() {
            self.flash = Some("nothing drawn yet".into());
            return;
        }
        let Some(dir) = self.run_dir.clone() else {
            self.flash = Some("this run keeps no folder to save drawings in".into());
            return;
        };
        self.effects.push(Effect::SaveDrawing {
            dir,
            pixels: self.canvas.as_mnist().to_vec(),
        });
    }

    fn help_key(&mut self, key: &KeyEvent) -> Vec<Command> {
        match key.code {
            _ if is_ctrl_c(key) => return self.request_quit(),
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {}
            _ => self.overlay = Overlay::Help,
        }
        Vec::new()
    }

    fn confirm_key(&mut self, key: &KeyEvent, question: Question) -> Vec<Command> {
        let yes = matches!(key.code, KeyCode::Char('y' | 'Y') | KeyCode::Enter);
        let no = matches!(key.code, KeyCode::Char('n' | 'N') | KeyCode::Esc);
        match question {
            _ if is_ctrl_c(key)
                && !matches!(
                    question,
                    Question::Quit | Question::QuitUnsaved | Question::QuitSweep
                ) =>
            {
                self.request_quit()
            }
            Question::Quit if yes || is_ctrl_c(key) => self.quit_after_stop(),
            Question::QuitUnsaved | Question::QuitSweep if yes || is_ctrl_c(key) => {
                self.exit = Exit::Now;
                Vec::new()
            }
            Question::QuitUnsaved if key.code == KeyCode::Char('c') => {
                self.act(Action::SaveCheckpoint)
            }
            Question::Stop if yes => self.send_stop(),
            Question::Rollback if yes => self.send_simple(Command::Rollback),
            _ => {
                if !no {
                    self.overlay = Overlay::Confirm(question);
                }
                Vec::new()
            }
        }
    }

    fn edit_key(&mut self, key: &KeyEvent, mut editor: Editor) -> Vec<Command> {
        match key.code {
            _ if is_ctrl_c(key) => return self.request_quit(),
            KeyCode::Esc => return Vec::new(),
            KeyCode::Enter => match self.settings.parse(editor.setting, &editor.text) {
                Ok(command) => return self.send_setting(command),
                Err(message) => editor.error = Some(message),
            },
            KeyCode::Backspace => editor.backspace(),
            KeyCode::Char(c) => editor.type_char(c),
            _ => {}
        }
        self.overlay = Overlay::Edit(editor);
        Vec::new()
    }

    fn request_quit(&mut self) -> Vec<Command> {
        if self.unsaved().is_some() && self.exit == Exit::Stay {
            self.ask(Question::QuitUnsaved);
        } else if self.sweep_training_here() {
            self.ask(Question::QuitSweep);
        } else if self.has_ended() || self.exit == Exit::AfterFinish || self.read_only.is_some() {
            self.exit = Exit::Now;
        } else if self.stop_sent {
            self.exit = Exit::AfterFinish;
            self.note_stopping();
        } else {
            self.ask(Question::Quit);
        }
        Vec::new()
    }

    fn ask(&mut self, question: Question) {
        self.overlay = Overlay::Confirm(question);
    }

    /// Closes now when training is over, or after the trainer (told to stop) finishes.
    fn quit_after_stop(&mut self) -> Vec<Command> {
        if self.has_ended() {
            self.exit = Exit::Now;
            return Vec::new();
        }
        self.exit = Exit::AfterFinish;
        self.send_stop()
    }

    fn send_stop(&mut self) -> Vec<Command> {
        if !self.accepts_commands() {
            return Vec::new();
        }
        self.stop_sent = true;
        self.note_stopping();
        vec![Command::Stop]
    }

    fn note_stopping(&mut self) {
        self.flash = Some("stopping: a final evaluation runs first (q again: quit at once)".into());
    }

    fn toggle_pause(&mut self) -> Vec<Command> {
        self.pause_wanted = !self.pause_wanted;
        vec![if self.pause_wanted {
            Command::Pause
        } else {
            Command::Resume
        }]
    }

    fn step_once(&mut self) -> Vec<Command> {
        if !self.paused {
            self.flash = Some("pause first (space); then . takes one step".into());
            return Vec::new();
        }
        vec![Command::StepOnce]
    }

    /// Sends `command` if the trainer still takes commands (it may have ended while a
    /// question was open); says why not otherwise.
    fn send_simple(&mut self, command: Command) -> Vec<Command> {
        if !self.accepts_commands() {
            self.say_ended();
            return Vec::new();
        }
        vec![command]
    }

    fn change_setting(&mut self, up: bool) -> Vec<Command> {
        match self.settings.stepped(self.selected, up) {
            Some(command) => self.send_setting(command),
            None => {
                self.flash = Some(format!("{} is at its limit", self.selected.label()));
                Vec::new()
            }
        }
    }

    fn send_setting(&mut self, command: Command) -> Vec<Command> {
        if !self.accepts_commands() || !self.settings.changes(command) {
            return Vec::new();
        }
        self.settings.request(command);
        vec![command]
    }

    fn browse(&mut self, delta: isize) {
        if self.digits.has_data() {
            self.digits.move_by(delta);
        } else {
            self.flash = Some("the test digits arrive when training starts".into());
        }
    }

    fn mistake(&mut self, forward: bool) {
        if !self.digits.jump_to_mistake(forward) {
            let text = if self.digits.evaluated_at().is_some() {
                "no misclassified digits"
            } else {
                "no predictions yet: they come with the first evaluation (t)"
            };
            self.flash = Some(text.into());
        }
    }

    fn say_ended(&mut self) {
        if let Some(reason) = &self.read_only {
            self.flash = Some(reason.clone());
            return;
        }
        self.flash = Some(if self.has_ended() {
            "training has ended".into()
        } else {
            "training is stopping".into()
        });
    }
}
