//! The key map: one table from keys to actions, read by the key handler and the help overlay.
//! A key can mean different things on different pages; on a page that does not use it, it
//! does nothing.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::page::Page;

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
    /// Evaluate now, on the split choices are made on (validation, or test without one).
    EvaluateNow,
    /// Score the test set now: a look at it, recorded.
    EvaluateTest,
    /// Show the digits of the other set (validation or test).
    SwitchDigitSet,
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
    /// Raise (true) or lower the charts' smoothing weight.
    Smooth(bool),
    /// Draw the loss on a log or a linear scale.
    ToggleLogScale,
    /// Show or hide the charts' value cursor.
    ToggleCursor,
    /// Move the value cursor right (true) or left.
    MoveChartCursor(bool),
    /// Export the charts as a PNG into the run folder.
    ExportCharts,
    /// Open the run picker to overlay other runs.
    PickRuns,
    /// Open the checkpoint picker: which checkpoint a watched run's Inspect and Draw show.
    PickCheckpoint,
    /// Show the training images as fed (augmented) in the digit panel, or the test digits.
    ToggleFed,
    /// Open a page.
    ShowPage(Page),
    /// Move the confusion-matrix selection by (rows, columns).
    MoveCell(isize, isize),
    /// Show the next image of the selected cell.
    NextCellImage,
    /// Show the previous image of the selected cell.
    PreviousCellImage,
    /// Lay the occlusion map over the shown digit, or take it away.
    ToggleSaliency,
    /// Show the other convolution block's feature maps.
    ToggleLayer,
    /// Show the worst-loss gallery in place of the confusion matrix, or the matrix again.
    ToggleGallery,
    /// Move the draw pad's cursor by (columns, rows).
    MoveCursor(isize, isize),
    /// Put the pen down or lift it.
    TogglePen,
    /// Wipe the draw pad.
    ClearCanvas,
    /// Save the drawing as a PNG into the run folder.
    SaveDrawing,
    /// Move the Sweep page's cursor by this many trials.
    MoveTrial(isize),
    /// Overlay the trial under the cursor on the charts, or take it off.
    ToggleTrial,
    /// List the sweep's trials in the next order.
    CycleSweepOrder,
    /// Take every overlaid run off the charts.
    ClearOverlay,
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
                | Action::EvaluateTest
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
    /// The pages where it applies.
    pub pages: &'static [Page],
    /// The keys that trigger it.
    pub keys: &'static [KeyCode],
    /// How the help overlay names the keys.
    pub label: &'static str,
    /// What they do.
    pub action: Action,
    /// The help overlay's description.
    pub help: &'static str,
}

/// Every page.
const ALL: &[Page] = &Page::ALL;
/// The pages that show training and its controls.
const TRAINING: &[Page] = &[Page::Training];
/// The Inspect page.
const INSPECT: &[Page] = &[Page::Inspect];
/// The Draw page.
const DRAW: &[Page] = &[Page::Draw];
/// The pages where space pauses.
const PAUSING: &[Page] = &[Page::Training, Page::Inspect, Page::Layers];
/// The pages that show digits.
const NOT_DRAW: &[Page] = &[Page::Training, Page::Inspect];
/// The Sweep page.
const SWEEP: &[Page] = &[Page::Sweep];
/// The pages of one run (the Sweep page moves its cursor with `j` and `k`).
const RUN_PAGES: &[Page] = &[Page::Training, Page::Inspect, Page::Draw, Page::Layers];

const fn bind(
    pages: &'static [Page],
    keys: &'static [KeyCode],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        pages,
        keys,
        label,
        action,
        help,
    }
}

use KeyCode::{
    BackTab, Backspace, Char, Delete, Down, Enter, Esc, Left, PageDown, PageUp, Right, Tab, Up,
};

