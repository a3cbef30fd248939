//! Writes a synthetic finished run of many steps, to time `digitdash runs`, `plot` and `watch`
//! on a long run:
//!
//! ```text
//! cargo run --release --example run_fixture -- /tmp/big/20260101-000000 1000000
//! /usr/bin/time -v target/release/digitdash runs /tmp/big
//! ```

#[path = "../tests/common/run_fixtures.rs"]
mod fixtures;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(dir), steps) = (args.next().map(PathBuf::from), args.next()) else {
        eprintln!("usage: run_fixture RUN_DIR [STEPS (default 1000000)]");
        return ExitCode::from(2);
    };
    let steps = match steps.map(|s| s.parse::<u64>()) {
        None => 1_000_000,
        Some(Ok(steps)) if steps > 0 => steps,
        Some(_) => {
            eprintln!("STEPS must be a whole number above 0");
            return ExitCode::from(2);
        }
    };
    if dir.join("metrics.csv").exists() {
        eprintln!("{} already holds a run; give a new folder", dir.display());
        return ExitCode::from(1);
    }
    fixtures::write_long_run(&dir, steps);
    println!("wrote {steps} steps to {}", dir.display());
    ExitCode::SUCCESS
}
