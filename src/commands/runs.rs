//! `digitdash runs [DIR]`: a table of every run under DIR (or one JSON array with `--json`):
//! start, status, steps, the validation split, the best accuracy on it, the final test
//! accuracy and how often the test set was looked at, wall time, and the settings in which
//! runs differ.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};

use crate::output::{escape_line, note, StdoutLines};
use crate::run::listing::{list_runs, RunOverview};

/// Lists the runs under `dir`, as a table or as one JSON array.
pub fn run(dir: &Path, as_json: bool) -> Result<()> {
    let runs =
        list_runs(dir).with_context(|| format!("cannot list the runs in {}", dir.display()))?;
    let mut out = StdoutLines::default();
    if as_json {
        let array: Vec<Value> = runs.iter().map(to_json).collect();
        out.line(serde_json::to_string_pretty(&array)?);
        return Ok(());
    }
    if runs.is_empty() {
        note(format!(
            "no runs in {} (a run's folder is made there when training starts; `digitdash runs DIR` lists another folder)",
            dir.display()
        ));
        return Ok(());
    }
    for line in table(&runs) {
        out.line(line);
    }
    Ok(())
}

/// The table's lines: a header, a line a run, then the reason of each damaged folder. Names
/// are shown with control characters escaped ([`escape_line`]), before the columns are
/// measured.
pub fn table(runs: &[RunOverview]) -> Vec<String> {
    let header = [
        "NAME",
        "STARTED (UTC)",
        "STATUS",
        "STEPS",
        "VALIDATION",
        "BEST",
        "TEST",
        "LOOKS",
        "WALL",
        "DIFFERS",
    ];
    let rows: Vec<[String; 10]> = runs
        .iter()
        .map(|r| {
            [
                escape_line(&r.name).into_owned(),
                r.started_at
                    .map_or("-".into(), |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()),
                r.status.label().to_string(),
                match r.total_steps {
                    Some(total) => format!("{}/{total}", r.steps_done),
                    None => r.steps_done.to_string(),
                },
                match r.validation_images {
                    0 => "none".into(),
                    n => format!("first {n}"),
                },
                match (r.best_accuracy, r.validation_images) {
                    (Some(_), 0) => format!("{} (test)", percent(r.best_accuracy)),
                    (best, _) => percent(best),
                },
                percent(r.final_test_accuracy),
                r.test_looks.to_string(),
                r.wall_seconds.map_or("-".into(), duration),
                r.differences
                    .iter()
                    .map(|(k, v)| format!("{}={}", escape_line(k), escape_line(v)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.trim_end().to_string()
    };
    let mut lines = vec![line(&header.map(String::from))];
    lines.extend(rows.iter().map(|row| line(row)));
    let notes: Vec<String> = runs
        .iter()
        .filter_map(|r| {
            let detail = r.status.detail()?;
            Some(format!("{}: {}", escape_line(&r.name), escape_line(detail)))
        })
        .collect();
    if !notes.is_empty() {
        lines.push(String::new());
        lines.extend(notes);
    }
    lines
}

/// A run as a JSON object.
fn to_json(run: &RunOverview) -> Value {
    let object = |pairs: &mut dyn Iterator<Item = (&String, &String)>| -> Value {
        Value::Object(pairs.map(|(k, v)| (k.clone(), json!(v))).collect())
    };
    json!({
        "name": run.name,
        "path": run.path,
        "started_at": run.started_at.map(|t| t.to_string()),
        "status": run.status.label(),
        "status_detail": run.status.detail(),
        "steps_done": run.steps_done,
        "total_steps": run.total_steps,
        "validation_images": run.validation_images,
        "best_accuracy": run.best_accuracy,
        "best_split": if run.validation_images > 0 { "validation" } else { "test" },
        "final_test_accuracy": run.final_test_accuracy,
        "test_looks": run.test_looks,
        "wall_seconds": run.wall_seconds,
        "differences": object(&mut run.differences.iter().map(|(k, v)| (k, v))),
        "train": object(&mut run.train_settings.iter()),
        "layers": run.latest_layers,
    })
}

/// A fraction as a percentage with two decimals, `-` when there is none.
fn percent(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or("-".into(), |v| format!("{:.2}%", v * 100.0))
}

/// Seconds as `42.0s`, `3m05s` or `2h07m`.
fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "-".into();
    }
    let whole = seconds.round() as u64;
    match whole {
        _ if seconds < 60.0 => format!("{seconds:.1}s"),
        _ if whole < 3600 => format!("{}m{:02}s", whole / 60, whole % 60),
        _ => format!("{}h{:02}m", whole / 3600, whole % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_percentages_read_naturally() {
        assert_eq!(duration(4.31), "4.3s");
        assert_eq!(duration(185.0), "3m05s");
        assert_eq!(duration(7620.0), "2h07m");
        assert_eq!(duration(f64::NAN), "-");
        assert_eq!(percent(Some(0.99213)), "99.21%");
        assert_eq!(percent(None), "-");
    }
}
