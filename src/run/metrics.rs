//! `metrics.csv` read back: one value a step and column, as the writer meant it.
//!
//! The writer appends one row a step; after a resume or a rollback it rewrites the file without
//! the rows past the checkpoint and appends from there. A row whose step is at or before one
//! already held therefore means "the run went back here": the held rows from that step on are
//! dropped and the new row takes the step (the last write for a step wins, and the rows of the
//! abandoned stretch go, as TensorBoard purges orphaned data). Columns are found by the
//! header's names, so added or reordered columns are read too.
//!
//! Values are kept in columns of `f32` (the wall clock in `f64`), indexed by step: 24 bytes a
//! step, 24 MB for a million steps. [`Detail::Summary`] keeps only the last row.

use super::records::{MetricsRow, METRICS_HEADER};

/// A row's step more than this past the last step held is taken for garbage (it would
/// otherwise allocate a column up to it).
pub const MAX_STEP_GAP: u64 = 1_000_000;

/// How much of the metrics a reader keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Every step's values (for charts).
    Full,
    /// Only the last row (for listings): memory does not grow with the file.
    Summary,
}

/// A column of `metrics.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// Mean cross-entropy of the step's batch.
    Loss,
    /// Fraction of the step's batch classified right.
    Accuracy,
    /// Learning rate the step used.
    LearningRate,
    /// Images per second of the step.
    SamplesPerSec,
    /// Seconds since the run first started.
    WallSeconds,
}

impl Column {
    /// Every column, in the file's order.
    pub const ALL: [Column; 5] = [
        Column::Loss,
        Column::Accuracy,
        Column::LearningRate,
        Column::SamplesPerSec,
        Column::WallSeconds,
    ];

    /// The column's name in the header.
    pub fn name(self) -> &'static str {
        match self {
            Column::Loss => "loss",
            Column::Accuracy => "accuracy",
            Column::LearningRate => "learning_rate",
            Column::SamplesPerSec => "samples_per_sec",
            Column::WallSeconds => "wall_seconds",
        }
    }
}

/// Where each field of a row goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Step,
    Value(usize),
    Ignored,
}

/// The metrics of one run, step by step.
#[derive(Debug, Clone)]
pub struct MetricsSeries {
    detail: Detail,
    /// The header's fields, once the header line is read.
    fields: Option<Vec<Field>>,
    /// Why the file cannot be read as metrics, if it cannot.
    problem: Option<String>,
    /// The step of index 0 of the columns.
    first_step: u64,
    /// Loss, accuracy, learning rate, samples per second; `NaN` for steps without a row.
    values: [Vec<f32>; 4],
    wall_seconds: Vec<f64>,
    last: Option<MetricsRow>,
    rows: u64,
    skipped: u64,
    rewinds: u64,
}

impl MetricsSeries {
    /// No rows yet.
    pub fn new(detail: Detail) -> Self {
        Self {
            detail,
            fields: None,
            problem: None,
            first_step: 0,
            values: Default::default(),
            wall_seconds: Vec::new(),
            last: None,
            rows: 0,
            skipped: 0,
            rewinds: 0,
        }
    }

    /// Forgets every row (the file is read again from the start).
    pub fn clear(&mut self) {
        *self = Self::new(self.detail);
    }

    /// Takes one line of the file: the header first, then a row a line. A line that is not a
    /// row is counted in [`MetricsSeries::skipped`].
    pub fn push_line(&mut self, line: &[u8]) {
        let Ok(line) = std::str::from_utf8(line) else {
            self.skipped += 1;
            return;
        };
        let Some(fields) = &self.fields else {
            self.read_header(line);
            return;
        };
        match parse_row(line, fields) {
            Some(row) => self.insert(row),
            None => self.skipped += 1,
        }
    }

    fn read_header(&mut self, line: &str) {
        let fields: Vec<Field> = line
            .split(',')
            .map(|name| match name.trim() {
                "step" => Field::Step,
                name => Column::ALL
                    .iter()
                    .position(|c| c.name() == name)
                    .map_or(Field::Ignored, Field::Value),
            })
            .collect();
        if !fields.contains(&Field::Step) {
            let shown: String = line.chars().take(80).collect();
            self.problem = Some(format!(
                "metrics.csv starts with {shown:?}, not the header {METRICS_HEADER:?}"
            ));
        }
        self.fields = Some(fields);
    }

    /// Adds a row, dropping the held rows from its step on first.
    fn insert(&mut self, row: MetricsRow) {
        let last_step = self.last.map(|r| r.step);
        if last_step.is_some_and(|last| row.step > last.saturating_add(MAX_STEP_GAP)) {
            self.skipped += 1;
            return;
        }
        self.rows += 1;
        if last_step.is_some_and(|last| row.step <= last) {
            self.rewinds += 1;
        }
        self.last = Some(row);
        if self.detail == Detail::Summary {
            return;
        }
        if self.wall_seconds.is_empty() || row.step < self.first_step {
            self.values.iter_mut().for_each(Vec::clear);
            self.wall_seconds.clear();
            self.first_step = row.step;
        }
        let index = (row.step - self.first_step) as usize;
        let fill = |column: &mut Vec<f32>, value: f32| {
            column.resize(index, f32::NAN);
            column.push(value);
        };
        let [loss, accuracy, learning_rate, samples_per_sec] = &mut self.values;
        fill(loss, row.loss);
        fill(accuracy, row.accuracy);
        fill(learning_rate, row.learning_rate as f32);
        fill(samples_per_sec, row.samples_per_sec as f32);
        self.wall_seconds.resize(index, f64::NAN);
        self.wall_seconds.push(row.wall_seconds);
    }

