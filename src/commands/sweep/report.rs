//! `digitdash sweep report DIR`: the trials ranked by validation accuracy, the best
//! settings as a TOML snippet ready for a config file, and the compute the scheduler saved;
//! `--json` prints the same as one object. Also the table a headless sweep ends with.

use serde::Serialize;

use super::lines::{percent, thousands};
use crate::output::StdoutLines;
use crate::sweep::value::{insert_dotted, settings_line, Settings};
use crate::sweep::{SweepBoard, TrialRow, TrialStatus};

/// One trial, for `--json`.
#[derive(Debug, Serialize)]
pub struct TrialJson {
    /// Its number.
    pub trial: usize,
    /// Its folder's name.
    pub name: String,
    /// `planned`, `running`, `interrupted`, `waiting`, `stopped early`, `finished`, `failed`.
    pub status: &'static str,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The rung it reached or trains toward.
    pub rung: usize,
    /// Its searched settings.
    pub settings: Settings,
    /// Its best validation accuracy.
    pub validation_accuracy: Option<f64>,
    /// Its best checkpoint's test accuracy, once finished.
    pub test_accuracy: Option<f64>,
    /// Steps trained.
    pub steps: u64,
    /// Images trained.
    pub images: u64,
    /// Seconds trained, evaluations included.
    pub seconds: Option<f64>,
}

/// A sweep, for `--json`.
#[derive(Debug, Serialize)]
pub struct SweepJson {
    /// The sweep's folder.
    pub sweep: String,
    /// `grid`, `random` or `tpe`.
    pub method: &'static str,
    /// Rungs of the scheduler (1: none).
    pub rungs: usize,
    /// The trials, best first.
    pub trials: Vec<TrialJson>,
    /// The best trial's number.
    pub best: Option<usize>,
    /// The best settings as a `[train]` TOML snippet.
    pub best_toml: Option<String>,
    /// Images every trial trained together.
    pub images_trained: u64,
    /// Images the started trials would train at their full budgets.
    pub full_budget_images: u64,
}

impl TrialJson {
    fn of(row: &TrialRow) -> Self {
        Self {
            trial: row.trial,
            name: row.name.clone(),
            status: row.status.label(),
            message: match &row.status {
                TrialStatus::Failed { message } => Some(message.clone()),
                _ => None,
            },
            rung: row.rung,
            settings: row.settings.clone(),
            validation_accuracy: row.validation_accuracy.filter(|a| a.is_finite()),
            test_accuracy: row.test_accuracy.filter(|a| a.is_finite()),
            steps: row.steps,
            images: row.images,
            seconds: row.seconds,
        }
    }
}

/// The whole report as JSON.
pub fn json(board: &SweepBoard) -> SweepJson {
    SweepJson {
        sweep: board.dir.path().display().to_string(),
        method: board.spec.method.name(),
        rungs: board.spec.rung_count(),
        trials: board.ranked().into_iter().map(TrialJson::of).collect(),
        best: board.best().map(|b| b.trial),
        best_toml: board.best().map(|b| best_toml(&b.settings)),
        images_trained: board.images_trained(),
        full_budget_images: board.full_budget_images(),
    }
}

/// Prints the table, the best settings and the compute line.
pub fn print(board: &SweepBoard, out: &mut StdoutLines) {
    for line in leaderboard(board) {
        out.line(line);
    }
}

/// The table, the best settings and the compute line, a line each: what `sweep report`
/// prints and a finished sweep writes to its `leaderboard.txt`.
pub fn leaderboard(board: &SweepBoard) -> Vec<String> {
    let mut out = table(board);
    out.push(String::new());
    match board.best() {
        Some(best) => {
            let test = match best.test_accuracy {
                Some(t) => format!(
                    ", test {} (chosen on validation; the test set was scored once, at its end)",
                    percent(t)
                ),
                None => " (chosen on validation; it has not trained its full budget, so its \
                          test set is not scored)"
                    .to_string(),
            };
            out.push(format!(
                "# best: {}, validation {}{test}",
                best.name,
                percent(best.validation_accuracy.unwrap_or(f64::NAN)),
            ));
            out.push(best_toml(&best.settings).trim_end().to_string());
        }
        None => out.push("no trial has a validation accuracy yet".to_string()),
    }
    out.push(String::new());
    out.push(compute_line(board));
    out
}