/// Every key the dashboard knows, in the order the help overlay lists them. Ctrl-C quits too.
pub const BINDINGS: &[Binding] = &[
    bind(
        ALL,
        &[Char('1')],
        "1",
        Action::ShowPage(Page::Training),
        "page 1: training",
    ),
    bind(
        ALL,
        &[Char('2')],
        "2",
        Action::ShowPage(Page::Inspect),
        "page 2: inspect the network",
    ),
    bind(
        ALL,
        &[Char('3')],
        "3",
        Action::ShowPage(Page::Draw),
        "page 3: draw a digit",
    ),
    bind(
        ALL,
        &[Char('4')],
        "4",
        Action::ShowPage(Page::Layers),
        "page 4: layers",
    ),
    bind(
        ALL,
        &[Char('5')],
        "5",
        Action::ShowPage(Page::Sweep),
        "page 5: the sweep's trials, ranked",
    ),
    bind(
        PAUSING,
        &[Char(' ')],
        "space",
        Action::TogglePause,
        "pause or resume training",
    ),
    bind(
        PAUSING,
        &[Char('.')],
        ".",
        Action::StepOnce,
        "take one step while paused",
    ),
    bind(
        ALL,
        &[Char('t')],
        "t",
        Action::EvaluateNow,
        "evaluate now (on the validation split)",
    ),
    bind(
        ALL,
        &[Char('T')],
        "T",
        Action::EvaluateTest,
        "score the test set now (each look is recorded)",
    ),
    bind(
        ALL,
        &[Char('x')],
        "x",
        Action::Stop,
        "stop training early (asks first)",
    ),
    bind(
        ALL,
        &[Char('c')],
        "c",
        Action::SaveCheckpoint,
        "save a checkpoint now",
    ),
    bind(
        ALL,
        &[Char('r')],
        "r",
        Action::Rollback,
        "roll back to the newest checkpoint",
    ),
    bind(
        TRAINING,
        &[Up, BackTab],
        "↑ shift-tab",
        Action::PreviousSetting,
        "select the setting above",
    ),
    bind(
        TRAINING,
        &[Down, Tab],
        "↓ tab",
        Action::NextSetting,
        "select the setting below",
    ),
    bind(
        TRAINING,
        &[Char('+'), Char('=')],
        "+",
        Action::Increase,
        "raise it (lr ×2, dropout +0.1)",
    ),
    bind(
        TRAINING,
        &[Char('-'), Char('_')],
        "-",
        Action::Decrease,
        "lower it (lr ÷2, dropout -0.1)",
    ),
    bind(
        TRAINING,
        &[Enter],
        "enter",
        Action::Edit,
        "type a new value for it",
    ),
    bind(TRAINING, &[Right], "→", Action::NextDigit, "next digit"),
    bind(
        TRAINING,
        &[Left],
        "←",
        Action::PreviousDigit,
        "previous digit",
    ),
    bind(
        TRAINING,
        &[PageDown],
        "pgdn",
        Action::NextPage,
        "100 digits on",
    ),
    bind(
        TRAINING,
        &[PageUp],
        "pgup",
        Action::PreviousPage,
        "100 digits back",
    ),
    bind(
        NOT_DRAW,
        &[Char('d')],
        "d",
        Action::SwitchDigitSet,
        "digits of the validation split or the test set",
    ),
    bind(
        TRAINING,
        &[Char('m')],
        "m",
        Action::NextMistake,
        "next misclassified digit",
    ),
    bind(
        TRAINING,
        &[Char('M')],
        "M",
        Action::PreviousMistake,
        "previous misclassified digit",
    ),
    bind(
        TRAINING,
        &[Char('w')],
        "w",
        Action::ToggleWindow,
        "charts: recent steps or whole run",
    ),
    bind(
        TRAINING,
        &[Char('s')],
        "s",
        Action::ToggleSmoothing,
        "charts: smoothed line over faint raw values, or raw",
    ),
    bind(
        TRAINING,
        &[Char('['), Char(']')],
        "[ ]",
        Action::Smooth(true),
        "smoothing weight down / up (0 to 0.99)",
    ),
    bind(
        TRAINING,
        &[Char('e')],
        "e",
        Action::ExportCharts,
        "export the charts as a PNG into the run folder",
    ),
    bind(
        TRAINING,
        &[Char('b')],
        "b",
        Action::PickRuns,
        "browse runs: overlay others on the charts",
    ),
    bind(
        RUN_PAGES,
        &[Char('k')],
        "k",
        Action::PickCheckpoint,
        "pick the checkpoint shown",
    ),
    bind(
        TRAINING,
        &[Char('f')],
        "f",
        Action::ToggleFed,
        "digit panel: training images as fed (augmented) or held-out digits",
    ),
    bind(
        TRAINING,
        &[Char('l')],
        "l",
        Action::ToggleLogScale,
        "loss on a log or linear scale",
    ),
    bind(
        TRAINING,
        &[Char('v')],
        "v",
        Action::ToggleCursor,
        "value cursor on / off",
    ),
    bind(
        TRAINING,
        &[Char('<'), Char('>')],
        "< >",
        Action::MoveChartCursor(true),
        "move the value cursor",
    ),
    bind(
        ALL,
        &[Char('?')],
        "?",
        Action::Help,
        "show or hide this help",
    ),
    bind(
        ALL,
        &[Char('q'), Esc],
        "q esc ctrl-c",
        Action::Quit,
        "quit (asks while training)",
    ),
    bind(
        INSPECT,
        &[Up],
        "↑",
        Action::MoveCell(-1, 0),
        "select the cell above",
    ),
    bind(
        INSPECT,
        &[Down],
        "↓",
        Action::MoveCell(1, 0),
        "select the cell below",
    ),
    bind(
        INSPECT,
        &[Left],
        "←",
        Action::MoveCell(0, -1),
        "select the cell to the left",
    ),
    bind(
        INSPECT,
        &[Right],
        "→",
        Action::MoveCell(0, 1),
        "select the cell to the right",
    ),
    bind(
        INSPECT,
        &[Char('n'), PageDown],
        "n pgdn",
        Action::NextCellImage,
        "next image of the selected cell",
    ),
    bind(
        INSPECT,
        &[Char('N'), PageUp],
        "N pgup",
        Action::PreviousCellImage,
        "previous image of the selected cell",
    ),
    bind(
        INSPECT,
        &[Char('o')],
        "o",
        Action::ToggleSaliency,
        "overlay an occlusion saliency map",
    ),
    bind(
        INSPECT,
        &[Char('a')],
        "a",
        Action::ToggleLayer,
        "activations: conv1 or conv2 maps",
    ),
    bind(
        INSPECT,
        &[Char('g')],
        "g",
        Action::ToggleGallery,
        "worst-loss gallery (←↑↓→ pick) or confusion matrix",
    ),
    bind(
        DRAW,
        &[Up],
        "↑",
        Action::MoveCursor(0, -1),
        "cursor up (draws with the pen down)",
    ),
    bind(DRAW, &[Down], "↓", Action::MoveCursor(0, 1), "cursor down"),
    bind(DRAW, &[Left], "←", Action::MoveCursor(-1, 0), "cursor left"),
    bind(
        DRAW,
        &[Right],
        "→",
        Action::MoveCursor(1, 0),
        "cursor right",
    ),
    bind(
        DRAW,
        &[Char(' ')],
        "space",
        Action::TogglePen,
        "pen down or up; the mouse draws too",
    ),
    bind(
        DRAW,
        &[Backspace, Delete],
        "backspace",
        Action::ClearCanvas,
        "clear the drawing",
    ),
    bind(
        DRAW,
        &[Char('s')],
        "s",
        Action::SaveDrawing,
        "save a 28x28 PNG to the run folder",
    ),
    bind(
        SWEEP,
        &[Up, Char('k')],
        "↑ k",
        Action::MoveTrial(-1),
        "select the trial above",
    ),
    bind(
        SWEEP,
        &[Down, Char('j')],
        "↓ j",
        Action::MoveTrial(1),
        "select the trial below",
    ),
    bind(
        SWEEP,
        &[PageUp],
        "pgup",
        Action::MoveTrial(-10),
        "10 trials up",
    ),
    bind(
        SWEEP,
        &[PageDown],
        "pgdn",
        Action::MoveTrial(10),
        "10 trials down",
    ),
    bind(
        SWEEP,
        &[Char(' '), Enter],
        "space enter",
        Action::ToggleTrial,
        "overlay its curves on page 1's charts, or take them off (a click too)",
    ),
    bind(
        SWEEP,
        &[Char('s')],
        "s",
        Action::CycleSweepOrder,
        "sort by validation accuracy, trial number or images trained",
    ),
    bind(
        SWEEP,
        &[Backspace, Delete],
        "backspace",
        Action::ClearOverlay,
        "take every overlaid trial off the charts",
    ),
];

