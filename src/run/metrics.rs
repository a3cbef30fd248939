//! `metrics.csv`: its row ([`MetricsRow`]) and columns ([`Column`]), defined once for the
//! writer and the readers, and the file read back: one value a step and column, as the writer
//! meant it.
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

use std::sync::OnceLock;

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
    /// Epochs done, fractional.
    Epoch,
}

impl Column {
    /// Every column, in the file's order.
    pub const ALL: [Column; 6] = [
        Column::Loss,
        Column::Accuracy,
        Column::LearningRate,
        Column::SamplesPerSec,
        Column::WallSeconds,
        Column::Epoch,
    ];

    /// The column's name in the header.
    pub fn name(self) -> &'static str {
        match self {
            Column::Loss => "loss",
            Column::Accuracy => "accuracy",
            Column::LearningRate => "learning_rate",
            Column::SamplesPerSec => "samples_per_sec",
            Column::WallSeconds => "wall_seconds",
            Column::Epoch => "epoch",
        }
    }

    /// Where the column's values are kept in [`MetricsSeries`]: `None` for the wall clock,
    /// which is kept in `f64`.
    fn slot(self) -> Option<usize> {
        match self {
            Column::Loss => Some(0),
            Column::Accuracy => Some(1),
            Column::LearningRate => Some(2),
            Column::SamplesPerSec => Some(3),
            Column::Epoch => Some(4),
            Column::WallSeconds => None,
        }
    }

    /// The column's value in `row`, as the writer writes it.
    fn text(self, row: &MetricsRow) -> String {
        match self {
            Column::Loss => row.loss.to_string(),
            Column::Accuracy => row.accuracy.to_string(),
            Column::LearningRate => row.learning_rate.to_string(),
            Column::SamplesPerSec => format!("{:.1}", row.samples_per_sec),
            Column::WallSeconds => format!("{:.3}", row.wall_seconds),
            Column::Epoch => format!("{:.6}", row.epoch),
        }
    }
}

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsRow {
    /// Steps done (1 for the first).
    pub step: u64,
    /// Mean cross-entropy of the step's batch.
    pub loss: f32,
    /// Fraction of the batch classified right.
    pub accuracy: f32,
    /// Learning rate the step used.
    pub learning_rate: f64,
    /// Training throughput of the step, images per second.
    pub samples_per_sec: f64,
    /// Seconds since the run first started, resumes included.
    pub wall_seconds: f64,
    /// Epochs done after the step, fractional, as the trainer counts them (`NaN` in rows
    /// written before the column existed).
    pub epoch: f64,
}

impl MetricsRow {
    /// The row as a line of `metrics.csv` (without the line end): the step, then each of
    /// [`Column::ALL`].
    pub fn to_csv(&self) -> String {
        let mut line = self.step.to_string();
        for column in Column::ALL {
            line.push(',');
            line.push_str(&column.text(self));
        }
        line
    }
}

