//! A run's `metrics.csv`, read by column name.

use std::path::Path;

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// Steps done.
    pub step: u64,
    /// The batch's loss.
    pub loss: f64,
    /// The batch's accuracy.
    pub accuracy: f64,
    /// The learning rate the step used, as recorded.
    pub learning_rate: f64,
}

/// The rows of `metrics.csv` in the run folder `run`.
pub fn read(run: &Path) -> Vec<Row> {
    let path = run.join("metrics.csv");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(&text)
}

/// The rows of a `metrics.csv` text.
pub fn parse(text: &str) -> Vec<Row> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} column in {header:?}"))
    };
    let (step, loss, accuracy, lr) = (
        column("step"),
        column("loss"),
        column("accuracy"),
        column("learning_rate"),
    );
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let number =
                |i: usize| -> f64 { fields[i].parse().unwrap_or_else(|e| panic!("{e}: {line}")) };
            Row {
                step: fields[step]
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}: {line}")),
                loss: number(loss),
                accuracy: number(accuracy),
                learning_rate: number(lr),
            }
        })
        .collect()
}

/// The step column of the run's `metrics.csv`.
pub fn steps(run: &Path) -> Vec<u64> {
    read(run).iter().map(|r| r.step).collect()
}
