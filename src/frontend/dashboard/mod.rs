//! The dashboard's frame loop: drain the trainer's events, draw, wait for a key or the next
//! frame, repeat. The trainer never waits for it: events come over an unbounded channel and
//! are taken with `try_iter`, commands go back without blocking.
//!
//! Frames come 5 times a second while training runs and only when something changed;
//! when paused or finished, the loop wakes four times a second (once a second for the clock).
//! The dashboard's threads run at a lower priority than training (see [`crate::priority`]).
//! Keys arrive from the [`input`] thread. If the terminal goes away (drawing fails), the run is
//! treated as hung up: the trainer is told to stop and the program exits with 128 + SIGHUP once
//! it has finished.
//!
//! A termination signal stops the trainer the same way. A second one does not kill the process
//! from its handler while the dashboard holds the terminal: the frame loop sees it within a
//! frame, gives the terminal back and the program exits with 128 + that signal at once.

pub mod app;
pub mod compared_runs;
pub mod effects;
pub mod input;
pub mod inspector;
pub mod sweep_reader;
pub mod terminal;
pub mod ui;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use flume::Receiver;
use ratatui::crossterm::event::{Event as InputEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use crate::output::{self, note, StdoutLines};
use crate::signals::{Signal, Signals};
use crate::source::{End, Pump, Source};
use crate::train::{Command, Event, Outcome, Summary};
use app::{App, Insight, Phase, Pointer, Stroke};
use inspector::Inspector;
use sweep_reader::SweepReader;
use terminal::{Screen, TerminalGuard};

/// Time between frames while training runs (5 a second): smooth enough for charts that move
/// by tens of steps a second, and every frame is CPU taken from the training threads on a
/// small machine (at 10 a second, a dashboard on a 2-vCPU machine held the workers up for
/// twice as long; README, Dashboard). Keys, the mouse and answers of the inspector are drawn
/// at once, not at the next frame.
const BUSY_FRAME: Duration = Duration::from_millis(200);
/// Time between wake-ups while paused or finished.
const IDLE_FRAME: Duration = Duration::from_millis(250);

/// How the dashboard judges the run.
#[derive(Debug, Clone, Copy, Default)]
pub struct DashboardOptions {
    /// Final test accuracy below which the run counts as failed.
    pub fail_under: Option<f64>,
}

/// Shows the dashboard over a running trainer until the user quits (or a termination signal
/// arrives), then restores the terminal, prints the summary, and says how the run ended.
///
/// A second termination signal ends the dashboard at once: the terminal is restored and the
/// outcome is [`Outcome::Interrupted`] by that signal, without waiting for the trainer.
pub fn run(
    handle: impl Source,
    mut app: App,
    options: DashboardOptions,
    signals: Arc<Signals>,
) -> Result<Outcome> {
    // The trainer (or a sweep's trials, or a replay) runs on threads started before. This
    // thread never trains nor uses rayon's global pool, so the pool starts on one of those at
    // their priority; this one goes below them, and the keyboard, inspector and sweep reader
    // threads it starts inherit that.
    crate::priority::yield_to_training();
    // From here until the terminal is given back, a second signal is ours to handle.
    signals.defer_second(true);
    // Notes from other threads wait until the terminal is back (see `output::note`).
    let held = output::HeldNotes::hold();
    let entered = TerminalGuard::enter().context("cannot set up the terminal");
    let looped = entered.and_then(|(guard, mut screen)| {
        let looped = input::spawn()
            .context("cannot start the keyboard thread")
            .and_then(|keys| frame_loop(&mut screen, &handle, &keys, &mut app, &signals));
        drop(screen);
        drop(guard);
        looped
    });
    drop(held);
    // The terminal is restored: a later second signal may exit from its handler. One that
    // came before this line was recorded, and is acted on here.
    signals.defer_second(false);
    looped?;
    if let Some(second) = signals.second() {
        let outcome = Outcome::Interrupted {
            signal: second,
            summary: current_summary(&app),
        };
        note(format!("signal {second} again: quitting at once"));
        print_ending(&app, &outcome);
        return Ok(outcome);
    }
    let outcome = outcome(&app, options);
    print_ending(&app, &outcome);
    if app.has_ended() {
        handle.join();
    }
    Ok(outcome)
}

/// Runs frames until the app says to quit.
fn frame_loop(
    screen: &mut Screen,
    handle: &impl Source,
    keys: &Receiver<InputEvent>,
    app: &mut App,
    signals: &Signals,
) -> Result<()> {
    let inspector = Inspector::spawn().context("cannot start the inspector thread")?;
    let sweeps = SweepReader::spawn().context("cannot start the thread that reads sweeps")?;
    let mut pump = Pump::default();
    let start = Instant::now();
    let mut dirty = true;
    let mut shown_second = None;
    let mut terminal_lost = false;
    let mut area = Rect::default();
    loop {
        if signals.second().is_some() {
            return Ok(());
        }
        if let Some(received) = signals.first() {
            if app.signal().is_none() {
                send(handle, app.on_signal(received));
                dirty = true;
            }
        }
        let drained = drain(&mut pump, handle, &inspector, app);
        dirty |= drained.any;
        if app.should_quit() {
            return Ok(());
        }
        app.set_elapsed(start.elapsed());
        send(handle, app.tick());
        dirty |= effects::carry_out(app, &inspector, &sweeps);
        for insight in inspector.insights.try_iter() {
            app.inspected(insight);
            dirty = true;
        }
        for read in sweeps.reads.try_iter() {
            app.sweep_read(read.board, read.runs);
            dirty = true;
        }
        let second = app.elapsed().as_secs();
        if !terminal_lost && (dirty || shown_second != Some(second)) {
            let drawn = terminal::draw_frame(screen, |frame| {
                area = frame.area();
                ui::draw(frame, app);
            });
            app.set_gallery_columns(ui::gallery_columns(area));
            if let Err(error) = drawn {
                if app.signal().is_none() && !lost(&error) {
                    return Err(error).context("cannot draw the dashboard");
                }
                terminal_lost = true;
                send(handle, app.on_signal(Signal::HANGUP));
            }
            dirty = false;
            shown_second = Some(second);
        }
        let frame = if drained.more {
            // Only a look at the keys before taking in the rest.
            Duration::ZERO
        } else if app.is_busy() {
            BUSY_FRAME
        } else {
            IDLE_FRAME
        };
        dirty |= wait_for_input(keys, &inspector, handle, app, frame, area);
    }
}

/// Whether a drawing error means the terminal is gone (its pty closed).
fn lost(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof
    ) || error.raw_os_error() == Some(5) // EIO: the terminal hung up
}

