//! The Sweep page's table: a column each for the trial, its status, rung (under a scheduler),
//! best validation accuracy and images trained, then a column per searched setting while the
//! width lasts (the line under the table names every setting of the trial under the cursor).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::charts::colour_of;
use super::{format, theme};
use crate::frontend::dashboard::app::App;
use crate::sweep::{SweepBoard, TrialRow, TrialStatus};

/// Columns before a row's name: the cursor, the overlay mark and the best mark.
const LEAD: usize = 8;

/// The columns of a table `width` columns wide.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    name: usize,
    status: usize,
    /// The rung's width, when the sweep has a scheduler.
    rung: Option<usize>,
    validation: usize,
    images: usize,
    /// The settings shown: key and width.
    settings: Vec<(String, usize)>,
    /// How many searched settings did not fit (the header says so; the line under the table
    /// names them all).
    left_out: usize,
}

impl Columns {
    /// The widths for `board`'s rows in `width` columns.
    pub fn fit(board: &SweepBoard, width: usize) -> Self {
        let widest = |header: &str, cell: &dyn Fn(&TrialRow) -> usize| {
            board
                .trials
                .iter()
                .map(cell)
                .max()
                .unwrap_or(0)
                .max(header.chars().count())
        };
        let mut columns = Self {
            name: widest("trial", &|r| format::shown(&r.name).chars().count()),
            status: widest("status", &|r| r.status.label().len()),
            rung: (board.spec.rung_count() > 1).then_some(4),
            validation: "validation".len(),
            images: widest("images", &|r| format::count(r.images).len()),
            settings: Vec::new(),
            left_out: 0,
        };
        let mut used = columns.fixed_width();
        for param in &board.spec.space.params {
            let key = param.key.clone();
            let cell = widest(&key, &|r| {
                r.settings.get(&key).map_or(1, |v| v.to_string().len())
            });
            if columns.left_out == 0 && used + 1 + cell <= width {
                used += 1 + cell;
                columns.settings.push((key, cell));
            } else {
                columns.left_out += 1;
            }
        }
        columns
    }

    /// Columns taken before the settings.
    fn fixed_width(&self) -> usize {
        LEAD + self.name
            + 1
            + self.status
            + self.rung.map_or(0, |w| w + 1)
            + 1
            + self.validation
            + 1
            + self.images
    }

    /// The header line.
    pub fn header(&self) -> Line<'static> {
        let mut text = format!("{:LEAD$}{:<w$}", "", "trial", w = self.name);
        text.push_str(&format!(" {:<w$}", "status", w = self.status));
        if let Some(w) = self.rung {
            text.push_str(&format!(" {:>w$}", "rung"));
        }
        text.push_str(&format!(" {:>w$}", "validation", w = self.validation));
        text.push_str(&format!(" {:>w$}", "images", w = self.images));
        for (key, w) in &self.settings {
            text.push_str(&format!(" {key:>w$}"));
        }
        if self.left_out > 0 {
            text.push_str(&format!("  +{} below", self.left_out));
        }
        Line::styled(text, theme::dim())
    }

    /// The line of trial `row`: `▶ [x] ★ trial-003 finished  98.12%  12,800  1.2e-3  64`.
    pub fn row(&self, row: &TrialRow, mark: RowMark) -> Line<'static> {
        let cursor = if mark.cursor { "▶ " } else { "  " };
        let best = if mark.best { "★ " } else { "  " };
        let (check, check_style) = match &mark.overlay {
            Overlaid::Shown => ("(●)", theme::title()),
            Overlaid::Yes(colour) => ("[x]", Style::new().fg(*colour)),
            Overlaid::No => ("[ ]", theme::dim()),
        };
        let mut text = format!("{:<w$}", format::shown(&row.name), w = self.name);
        text.push_str(&format!(" {:<w$}", row.status.label(), w = self.status));
        if let Some(w) = self.rung {
            text.push_str(&format!(" {:>w$}", row.rung));
        }
        let validation = row
            .validation_accuracy
            .filter(|a| a.is_finite())
            .map_or("-".to_string(), |a| format::percent(a, 2));
        text.push_str(&format!(" {validation:>w$}", w = self.validation));
        text.push_str(&format!(
            " {:>w$}",
            format::count(row.images),
            w = self.images
        ));
        for (key, w) in &self.settings {
            let value = row
                .settings
                .get(key)
                .map_or("-".to_string(), ToString::to_string);
            text.push_str(&format!(" {value:>w$}"));
        }
        let mut style = match row.status {
            _ if mark.best => theme::good(),
            TrialStatus::Failed { .. } => theme::bad(),
            TrialStatus::Planned => theme::dim(),
            _ => Style::new(),
        };
        if mark.cursor {
            style = style.patch(theme::selected());
        }
        Line::from(vec![
            Span::styled(cursor, style),
            Span::styled(check, check_style),
            Span::styled(" ", style),
            Span::styled(best, style),
            Span::styled(text, style),
        ])
    }
}

/// Whether and how a trial is on the charts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Overlaid {
    /// It is the run the other pages show.
    Shown,
    /// Overlaid, in this colour.
    Yes(ratatui::style::Color),
    /// Not on the charts.
    No,
}

/// How a row is marked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowMark {
    /// Under the cursor.
    pub cursor: bool,
    /// The sweep's best.
    pub best: bool,
    /// On the charts.
    pub overlay: Overlaid,
}

impl RowMark {
    /// The marks of `row` in `app`'s sweep.
    pub fn of(app: &App, row: &TrialRow) -> Self {
        let Some(view) = app.sweep() else {
            return Self {
                cursor: false,
                best: false,
                overlay: Overlaid::No,
            };
        };
        let path = view.trial_path(row);
        let overlay = if view.shown() == Some(path.as_path()) {
            Overlaid::Shown
        } else {
            app.compared()
                .iter()
                .find(|run| run.path == path)
                .map_or(Overlaid::No, |run| Overlaid::Yes(colour_of(run)))
        };
        Self {
            cursor: view.cursor_row().is_some_and(|c| c.trial == row.trial),
            best: view.best() == Some(row.trial),
            overlay,
        }
    }
}
