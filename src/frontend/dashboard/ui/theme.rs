//! Colours and styles. The default foreground and background carry most text, so the screen
//! reads on dark and light terminals alike; a few accents that are legible on both mark state.

use ratatui::style::{Color, Modifier, Style};

use crate::frontend::dashboard::app::{LogKind, RunState};

/// The colour of the layer at `index` of the network's layers with parameters, on every
/// panel of the Layers page.
pub fn layer(index: usize) -> Color {
    const COLOURS: [Color; 4] = [Color::Cyan, Color::Yellow, Color::LightRed, Color::Green];
    COLOURS[index % COLOURS.len()]
}

/// Panel titles.
pub fn title() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// Secondary text: labels, hints, units.
pub fn dim() -> Style {
    Style::new().add_modifier(Modifier::DIM)
}

/// A key name in a hint.
pub fn key() -> Style {
    Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD)
}

/// The selected row of a list.
pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// The loss chart.
pub fn loss() -> Style {
    Style::new().fg(Color::Magenta)
}

/// The batch-accuracy chart.
pub fn accuracy() -> Style {
    Style::new().fg(Color::Green)
}

/// The test-accuracy chart and results.
pub fn test() -> Style {
    Style::new().fg(Color::Blue)
}

/// A look at the test set, marked on the held-out chart.
pub fn test_look() -> Style {
    Style::new().fg(Color::LightMagenta)
}

/// Something right (a correct prediction, the true class).
pub fn good() -> Style {
    Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
}

/// Something wrong (a misclassification, an error).
pub fn bad() -> Style {
    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
}

/// A short message answering the last key.
pub fn flash() -> Style {
    Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD)
}

/// The colour of a run state.
pub fn state_color(state: RunState) -> Color {
    match state {
        RunState::Preparing | RunState::Evaluating => Color::Blue,
        RunState::Running | RunState::Finished => Color::Green,
        RunState::Paused | RunState::Stopping => Color::Magenta,
        RunState::Failed => Color::Red,
        RunState::Stopped => Color::Magenta,
    }
}

/// The status bar's state badge: the state's colour as background.
pub fn badge(state: RunState) -> Style {
    Style::new()
        .fg(state_color(state))
        .add_modifier(Modifier::REVERSED | Modifier::BOLD)
}

/// The style of a log entry.
pub fn log(kind: LogKind) -> Style {
    match kind {
        LogKind::Info => Style::new(),
        LogKind::Setting => Style::new().fg(Color::Magenta),
        LogKind::Evaluation => test(),
        LogKind::Error => Style::new().fg(Color::Red),
    }
}
