//! Lines on stdout and stderr that never panic on a closed stream: progress and results for
//! scripts on stdout, notes for people on stderr. Both show control characters as escapes
//! ([`escape_controls`]), so a name read from disk cannot drive the terminal.

use std::borrow::Cow;
use std::fmt::{Display, Write as _};
use std::io::{ErrorKind, Write};

/// `n` and a noun, plural unless `n` is one: `1 thread`, `2 threads`.
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A count with thousands separated by commas: `20,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether a terminal could act on `c`: the C0 controls but line feed and tab, DEL, and the
/// C1 controls (U+0080 to U+009F, which some terminals take as ESC and a letter).
fn is_terminal_control(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// `text` with every control character a terminal would act on ([`is_terminal_control`])
/// written as a visible escape, `\u001b` for ESC: a folder named with escape codes prints as
/// its name instead of retitling or recolouring the terminal. The form is JSON's own, so in
/// a JSON string it reads back as the same character. Line feeds and tabs stay as they are.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_terminal_control) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_terminal_control(c) {
            let _ = write!(shown, "\\u{:04x}", u32::from(c));
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// [`escape_controls`] with line feeds and tabs escaped too: for text that must stay on one
/// line, such as a name in a table or on the dashboard.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    let one_line = escape_controls(text);
    if !one_line.contains(['\n', '\t']) {
        return one_line;
    }
    Cow::Owned(one_line.replace('\n', "\\u000a").replace('\t', "\\u0009"))
}

/// Writes `text` and a newline to stderr, control characters escaped ([`escape_controls`]),
/// ignoring errors: a closed or broken stderr (e.g. `2>&1 | head -1`) must neither panic nor
/// end the run.
/// While the dashboard holds the terminal, a note from any thread waits ([`HeldNotes`]):
/// written to stderr it would land in the middle of the drawing.
pub fn note(text: impl Display) {
    let text = text.to_string();
    if let Some(held) = held_notes().as_mut() {
        held.push(text);
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", escape_controls(&text));
}

/// Notes kept back while the terminal shows the dashboard (`None`: notes are printed).
static HELD_NOTES: std::sync::Mutex<Option<Vec<String>>> = std::sync::Mutex::new(None);

/// The held notes, whatever a panicking holder left.
fn held_notes() -> std::sync::MutexGuard<'static, Option<Vec<String>>> {
    HELD_NOTES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Notes kept back while this lives: the dashboard holds one while it has the terminal. On
/// drop (a panic's unwinding included) the held notes are printed, in order, and notes are
/// printed again as they come.
#[derive(Debug)]
#[must_use = "notes are held only while the value lives"]
pub struct HeldNotes(());

impl HeldNotes {
    /// Starts holding notes back.
    pub fn hold() -> Self {
        held_notes().get_or_insert_with(Vec::new);
        HeldNotes(())
    }
}

impl Drop for HeldNotes {
    fn drop(&mut self) {
        let held = held_notes().take().unwrap_or_default();
        for text in held {
            note(text);
        }
    }
}

/// stdout, line by line, remembering when its reader went away.
#[derive(Debug, Default)]
pub struct StdoutLines {
    closed: bool,
}

impl StdoutLines {
    /// Writes `text` and a newline, flushed, control characters escaped
    /// ([`escape_controls`]). A closed stdout (e.g. `| head -1`) is remembered
    /// and nothing more is written; other write errors (a full disk under a redirect) are
    /// ignored.
    pub fn line(&mut self, text: impl Display) {
        if self.closed {
            return;
        }
        let text = text.to_string();
        let mut out = std::io::stdout().lock();
        let written = writeln!(out, "{}", escape_controls(&text)).and_then(|()| out.flush());
        if written.is_err_and(|e| e.kind() == ErrorKind::BrokenPipe) {
            self.closed = true;
        }
    }

    /// Whether a write failed because nobody reads stdout any more.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_held_for_the_dashboard_are_printed_after_it_in_order() {
        let held = HeldNotes::hold();
        note("held note one");
        note("held note two");
        // Other tests may note meanwhile: only these two are looked for.
        let ours: Vec<String> = held_notes()
            .iter()
            .flatten()
            .filter(|t| t.starts_with("held note"))
            .cloned()
            .collect();
        assert_eq!(ours, ["held note one", "held note two"]);
        drop(held);
        assert_eq!(*held_notes(), None);
    }

    #[test]
    fn control_characters_are_shown_as_escapes_and_other_text_is_kept() {
        let name = "evil\u{1b}]0;PWNED\u{7}\u{1b}[31mred\u{7f}\u{9b}2J";
        assert_eq!(
            escape_controls(name),
            "evil\\u001b]0;PWNED\\u0007\\u001b[31mred\\u007f\\u009b2J"
        );
        assert!(matches!(
            escape_controls("a\tb\nc é ✓"),
            Cow::Borrowed("a\tb\nc é ✓")
        ));
        assert_eq!(escape_line("a\tb\nc\u{1b}"), "a\\u0009b\\u000ac\\u001b");
    }

    #[test]
    fn an_escaped_json_string_reads_back_as_the_same_text() {
        let name = "del\u{7f} csi\u{9b} esc\u{1b}";
        let json = serde_json::to_string(name).unwrap();
        let shown = escape_controls(&json);
        assert!(!shown.contains(is_terminal_control), "{shown}");
        assert_eq!(serde_json::from_str::<String>(&shown).unwrap(), name);
    }

    #[test]
    fn a_count_of_one_is_singular_and_any_other_plural() {
        assert_eq!(counted(1, "thread"), "1 thread");
        assert_eq!(counted(2, "thread"), "2 threads");
        assert_eq!(counted(0, "run"), "0 runs");
    }
}
