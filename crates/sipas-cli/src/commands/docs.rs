//! `sipas completions SHELL` and `sipas man`: generated from the clap definitions, to stdout.

use std::io::Write as _;

use clap::CommandFactory as _;

use crate::ExitStatus;
use crate::args::Args;

/// Writes the completion script of `shell` to stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitStatus> {
    let mut cmd = Args::command();
    // Into a buffer first: clap_complete panics on a write error such as a closed pipe.
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "sipas", &mut buf);
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}

/// Writes the man page (roff) to stdout.
pub(crate) fn man() -> anyhow::Result<ExitStatus> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Args::command()).render(&mut buf)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(ExitStatus::Success)
}
