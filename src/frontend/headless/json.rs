//! One JSON object per line: the same [`Record`]s the run writes to `events.jsonl`, plus
//! steps.

use super::Printer;
use crate::output::StdoutLines;
use crate::train::Event;

/// Every event that has a record, as one JSON line on stdout.
#[derive(Debug, Default)]
pub struct JsonPrinter;

impl Printer for JsonPrinter {
    fn print(&mut self, event: &Event, out: &mut StdoutLines) {
        if let Some(record) = event.record() {
            out.line(record.to_json_line());
        }
    }
}
