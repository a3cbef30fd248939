//! A report may be piped into `head`: once the reader is gone, the rest is dropped quietly.

/// Writes to stdout; false when stdout is closed (e.g. piped into `head`), which is not an
/// error for a report.
pub(super) fn print_quietly(text: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}