/// A key press without modifiers, as the terminal reports a plain key.
pub fn plain_key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// Whether `key` is Ctrl-C.
pub fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, Char('c') | Char('C'))
}

/// Whether `key` is a press (or an auto-repeat), not a release.
pub fn is_press(key: &KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
}

/// The action bound to `key` on `page`, if any. Keys held with Ctrl or Alt mean nothing but
/// Ctrl-C.
pub fn action_for(key: &KeyEvent, page: Page) -> Option<Action> {
    if is_ctrl_c(key) {
        return Some(Action::Quit);
    }
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return None;
    }
    let action = BINDINGS
        .iter()
        .find(|b| b.pages.contains(&page) && b.keys.contains(&key.code))
        .map(|b| b.action)?;
    // Pairs of keys in one binding: the first key goes down or left.
    Some(match (action, key.code) {
        (Action::Smooth(_), Char('[')) => Action::Smooth(false),
        (Action::MoveChartCursor(_), Char('<')) => Action::MoveChartCursor(false),
        (action, _) => action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binding_is_found_and_keys_are_unique_on_each_page() {
        for page in Page::ALL {
            let mut seen = Vec::new();
            for b in BINDINGS.iter().filter(|b| b.pages.contains(&page)) {
                for &code in b.keys {
                    assert!(!seen.contains(&code), "{code:?} bound twice on {page:?}");
                    seen.push(code);
                    let found = action_for(&plain_key(code), page);
                    let paired = matches!(
                        (found, b.action),
                        (Some(Action::Smooth(_)), Action::Smooth(_))
                            | (Some(Action::MoveChartCursor(_)), Action::MoveChartCursor(_))
                    );
                    assert!(found == Some(b.action) || paired, "{code:?} on {page:?}");
                }
            }
        }
    }

    #[test]
    fn keys_mean_what_their_page_says_and_nothing_elsewhere() {
        assert_eq!(
            action_for(&plain_key(Char(' ')), Page::Training),
            Some(Action::TogglePause)
        );
        assert_eq!(
            action_for(&plain_key(Char(' ')), Page::Draw),
            Some(Action::TogglePen)
        );
        assert_eq!(
            action_for(&plain_key(Char('s')), Page::Draw),
            Some(Action::SaveDrawing)
        );
        assert_eq!(action_for(&plain_key(Char('+')), Page::Inspect), None);
        assert_eq!(action_for(&plain_key(Char('o')), Page::Training), None);
        assert_eq!(
            action_for(&plain_key(Char('3')), Page::Inspect),
            Some(Action::ShowPage(Page::Draw))
        );
    }

    #[test]
    fn modifiers_and_unknown_keys() {
        let ctrl_c = KeyEvent::new(Char('c'), KeyModifiers::CONTROL);
        let page = Page::Training;
        assert_eq!(action_for(&ctrl_c, page), Some(Action::Quit));
        let ctrl_q = KeyEvent::new(Char('q'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_q, page), None);
        let shift_m = KeyEvent::new(Char('M'), KeyModifiers::SHIFT);
        assert_eq!(action_for(&shift_m, page), Some(Action::PreviousMistake));
        assert_eq!(action_for(&plain_key(Char('z')), page), None);
        assert_eq!(action_for(&plain_key(KeyCode::F(5)), page), None);
    }

    #[test]
    fn releases_are_not_presses() {
        let mut k = plain_key(Char(' '));
        assert!(is_press(&k));
        k.kind = KeyEventKind::Release;
        assert!(!is_press(&k));
    }
}
