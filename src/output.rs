//! Lines on stdout and stderr that never panic on a closed stream: progress and results for
//! scripts on stdout, notes for people on stderr.

use std::borrow::Cow;
use std::fmt::Display;
use std::io::{ErrorKind, Write};

/// `n` and a noun, plural unless `n` is one: `1 thread`, `2 threads`.
pub fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `text` with its control characters (C0 but line feed and tab, DEL, C1) written as `\u{1b}`
/// escapes, so a name from disk cannot drive the terminal.
pub fn escaped(text: &str) -> Cow<'_, str> {
    let control = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if control(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Writes `text` and a newline to stderr, ignoring errors: a closed or broken stderr (e.g.
/// `2>&1 | head -1`) must neither panic nor end the run.
pub fn note(text: impl Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// stdout, line by line, remembering when its reader went away.
#[derive(Debug, Default)]
pub struct StdoutLines {
    closed: bool,
}

impl StdoutLines {
    /// Writes `text` and a newline, flushed. A closed stdout (e.g. `| head -1`) is remembered
    /// and nothing more is written; other write errors (a full disk under a redirect) are
    /// ignored.
    pub fn line(&mut self, text: impl Display) {
        if self.closed {
            return;
        }
        let mut out = std::io::stdout().lock();
        let written = writeln!(out, "{text}").and_then(|()| out.flush());
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
    use super::{counted, escaped};

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escaped("runs/ok é\ttab\n"), "runs/ok é\ttab\n");
        assert_eq!(
            escaped("evil\x1b]0;X\x07\u{9b}"),
            "evil\\u{1b}]0;X\\u{7}\\u{9b}"
        );
    }

    #[test]
    fn a_count_of_one_is_singular_and_any_other_plural() {
        assert_eq!(counted(1, "thread"), "1 thread");
        assert_eq!(counted(2, "thread"), "2 threads");
        assert_eq!(counted(0, "run"), "0 runs");
    }
}
