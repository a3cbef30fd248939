//! How numbers, and text read from disk, read on screen.

use std::time::Duration;

use crate::output::escape_line;

/// Text that came from outside the program (a folder's name, a path, a message about a file)
/// as the dashboard shows it: on one line, control characters written as escapes
/// ([`escape_line`]) rather than silently dropped, so a name reads as what it is.
pub fn shown(text: &str) -> String {
    escape_line(text).into_owned()
}

/// `m:ss`, or `h:mm:ss` from an hour on.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A fraction as a percentage with `decimals` places, e.g. `97.12%`.
pub fn percent(fraction: f64, decimals: usize) -> String {
    format!("{:.*}%", decimals, fraction * 100.0)
}

/// A throughput, e.g. `812 img/s`.
pub fn rate(images_per_second: f64) -> String {
    format!("{images_per_second:.0} img/s")
}

/// A count with thousands separated by commas: `20,000`.
pub fn count(n: u64) -> String {
    crate::output::thousands(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_clock_times() {
        assert_eq!(duration(Duration::from_secs(0)), "0:00");
        assert_eq!(duration(Duration::from_secs(83)), "1:23");
        assert_eq!(duration(Duration::from_secs(3 * 3600 + 62)), "3:01:02");
        assert_eq!(percent(0.97123, 2), "97.12%");
        assert_eq!(rate(811.6), "812 img/s");
        assert_eq!(count(20_000), "20,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn text_from_disk_shows_its_control_characters_as_escapes() {
        assert_eq!(shown("evil\u{1b}]0;x\u{7}"), "evil\\u001b]0;x\\u0007");
        assert_eq!(shown("a\nb"), "a\\u000ab");
        assert_eq!(shown("runs/20261201-120000"), "runs/20261201-120000");
    }
}