/// The header line of `metrics.csv`: `step` and the names of [`Column::ALL`].
pub fn metrics_header() -> &'static str {
    static HEADER: OnceLock<String> = OnceLock::new();
    HEADER.get_or_init(|| {
        let names = Column::ALL.map(Column::name);
        format!("step,{}", names.join(","))
    })
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
    /// The header's columns, once the header line is read.
    format: Option<RowFormat>,
    /// Why the file cannot be read as metrics, if it cannot.
    problem: Option<String>,
    /// The step of index 0 of the columns.
    first_step: u64,
    /// Loss, accuracy, learning rate, samples per second and epoch (see [`Column::slot`]);
    /// `NaN` for steps without a row.
    values: [Vec<f32>; 5],
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
            format: None,
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

    /// Drops the values of the steps up to `step`, for a reader that has taken them and reads
    /// only what comes after (a watched run): [`MetricsSeries::last`], the counts and the later
    /// rows stay, and a row of an earlier step starts the held values again from it.
    pub fn forget_through(&mut self, step: u64) {
        let held = self.wall_seconds.len();
        let gone = usize::try_from(step.saturating_add(1).saturating_sub(self.first_step))
            .map_or(held, |n| n.min(held));
        if gone == 0 {
            return;
        }
        for column in self.values.iter_mut() {
            column.drain(..gone);
            column.shrink_to_fit();
        }
        self.wall_seconds.drain(..gone);
        self.wall_seconds.shrink_to_fit();
        self.first_step += gone as u64;
    }

    /// Takes one line of the file: the header first, then a row a line. A line that is not a
    /// row is counted in [`MetricsSeries::skipped`].
    pub fn push_line(&mut self, line: &[u8]) {
        let Ok(line) = std::str::from_utf8(line) else {
            self.skipped += 1;
            return;
        };
        let Some(format) = &self.format else {
            let (format, problem) = RowFormat::from_header(line);
            self.format = Some(format);
            self.problem = problem;
            return;
        };
        match format.row(line) {
            Some(row) => self.insert(row),
            None => self.skipped += 1,
        }
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
        let [loss, accuracy, learning_rate, samples_per_sec, epoch] = &mut self.values;
        fill(loss, row.loss);
        fill(accuracy, row.accuracy);
        fill(learning_rate, row.learning_rate as f32);
        fill(samples_per_sec, row.samples_per_sec as f32);
        fill(epoch, row.epoch as f32);
        self.wall_seconds.resize(index, f64::NAN);
        self.wall_seconds.push(row.wall_seconds);
    }

    /// Why the file cannot be read as metrics (a missing or foreign header), if it cannot.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Whether the header line has been read.
    pub fn has_header(&self) -> bool {
        self.format.is_some()
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

    /// The rows of the steps after `step`, in step order ([`Detail::Full`] only; empty for a
    /// summary).
    pub fn rows_after(&self, step: u64) -> impl Iterator<Item = MetricsRow> + '_ {
        let skip = step.saturating_add(1).saturating_sub(self.first_step);
        let skip = usize::try_from(skip).unwrap_or(usize::MAX);
        let [loss, accuracy, learning_rate, samples_per_sec, epoch] = &self.values;
        self.wall_seconds
            .iter()
            .enumerate()
            .skip(skip)
            // Steps without a row hold NaN everywhere; a row's wall clock is always a number.
            .filter(|(_, wall)| !wall.is_nan())
            .map(move |(i, &wall_seconds)| MetricsRow {
                step: self.first_step + i as u64,
                loss: loss[i],
                accuracy: accuracy[i],
                learning_rate: widen(learning_rate[i]),
                samples_per_sec: widen(samples_per_sec[i]),
                wall_seconds,
                epoch: widen(epoch[i]),
            })
    }

    /// The steps of `column` that have a finite value, as (step, value), in step order
    /// ([`Detail::Full`] only; empty for a summary).
    pub fn points(&self, column: Column) -> impl Iterator<Item = (u64, f64)> + '_ {
        let first = self.first_step;
        let values: Box<dyn Iterator<Item = f64> + '_> = match column.slot() {
            None => Box::new(self.wall_seconds.iter().copied()),
            Some(slot) => Box::new(self.values[slot].iter().map(|&v| f64::from(v))),
        };
        values
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(move |(i, v)| (first + i as u64, v))
    }
}

/// How the rows of one `metrics.csv` are laid out: its header's columns, found by name, so
/// files with added, missing or reordered columns read the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFormat {
    fields: Vec<Field>,
}

impl RowFormat {
    /// The layout a header line gives (a byte-order mark, spaces and a `\r` around it are
    /// allowed), and why it cannot be one when it has no `step` column.
    pub fn from_header(line: &str) -> (Self, Option<String>) {
        let line = line.strip_prefix('\u{feff}').unwrap_or(line).trim_end();
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
        let problem = (!fields.contains(&Field::Step)).then(|| {
            let shown: String = line.chars().take(80).collect();
            format!(
                "metrics.csv starts with {shown:?}, not the header {:?}",
                metrics_header()
            )
        });
        (Self { fields }, problem)
    }

    /// The row a line holds; `None` for a line that is not one (a missing step, a field that
    /// is not a number, too few or too many fields). A trailing `\r` is allowed; a column the
    /// header lacks reads as `NaN`.
    pub fn row(&self, line: &str) -> Option<MetricsRow> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut step = None;
        let mut values = [f64::NAN; Column::ALL.len()];
        let mut count = 0;
        for text in line.split(',') {
            count += 1;
            match self.fields.get(count - 1)? {
                Field::Step => step = Some(number::<u64>(text)?),
                Field::Value(i) => values[*i] = number::<f64>(text)?,
                Field::Ignored => {}
            }
        }
        if count != self.fields.len() {
            return None;
        }
        let [loss, accuracy, learning_rate, samples_per_sec, wall_seconds, epoch] = values;
        Some(MetricsRow {
            step: step?,
            loss: loss as f32,
            accuracy: accuracy as f32,
            learning_rate,
            samples_per_sec,
            wall_seconds,
            epoch,
        })
    }
}

/// A value kept as `f32` as the `f64` the file said: the file holds short decimals, so the
/// shortest decimal form of the `f32` is what was written (`0.0001`, not the `f32`'s
/// `0.00009999999747`).
///
/// `ryu` finds that form ten times faster than `to_string`, and the two agree except where two
/// shortest forms are equally near (`1765629.25`: Rust writes `...9.3`, `ryu` `...9.2`). That
/// needs the exact value to have at most ten significant digits, which [`few_exact_digits`]
/// finds cheaply; those few go the slow way.
fn widen(value: f32) -> f64 {
    let shortest = if few_exact_digits(value) {
        value.to_string().parse()
    } else {
        ryu::Buffer::new().format_finite(value).parse()
    };
    shortest.unwrap_or(f64::from(value))
}

