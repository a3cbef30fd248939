//! The line a headless sweep prints for each decision.

use crate::output::counted;
pub use crate::output::thousands;
use crate::sweep::record::SweepRecord;
use crate::sweep::value::settings_line;
use crate::sweep::SweepDir;

/// `accuracy` as a percentage with two decimals, `-` for none.
pub fn percent(accuracy: f64) -> String {
    if accuracy.is_finite() {
        format!("{:.2}%", accuracy * 100.0)
    } else {
        "-".to_string()
    }
}

/// The line for `record` (none for a planned trial: the plan is one note); `rungs` is the
/// number of rungs (1 without a scheduler).
pub fn decision_line(record: &SweepRecord, rungs: usize) -> Option<String> {
    let name = SweepDir::trial_name(record.trial());
    let rung = |r: usize| {
        if rungs > 1 {
            format!("rung {r}, ")
        } else {
            String::new()
        }
    };
    Some(match record {
        SweepRecord::Planned(_) => return None,
        SweepRecord::Started(s) => format!(
            "{name} started: {} ({}to step {} of {})",
            settings_line(&s.settings),
            rung(s.rung),
            s.steps,
            s.full_steps
        ),
        SweepRecord::Reached(r) => format!(
            "{name} reached rung {} at step {}: validation {}",
            r.rung,
            r.steps,
            percent(r.validation_accuracy)
        ),
        SweepRecord::Promoted(p) => format!(
            "{name} promoted to rung {} (validation {} at rung {}): on to step {}",
            p.to_rung,
            percent(p.validation_accuracy),
            p.from_rung,
            p.steps
        ),
        SweepRecord::StoppedEarly(s) => format!(
            "{name} stopped early at rung {}: validation {}, not in its rung's top; {} images",
            s.rung,
            percent(s.validation_accuracy),
            thousands(s.images)
        ),
        SweepRecord::Finished(f) => format!(
            "{name} finished: validation {} (best {}), {} in {}, {:.0} s",
            percent(f.validation_accuracy),
            percent(f.best_validation_accuracy),
            counted(f.steps, "step"),
            format_args!("{} images", thousands(f.images)),
            f.seconds
        ),
        SweepRecord::Failed(f) => {
            let at = if rungs > 1 {
                format!(" at rung {}", f.rung)
            } else {
                String::new()
            };
            format!("{name} failed{at}: {}", f.message)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(109_952), "109,952");
        assert_eq!(thousands(5), "5");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(percent(0.98765), "98.77%");
        assert_eq!(percent(f64::NAN), "-");
    }
}
