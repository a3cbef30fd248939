//! `digitdash completions SHELL` and `digitdash man`: generated from the same clap definitions
//! as the command line itself, so they never fall behind it.

use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;
use crate::output::note;

/// The name the completions and man pages are written for.
const BIN: &str = "digitdash";

/// Writes `shell`'s completion script for digitdash to `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), BIN, out);
}

/// Writes digitdash's man page (section 1, roff) to `out`.
pub fn man_page(out: &mut dyn Write) -> io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

/// Writes `digitdash.1` and one `digitdash-COMMAND.1` a subcommand into `dir`.
pub fn man_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    note(format!("wrote the man pages into {}", dir.display()));
    Ok(())
}
