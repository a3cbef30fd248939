//! The one-line entry where a new value for a setting is typed.

use crate::train::Setting;

/// Longest text the entry takes.
pub const MAX_LEN: usize = 20;

/// A value being typed for a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editor {
    /// The setting it is for.
    pub setting: Setting,
    /// What has been typed.
    pub text: String,
    /// Why the last Enter was refused.
    pub error: Option<String>,
}

impl Editor {
    /// An empty entry for `setting`.
    pub fn new(setting: Setting) -> Self {
        Self {
            setting,
            text: String::new(),
            error: None,
        }
    }

    /// Adds a typed character if it can be part of a number.
    pub fn type_char(&mut self, c: char) {
        let numeric = c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+');
        if numeric && self.text.len() < MAX_LEN {
            self.text.push(c);
            self.error = None;
        }
    }

    /// Removes the last character.
    pub fn backspace(&mut self) {
        self.text.pop();
        self.error = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_only_number_characters_up_to_the_limit() {
        let mut e = Editor::new(Setting::LearningRate);
        for c in "3e-4x q".chars() {
            e.type_char(c);
        }
        assert_eq!(e.text, "3e-4");
        e.backspace();
        assert_eq!(e.text, "3e-");
        for _ in 0..50 {
            e.type_char('9');
        }
        assert_eq!(e.text.len(), MAX_LEN);
        let mut empty = Editor::new(Setting::BatchSize);
        empty.backspace();
        assert_eq!(empty.text, "");
    }
}
