//! Taking over the terminal and giving it back: raw mode and the alternate screen on entry,
//! restored by a guard's `Drop`, by a panic on the dashboard's thread, or at exit.
//!
//! A panic on another thread (the trainer reports its own as a failure) must not scribble over
//! the dashboard, so its message is kept and printed once the terminal is restored.
//!
//! Each frame reaches the terminal whole: it is gathered in memory and written at once, inside
//! a synchronized update for terminals that hold the screen until the frame ends, so no
//! terminal (nor a multiplexer's capture of the pane) shows half of one frame over the last.

use std::ffi::OsStr;
use std::io::{self, IsTerminal, Stdout, Write};
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::thread::{self, ThreadId};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, BeginSynchronizedUpdate, EndSynchronizedUpdate,
    EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::crossterm::{execute, queue};
use ratatui::{Frame, Terminal};

/// Whether the terminal is in the dashboard's hands now.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The thread that draws the dashboard.
static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// Panic reports from other threads, held while the dashboard is up.
static HELD_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Why this process's stdout cannot show the dashboard, if it cannot ([`unfit_for_dashboard`]
/// on stdout and `TERM`).
pub fn why_no_dashboard() -> Option<String> {
    unfit_for_dashboard(
        io::stdout().is_terminal(),
        std::env::var_os("TERM").as_deref(),
    )
}

/// Why a stdout that is (`is_terminal`) or is not a terminal, whose type `TERM` names, cannot
/// show the full-screen dashboard: not a terminal (a pipe, a file), or one that says it can only
/// print lines (`TERM` unset, empty or `dumb`, as in editors' shells and some CI logs).
pub fn unfit_for_dashboard(is_terminal: bool, term: Option<&OsStr>) -> Option<String> {
    if !is_terminal {
        return Some("stdout is not a terminal".to_string());
    }
    match term {
        None => Some("TERM is not set, so the terminal's abilities are unknown".to_string()),
        Some(t) if t.is_empty() => {
            Some("TERM is empty, so the terminal's abilities are unknown".to_string())
        }
        Some(t) if t == "dumb" => {
            Some("the terminal is TERM=dumb, which cannot move the cursor".to_string())
        }
        Some(_) => None,
    }
}

/// The terminal the dashboard draws on.
pub type Screen = Terminal<CrosstermBackend<FrameWriter>>;

/// Gathers what a frame writes and hands it to `out` (stdout) in one write when flushed. Bytes
/// not flushed (a frame cut short by a panic) are dropped, never written over the restored
/// screen.
#[derive(Debug)]
pub struct FrameWriter<W: Write = Stdout> {
    pending: Vec<u8>,
    out: W,
}

impl<W: Write> FrameWriter<W> {
    /// A writer that hands whole frames to `out`.
    pub fn new(out: W) -> Self {
        Self {
            pending: Vec::new(),
            out,
        }
    }
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let written = self
            .out
            .write_all(&self.pending)
            .and_then(|()| self.out.flush());
        self.pending.clear();
        written
    }
}

/// Draws one frame with `render`, sent whole inside a synchronized update (ignored by
/// terminals that do not know it).
pub fn draw_frame(screen: &mut Screen, render: impl FnOnce(&mut Frame)) -> io::Result<()> {
    queue!(screen.backend_mut(), BeginSynchronizedUpdate)?;
    let drawn = screen.draw(render).map(drop);
    let ended = queue!(screen.backend_mut(), EndSynchronizedUpdate)
        .and_then(|()| Write::flush(screen.backend_mut()));
    drawn.and(ended)
}

/// Owns the terminal's dashboard mode; dropping it restores the terminal and prints any
/// panic reports held meanwhile.
#[derive(Debug)]
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Installs the panic hook, enters raw mode and the alternate screen, hides the cursor and
    /// turns mouse capture on (the restore turns it off).
    pub fn enter() -> io::Result<(Self, Screen)> {
        install_panic_hook();
        let _ = UI_THREAD.set(thread::current().id());
        ACTIVE.store(true, Ordering::SeqCst);
        let guard = Self { _private: () };
        enable_raw_mode()?;
        execute!(io::stdout(), EnterAlternateScreen, Hide, EnableMouseCapture)?;
        let screen = Terminal::new(CrosstermBackend::new(FrameWriter::new(io::stdout())))?;
        Ok((guard, screen))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        print_held_panics();
    }
}

/// Gives the terminal back: leaves raw mode and the alternate screen, shows the cursor and
/// turns mouse capture off. Does nothing if the dashboard does not hold the terminal.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let mut out = io::stdout();
        let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, Show);
        let _ = out.flush();
    }
}

/// Prints, to stderr, the panic reports of other threads held while the dashboard was up.
fn print_held_panics() {
    let held = match HELD_PANICS.lock() {
        Ok(mut held) => std::mem::take(&mut *held),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    let mut err = io::stderr();
    for report in held {
        let _ = writeln!(err, "{report}");
    }
}

/// Chains a hook before the existing one (once per process): on the dashboard's thread it
/// restores the terminal and then reports as usual; on other threads it holds the report.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_ui_thread = UI_THREAD.get() == Some(&thread::current().id());
            if ACTIVE.load(Ordering::SeqCst) && !on_ui_thread {
                hold(describe(info));
                return;
            }
            restore();
            previous(info);
        }));
    });
}

fn hold(report: String) {
    match HELD_PANICS.lock() {
        Ok(mut held) => held.push(report),
        Err(poisoned) => poisoned.into_inner().push(report),
    }
}

/// The standard library's panic message, as text.
fn describe(info: &PanicHookInfo) -> String {
    let payload = crate::panic_text::panic_text(info.payload());
    let name = thread::current().name().unwrap_or("<unnamed>").to_string();
    let location = info.location().map_or(String::new(), |l| {
        format!(" at {}:{}:{}", l.file(), l.line(), l.column())
    });
    format!("thread '{name}' panicked{location}:\n{payload}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Keeps each write it is handed, as a terminal would receive them.
    #[derive(Clone, Default)]
    struct Writes(Rc<RefCell<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().push(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_frame_reaches_the_terminal_in_one_write_and_an_unfinished_one_never() {
        let writes = Writes::default();
        let mut frame = FrameWriter::new(writes.clone());
        for piece in ["\x1b[1;1H", "first", " frame"] {
            frame.write_all(piece.as_bytes()).unwrap();
        }
        assert!(writes.0.borrow().is_empty(), "nothing before the flush");
        frame.flush().unwrap();
        assert_eq!(*writes.0.borrow(), vec![b"\x1b[1;1Hfirst frame".to_vec()]);
        frame.flush().unwrap();
        assert_eq!(writes.0.borrow().len(), 1, "an empty flush writes nothing");

        frame.write_all(b"half a frame").unwrap();
        drop(frame);
        assert_eq!(
            writes.0.borrow().len(),
            1,
            "the unflushed frame was written"
        );
    }

    #[test]
    fn only_a_terminal_that_names_a_capable_type_shows_the_dashboard() {
        let fit = |tty, term: Option<&str>| unfit_for_dashboard(tty, term.map(OsStr::new));
        assert_eq!(fit(true, Some("xterm-256color")), None);
        assert_eq!(fit(true, Some("tmux-256color")), None);
        assert!(fit(false, Some("xterm"))
            .unwrap()
            .contains("not a terminal"));
        assert!(fit(true, Some("dumb")).unwrap().contains("TERM=dumb"));
        assert!(fit(true, Some("")).unwrap().contains("TERM is empty"));
        assert!(fit(true, None).unwrap().contains("TERM is not set"));
    }
}