    /// Why the file cannot be read as metrics (a missing or foreign header), if it cannot.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Whether the header line has been read.
    pub fn has_header(&self) -> bool {
        self.fields.is_some()
    }

    /// The last row read: the run's latest step.
    pub fn last(&self) -> Option<&MetricsRow> {
        self.last.as_ref()
    }

    /// The first step held ([`Detail::Full`] only).
    pub fn first_step(&self) -> Option<u64> {
        (!self.wall_seconds.is_empty()).then_some(self.first_step)
    }

    /// Rows read (repeated steps included).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows that went back to a step already held, dropping the rows from there on (without
    /// the file being rewritten, which [`super::tail`] reports as a reset instead).
    pub fn rewinds(&self) -> u64 {
        self.rewinds
    }

    /// Lines that were not rows (garbage, a repeated header, a wrong number).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The steps of `column` that have a finite value, as (step, value), in step order
    /// ([`Detail::Full`] only; empty for a summary).
    pub fn points(&self, column: Column) -> impl Iterator<Item = (u64, f64)> + '_ {
        let first = self.first_step;
        let values: Box<dyn Iterator<Item = f64> + '_> = match column {
            Column::WallSeconds => Box::new(self.wall_seconds.iter().copied()),
            other => {
                let index = Column::ALL.iter().position(|c| *c == other).unwrap_or(0);
                Box::new(self.values[index].iter().map(|&v| f64::from(v)))
            }
        };
        values
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(move |(i, v)| (first + i as u64, v))
    }
}

/// A row of `metrics.csv` by the header's `fields`; `None` for a line that is not one.
fn parse_row(line: &str, fields: &[Field]) -> Option<MetricsRow> {
    let mut step = None;
    let mut values = [f64::NAN; 5];
    let mut count = 0;
    for (text, field) in line.split(',').zip(fields) {
        count += 1;
        match field {
            Field::Step => step = Some(number::<u64>(text)?),
            Field::Value(i) => values[*i] = number::<f64>(text)?,
            Field::Ignored => {}
        }
    }
    if count != fields.len() {
        return None;
    }
    let [loss, accuracy, learning_rate, samples_per_sec, wall_seconds] = values;
    Some(MetricsRow {
        step: step?,
        loss: loss as f32,
        accuracy: accuracy as f32,
        learning_rate,
        samples_per_sec,
        wall_seconds,
    })
}

/// `text` as a number, spaces around it allowed (tried only when the plain parse fails: the
/// writer writes none, and trimming every field costs a tenth of the reading time).
fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.parse().ok().or_else(|| text.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(detail: Detail, lines: &[&str]) -> MetricsSeries {
        let mut series = MetricsSeries::new(detail);
        for line in lines {
            series.push_line(line.as_bytes());
        }
        series
    }

    fn losses(series: &MetricsSeries) -> Vec<(u64, f64)> {
        series.points(Column::Loss).collect()
    }

    #[test]
    fn rows_going_back_replace_the_steps_from_there_on() {
        let s = series(
            Detail::Full,
            &[
                METRICS_HEADER,
                "1,1.0,0.1,0.001,10.0,1.0",
                "2,2.0,0.2,0.001,10.0,2.0",
                "3,3.0,0.3,0.001,10.0,3.0",
                "2,20.0,0.2,0.001,10.0,4.0",
            ],
        );
        assert_eq!(losses(&s), [(1, 1.0), (2, 20.0)]);
        assert_eq!(s.last().unwrap().step, 2);
        assert_eq!(s.rows(), 4);
        assert_eq!(s.rewinds(), 1);
        let summary = series(
            Detail::Summary,
            &[METRICS_HEADER, "5,1,1,1,1,1", "3,1,1,1,1,9"],
        );
        assert_eq!(summary.last().unwrap().wall_seconds, 9.0);
        assert_eq!(summary.points(Column::Loss).count(), 0);
    }

    #[test]
    fn garbage_rows_are_skipped_and_gaps_hold_no_value() {
        let s = series(
            Detail::Full,
            &[
                METRICS_HEADER,
                "10,1.0,0.5,0.001,10.0,1.0",
                "garbage",
                "11,x,0.5,0.001,10.0,1.0",
                "12,1.0,0.5",
                "13,0.5,0.5,0.001,10.0,1.5",
                "99999999999,0.5,0.5,0.001,10.0,1.5",
            ],
        );
        assert_eq!(losses(&s), [(10, 1.0), (13, 0.5)]);
        assert_eq!(s.skipped(), 4);
        assert_eq!(s.first_step(), Some(10));
        assert!(s.problem().is_none());
    }

    #[test]
    fn columns_are_found_by_name_and_a_foreign_header_is_a_problem() {
        let s = series(
            Detail::Full,
            &["wall_seconds,extra,step,loss", "7.5,x,3,0.25"],
        );
        assert_eq!(losses(&s), [(3, 0.25)]);
        assert_eq!(
            s.points(Column::WallSeconds).collect::<Vec<_>>(),
            [(3, 7.5)]
        );
        assert_eq!(s.points(Column::Accuracy).count(), 0);
        let foreign = series(Detail::Full, &["name,age", "bob,3"]);
        assert!(foreign.problem().unwrap().contains("name,age"));
    }
}