/// The trials ranked, a line each, under a header.
pub fn table(board: &SweepBoard) -> Vec<String> {
    let keys: Vec<String> = board
        .spec
        .space
        .params
        .iter()
        .map(|p| p.key.clone())
        .collect();
    let widths: Vec<usize> = keys.iter().map(|k| k.len().max(9)).collect();
    let mut header = format!("{:<10} {:<13} {:>4}", "trial", "status", "rung");
    for (key, w) in keys.iter().zip(&widths) {
        header.push_str(&format!(" {key:>w$}"));
    }
    header.push_str(&format!(
        " {:>10} {:>8} {:>7} {:>11} {:>7}",
        "validation", "test", "steps", "images", "wall s"
    ));
    let mut lines = vec![header];
    for row in board.ranked() {
        let mut line = format!(
            "{:<10} {:<13} {:>4}",
            row.name,
            row.status.label(),
            row.rung
        );
        for (key, w) in keys.iter().zip(&widths) {
            let value = row
                .settings
                .get(key)
                .map_or("-".to_string(), ToString::to_string);
            line.push_str(&format!(" {value:>w$}"));
        }
        line.push_str(&format!(
            " {:>10} {:>8} {:>7} {:>11} {:>7}",
            percent(row.validation_accuracy.unwrap_or(f64::NAN)),
            percent(row.test_accuracy.unwrap_or(f64::NAN)),
            row.steps,
            thousands(row.images),
            row.seconds.map_or("-".to_string(), |s| format!("{s:.0}"))
        ));
        if let TrialStatus::Failed { message } = &row.status {
            line.push_str(&format!("  {message}"));
        }
        lines.push(line);
    }
    lines
}

/// `settings` as a `[train]` table, ready to paste into a config file.
pub fn best_toml(settings: &Settings) -> String {
    let mut train = toml::Table::new();
    for (key, value) in settings {
        insert_dotted(&mut train, key, value.to_toml());
    }
    let mut root = toml::Table::new();
    root.insert("train".into(), toml::Value::Table(train));
    toml::to_string_pretty(&root).unwrap_or_else(|_| settings_line(settings))
}

/// How many images the trials trained against every started trial at its full budget.
pub fn compute_line(board: &SweepBoard) -> String {
    let trained = board.images_trained();
    let full = board.full_budget_images();
    let started = board
        .trials
        .iter()
        .filter(|t| t.full_images.is_some())
        .count() as u64;
    if full == 0 {
        return format!("images trained: {}", thousands(trained));
    }
    let share = trained as f64 / full as f64 * 100.0;
    let saved = if board.spec.rung_count() > 1 {
        format!(
            "; the scheduler saved {:.1}% of the compute",
            (100.0 - share).max(0.0)
        )
    } else {
        String::new()
    };
    format!(
        "images trained: {} of the {} that {} at their full budget take ({share:.1}%){saved}",
        thousands(trained),
        thousands(full),
        crate::output::counted(started, "trial")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::value::ParamValue;

    #[test]
    fn the_best_settings_read_back_as_a_config() {
        let settings: Settings = [
            ("learning_rate".to_string(), ParamValue::Float(0.001234)),
            ("batch_size".to_string(), ParamValue::Int(64)),
            ("augment.rotate".to_string(), ParamValue::Float(7.5)),
        ]
        .into();
        let text = best_toml(&settings);
        let config =
            crate::config::Config::from_toml(&text, std::path::Path::new("best.toml")).unwrap();
        assert_eq!(config.train.learning_rate, 0.001234);
        assert_eq!(config.train.batch_size, 64);
        assert_eq!(config.train.augment.rotate, 7.5);
    }
}