/// How long one drain keeps taking events while they keep coming (a run read back from its
/// folder streams them through a bounded channel) before the frame is drawn.
const DRAIN_BUDGET: Duration = Duration::from_millis(40);
/// How long a drain waits for the next event of a stream before it counts as done (longer
/// than a replay's pause while its reader catches up).
const DRAIN_GAP: Duration = Duration::from_millis(5);

/// What one drain took in.
struct Drained {
    /// Whether there were any events.
    any: bool,
    /// Whether events were still coming when the drain's time ran out.
    more: bool,
}

/// Takes in every event waiting, and those that follow within [`DRAIN_GAP`] of each other for
/// up to [`DRAIN_BUDGET`]; new weights go to the inspector too.
fn drain(pump: &mut Pump, handle: &impl Source, inspector: &Inspector, app: &mut App) -> Drained {
    let began = Instant::now();
    let mut wait = Duration::ZERO;
    let mut drained = Drained {
        any: false,
        more: false,
    };
    loop {
        let taken = pump.pull(handle, wait, &mut |event| {
            if let Event::Weights(weights) = &event {
                inspector.weights(weights.step, Arc::clone(&weights.model));
            }
            app.update(event);
        });
        drained.any |= taken > 0;
        if taken == 0 || pump.end().is_some() {
            break;
        }
        if began.elapsed() >= DRAIN_BUDGET {
            drained.more = true;
            break;
        }
        wait = DRAIN_GAP;
    }
    if let Some(End::Vanished { .. }) = pump.end() {
        app.trainer_vanished();
    }
    drained
}

/// What ended a wait for input.
enum Wake {
    /// A key, a mouse event or a resize.
    Input(InputEvent),
    /// An answer of the inspector.
    Insight(Insight),
    /// The frame's time ran out.
    Timeout,
    /// A channel closed: no more input (or answers) will come.
    Closed,
}

