//! The key map: one table from keys to actions, read by the key handler and the help overlay.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Something the user can ask for with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Show or hide the help overlay.
    Help,
    /// Quit (asks first while training runs).
    Quit,
    /// Pause or resume training.
    TogglePause,
    /// Take one step while paused.
    StepOnce,
    /// Evaluate on the test set now.
    EvaluateNow,
    /// Stop training early (asks first).
    Stop,
    /// Write a checkpoint now.
    SaveCheckpoint,
    /// Go back to the newest checkpoint (asks first).
    Rollback,
    /// Select the next live setting.
    NextSetting,
    /// Select the previous live setting.
    PreviousSetting,
    /// Raise the selected setting one notch.
    Increase,
    /// Lower the selected setting one notch.
    Decrease,
    /// Type a value for the selected setting.
    Edit,
    /// Show the next test digit.
    NextDigit,
    /// Show the previous test digit.
    PreviousDigit,
    /// Skip forward a page of digits.
    NextPage,
    /// Skip back a page of digits.
    PreviousPage,
    /// Jump to the next misclassified digit.
    NextMistake,
    /// Jump to the previous misclassified digit.
    PreviousMistake,
    /// Switch the charts between recent steps and the whole run.
    ToggleWindow,
    /// Switch the charts between raw and smoothed values.
    ToggleSmoothing,
}

impl Action {
    /// Whether the action is a command to the trainer, so it means nothing once training has
    /// ended or a stop was sent.
    pub fn needs_trainer(self) -> bool {
        matches!(
            self,
            Action::TogglePause
                | Action::StepOnce
                | Action::EvaluateNow
                | Action::Stop
                | Action::SaveCheckpoint
                | Action::Rollback
                | Action::Increase
                | Action::Decrease
                | Action::Edit
        )
    }
}

/// A row of the key map.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys that trigger it.
    pub keys: &'static [KeyCode],
    /// How the help overlay names the keys.
    pub label: &'static str,
    /// What they do.
    pub action: Action,
    /// The help overlay's description.
    pub help: &'static str,
}

const fn bind(
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        help,
    }
}

use KeyCode::{BackTab, Char, Down, Enter, Esc, Left, PageDown, PageUp, Right, Tab, Up};

/// Every key the dashboard knows, in the order the help overlay lists them. Ctrl-C quits too.
pub const BINDINGS: &[Binding] = &[
    bind(
        &[Char(' ')],
        "space",
        Action::TogglePause,
        "pause or resume training",
    ),
    bind(
        &[Char('.')],
        ".",
        Action::StepOnce,
        "take one step while paused",
    ),
    bind(
        &[Char('t')],
        "t",
        Action::EvaluateNow,
        "test now: evaluate on the test set",
    ),
    bind(
        &[Char('x')],
        "x",
        Action::Stop,
        "stop training early (asks first)",
    ),
    bind(
        &[Char('c')],
        "c",
        Action::SaveCheckpoint,
        "save a checkpoint now",
    ),
    bind(
        &[Char('r')],
        "r",
        Action::Rollback,
        "roll back to the newest checkpoint",
    ),
    bind(
        &[Up, BackTab],
        "↑ shift-tab",
        Action::PreviousSetting,
        "select the setting above",
    ),
    bind(
        &[Down, Tab],
        "↓ tab",
        Action::NextSetting,
        "select the setting below",
    ),
    bind(
        &[Char('+'), Char('=')],
        "+",
        Action::Increase,
        "raise it (lr ×2, dropout +0.1)",
    ),
    bind(
        &[Char('-'), Char('_')],
        "-",
        Action::Decrease,
        "lower it (lr ÷2, dropout -0.1)",
    ),
    bind(&[Enter], "enter", Action::Edit, "type a new value for it"),
    bind(&[Right], "→", Action::NextDigit, "next test digit"),
    bind(&[Left], "←", Action::PreviousDigit, "previous test digit"),
    bind(&[PageDown], "pgdn", Action::NextPage, "100 digits on"),
    bind(&[PageUp], "pgup", Action::PreviousPage, "100 digits back"),
    bind(
        &[Char('m')],
        "m",
        Action::NextMistake,
        "next misclassified digit",
    ),
    bind(
        &[Char('M')],
        "M",
        Action::PreviousMistake,
        "previous misclassified digit",
    ),
    bind(
        &[Char('w')],
        "w",
        Action::ToggleWindow,
        "charts: recent steps or whole run",
    ),
    bind(
        &[Char('s')],
        "s",
        Action::ToggleSmoothing,
        "charts: raw or smoothed",
    ),
    bind(&[Char('?')], "?", Action::Help, "show or hide this help"),
    bind(
        &[Char('q'), Esc],
        "q esc ctrl-c",
        Action::Quit,
        "quit (asks while training)",
    ),
];

/// Whether `key` is Ctrl-C.
pub fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, Char('c') | Char('C'))
}

/// Whether `key` is a press (or an auto-repeat), not a release.
pub fn is_press(key: &KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
}

/// The action bound to `key`, if any. Keys held with Ctrl or Alt mean nothing but Ctrl-C.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    if is_ctrl_c(key) {
        return Some(Action::Quit);
    }
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    BINDINGS
        .iter()
        .find(|b| b.keys.contains(&key.code))
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_binding_is_found_and_keys_are_unique() {
        let mut seen = Vec::new();
        for b in BINDINGS {
            for &code in b.keys {
                assert!(!seen.contains(&code), "{code:?} bound twice");
                seen.push(code);
                assert_eq!(action_for(&key(code)), Some(b.action));
            }
        }
    }

    #[test]
    fn modifiers_and_unknown_keys() {
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_c), Some(Action::Quit));
        let ctrl_q = KeyEvent::new(Char('q'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_q), None);
        let shift_m = KeyEvent::new(Char('M'), KeyModifiers::SHIFT);
        assert_eq!(action_for(&shift_m), Some(Action::PreviousMistake));
        assert_eq!(action_for(&key(Char('z'))), None);
        assert_eq!(action_for(&key(KeyCode::F(5))), None);
    }

    #[test]
    fn releases_are_not_presses() {
        let mut k = key(Char(' '));
        assert!(is_press(&k));
        k.kind = KeyEventKind::Release;
        assert!(!is_press(&k));
    }
}