/// Whether `value` is not finite, or its exact decimal expansion has at most ten significant
/// digits (every whole number is counted in, to keep this short).
fn few_exact_digits(value: f32) -> bool {
    if !value.is_finite() || value == 0.0 {
        return true;
    }
    let bits = value.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32;
    let (mut mantissa, mut power) = if exponent == 0 {
        (bits & 0x7f_ffff, -149)
    } else {
        ((bits & 0x7f_ffff) | 0x80_0000, exponent - 150)
    };
    let zeros = mantissa.trailing_zeros();
    mantissa >>= zeros;
    power += zeros as i32;
    if power >= 0 {
        return true;
    }
    // value = mantissa / 2^-power = mantissa * 5^-power / 10^-power: its significant digits
    // are those of mantissa * 5^-power, over ten once 5^-power alone has eleven.
    if -power >= 15 {
        return false;
    }
    u64::from(mantissa) * 5u64.pow(power.unsigned_abs()) < 10_000_000_000
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

    /// The header of the files written before the epoch column.
    const OLD_HEADER: &str = "step,loss,accuracy,learning_rate,samples_per_sec,wall_seconds";

    #[test]
    fn widening_gives_the_f64_of_the_f32s_shortest_decimal() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut bits = vec![0u32, 0x8000_0000, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 1];
        bits.extend((0..200_000).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u32
        }));
        // Every f32 from 1,000,000 on for a while, and from 3.5: short exact expansions,
        // where the ties are.
        bits.extend((0..100_000).map(|i| 1_000_000f32.to_bits() + i));
        bits.extend((0..100_000).map(|i| 3.5f32.to_bits() + i * 7));
        for b in bits {
            let value = f32::from_bits(b);
            let want: f64 = value.to_string().parse().unwrap();
            let got = widen(value);
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{value:e}: {got:e} vs {want:e}"
            );
        }
        // The tie: both 1765629.2 and 1765629.3 are shortest; the file says what Rust wrote.
        let tie = 7_062_517.0f32 / 4.0; // 1765629.25, exactly
        assert_eq!(widen(tie), 1_765_629.3);
        assert!(few_exact_digits(tie) && few_exact_digits(0.5));
        assert!(!few_exact_digits(1e-4) && !few_exact_digits(0.1));
        assert_eq!(widen(1e-4), 0.0001);
        assert_eq!(widen(2.5e-3), 0.0025);
    }

    fn losses(series: &MetricsSeries) -> Vec<(u64, f64)> {
        series.points(Column::Loss).collect()
    }

    #[test]
    fn rows_going_back_replace_the_steps_from_there_on() {
        let s = series(
            Detail::Full,
            &[
                OLD_HEADER,
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
        let summary = series(Detail::Summary, &[OLD_HEADER, "5,1,1,1,1,1", "3,1,1,1,1,9"]);
        assert_eq!(summary.last().unwrap().wall_seconds, 9.0);
        assert_eq!(summary.points(Column::Loss).count(), 0);
    }

    #[test]
    fn forgotten_steps_leave_the_later_rows_and_an_earlier_row_starts_again() {
        let rows = [
            "1,1.0,0.1,0.001,10.0,1.0",
            "2,2.0,0.2,0.001,10.0,2.0",
            "3,3.0,0.3,0.001,10.0,3.0",
        ];
        let mut s = series(Detail::Full, &[OLD_HEADER, rows[0], rows[1], rows[2]]);
        s.forget_through(2);
        assert_eq!(losses(&s), [(3, 3.0)]);
        assert_eq!(s.rows_after(0).map(|r| r.step).collect::<Vec<_>>(), [3]);
        assert_eq!((s.last().unwrap().step, s.rows()), (3, 3));
        s.forget_through(9);
        assert_eq!((s.first_step(), s.last().unwrap().step), (None, 3));
        s.push_line(b"4,4.0,0.4,0.001,10.0,4.0");
        assert_eq!(losses(&s), [(4, 4.0)]);
        s.push_line(b"2,20.0,0.2,0.001,10.0,5.0");
        assert_eq!(
            losses(&s),
            [(2, 20.0)],
            "a rewind starts the held rows again"
        );
        assert_eq!(s.rewinds(), 1);
    }

    #[test]
    fn garbage_rows_are_skipped_and_gaps_hold_no_value() {
        let s = series(
            Detail::Full,
            &[
                OLD_HEADER,
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
    fn a_written_row_reads_back_under_the_written_header() {
        let row = MetricsRow {
            step: 4,
            loss: 0.25,
            accuracy: 0.75,
            learning_rate: 1e-4,
            samples_per_sec: 1000.0,
            wall_seconds: 2.5,
            epoch: 0.5,
        };
        assert_eq!(
            metrics_header(),
            "step,loss,accuracy,learning_rate,samples_per_sec,wall_seconds,epoch"
        );
        assert_eq!(row.to_csv(), "4,0.25,0.75,0.0001,1000.0,2.500,0.500000");
        let s = series(Detail::Full, &[metrics_header(), &row.to_csv()]);
        assert_eq!(s.last(), Some(&row));
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