/// Waits up to `frame` for input or an answer of the inspector, and handles all that came.
/// `area` is the screen as last drawn, for the mouse. Returns whether to redraw.
fn wait_for_input(
    keys: &Receiver<InputEvent>,
    inspector: &Inspector,
    handle: &impl Source,
    app: &mut App,
    frame: Duration,
    area: Rect,
) -> bool {
    let wake = flume::Selector::new()
        .recv(keys, |r| r.map_or(Wake::Closed, Wake::Input))
        .recv(&inspector.insights, |r| {
            r.map_or(Wake::Closed, Wake::Insight)
        })
        .wait_timeout(frame)
        .unwrap_or(Wake::Timeout);
    let first = match wake {
        Wake::Input(event) => event,
        Wake::Insight(insight) => {
            app.inspected(insight);
            return true;
        }
        Wake::Timeout => return false,
        Wake::Closed => {
            // No keyboard (or no inspector) any more: keep the frame rhythm without it.
            std::thread::sleep(frame);
            return false;
        }
    };
    let mut redraw = false;
    for event in std::iter::once(first).chain(keys.try_iter()) {
        match event {
            InputEvent::Key(key) => {
                send(handle, app.on_key(key));
                redraw = true;
            }
            InputEvent::Mouse(mouse) => redraw |= on_mouse(app, mouse, area),
            InputEvent::Resize(..) => redraw = true,
            _ => {}
        }
    }
    redraw
}

/// Hands a mouse event to the app as what it is over. Returns whether to redraw.
fn on_mouse(app: &mut App, mouse: MouseEvent, area: Rect) -> bool {
    let stroke = match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) | MouseEventKind::Drag(MouseButton::Left) => {
            Stroke::Draw
        }
        MouseEventKind::Down(MouseButton::Right) | MouseEventKind::Drag(MouseButton::Right) => {
            Stroke::Erase
        }
        MouseEventKind::Up(_) => {
            app.on_pointer(Pointer::Release);
            return false;
        }
        _ => return false,
    };
    match ui::hit(app, area, mouse.column, mouse.row) {
        Some(hit) => {
            app.on_pointer(Pointer::Press(hit, stroke));
            true
        }
        None => false,
    }
}

/// Sends commands to the trainer; a trainer that has ended simply does not get them.
fn send(handle: &impl Source, commands: Vec<Command>) {
    for command in commands {
        handle.send(command);
    }
}

/// How the run ended, judged as the headless reporter does.
fn outcome(app: &App, options: DashboardOptions) -> Outcome {
    let summary = match app.phase() {
        Phase::Failed(message) => return Outcome::Failed(message.clone()),
        Phase::StoppedBeforeTraining(message) => {
            return Outcome::StoppedBeforeTraining {
                signal: app.signal(),
                message: message.clone(),
            }
        }
        Phase::Finished(_) | Phase::Preparing | Phase::Training => current_summary(app),
    };
    Outcome::judge(summary, app.signal(), options.fail_under)
}

/// The trainer's summary once it finished; otherwise what is known of a run the user left
/// before it finished.
fn current_summary(app: &App) -> Summary {
    if let Phase::Finished(summary) = app.phase() {
        return summary.clone();
    }
    let last = app.evaluations().last();
    let train_seconds = app.last_step().map_or(0.0, |s| s.train_seconds);
    Summary {
        steps: app.steps_done(),
        stopped_early: true,
        test_accuracy: last.map_or(0.0, |e| e.accuracy),
        test_loss: last.map_or(f64::NAN, |e| e.loss),
        train_seconds,
        wall_seconds: app.elapsed().as_secs_f64(),
        samples_per_sec: app.throughput().unwrap_or(0.0),
        ..Default::default()
    }
}

/// Prints the run's summary on the normal screen: the accuracy on stdout (as headless does),
/// the details on stderr. Write errors (a terminal that went away) are ignored.
fn print_ending(app: &App, outcome: &Outcome) {
    let Some(summary) = outcome.summary().filter(|_| app.read_only().is_none()) else {
        return;
    };
    if !matches!(app.phase(), Phase::Finished(_)) {
        note(format!(
            "quit at step {} without waiting for the final evaluation",
            summary.steps
        ));
        return;
    }
    StdoutLines::default().line(format!("test accuracy {:.4}", summary.test_accuracy));
    note(summary.details());
    if let Some(dir) = &summary.run_dir {
        note(format!("run records in {}", dir.display()));
    }
}
