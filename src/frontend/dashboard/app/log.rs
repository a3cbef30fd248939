//! The event log: what happened during the run, newest last, shown on screen.

use std::collections::VecDeque;

/// Entries kept; older ones are dropped.
pub const CAPACITY: usize = 500;

/// What an entry is about, for its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// Setup and state changes.
    Info,
    /// A setting changed.
    Setting,
    /// An evaluation result.
    Evaluation,
    /// Something went wrong.
    Error,
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// The step it happened after, once training has started.
    pub step: Option<u64>,
    /// What happened.
    pub text: String,
    /// Its kind.
    pub kind: LogKind,
}

/// The log, bounded to [`CAPACITY`] entries.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    entries: VecDeque<LogEntry>,
}

impl EventLog {
    /// Appends an entry, dropping the oldest when full.
    pub fn push(&mut self, step: Option<u64>, kind: LogKind, text: impl Into<String>) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(LogEntry {
            step,
            text: text.into(),
            kind,
        });
    }

    /// The newest `n` entries, oldest first.
    pub fn last(&self, n: usize) -> impl Iterator<Item = &LogEntry> {
        self.entries
            .iter()
            .skip(self.entries.len().saturating_sub(n))
    }

    /// Every entry, oldest first.
    #[cfg(test)]
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// Number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the log is empty.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_entries() {
        let mut log = EventLog::default();
        for i in 0..CAPACITY + 3 {
            log.push(Some(i as u64), LogKind::Info, format!("entry {i}"));
        }
        assert_eq!(log.len(), CAPACITY);
        let last: Vec<_> = log.last(2).map(|e| e.text.as_str()).collect();
        assert_eq!(
            last,
            [
                format!("entry {}", CAPACITY + 1),
                format!("entry {}", CAPACITY + 2)
            ]
        );
        assert_eq!(log.entries().next().map(|e| e.step), Some(Some(3)));
    }
}
